package main

import (
	"errors"
	"fmt"

	"github.com/tfcam/tfcam"
	"github.com/tfcam/tfcam/explainer"
)

const targetUsage = `what the maps explain: class, region, regression, embedding:ref=FILE or contrast:class=D (docs/targets.md)`

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

// checkClass resolves --class on the loaded model: a label is looked up
// among the model's labels when the class scores are explained (a target's
// columns have none), then the class is checked against the columns.
func checkClass(m *tfcam.Model, e *explainer.Explainer, c explainer.Class) (explainer.Class, error) {
	var labels []string
	if e.Objective().IsClass() {
		labels = m.Preset.Labels
	}
	c, err := c.Named(labels)
	if err == nil {
		err = c.Check(e.Classes())
	}
	if err == nil {
		return c, nil
	}
	err = usageError("--" + err.Error())
	if !e.Objective().IsClass() {
		return c, fmt.Errorf("%w (with --target %s, which scores %d classes)", err, e.Objective(), e.Classes())
	}
	return c, err
}
