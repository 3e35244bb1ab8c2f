package main

import (
	"errors"

	"github.com/tfcam/tfcam"
)

const targetUsage = `what the explained scores are (--class picks their column): class (the model's class scores), ` +
	`region[:mask=predicted|FILE] (segmentation output [N,H,W,C]: class c's score summed over the pixels the model assigns to c, or over a PNG/.npy mask; top1 is the class covering most pixels), ` +
	`regression[:sign=-1] (single output [N] or [N,1]: class 0 the output, class 1 its negative; sign=-1 explains the negative by default), ` +
	`embedding:ref=FILE.npy|IMAGE[:layer=NAME] (cosine similarity of the output, or of layer NAME, to a reference vector or to the embedding of a reference image; one class), ` +
	`contrast:class=D (class c's logit minus class D's). Choose the model output with --output`

// parseTarget parses --target.
func parseTarget(spec string) (tfcam.Target, error) {
	t, err := tfcam.ParseTarget(spec)
	return t, targetError(err)
}

// targetError makes a bad --target, mask or reference a usage error.
func targetError(err error) error {
	if errors.Is(err, tfcam.ErrTarget) {
		return usageError("--" + err.Error())
	}
	return err
}
