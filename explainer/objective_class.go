package explainer

import tf "github.com/wamuir/graft/tensorflow"

// classScores is the objective of the model's class scores.
type classScores struct{}

// ClassScores is the model's class scores: column c of S is class c's
// logit or probability (Config.Score). A nil Config.Objective is this.
func ClassScores() Objective { return classScores{} }

func (classScores) String() string { return "class" }
func (classScores) IsClass() bool  { return true }

func (ob classScores) Build(b *ObjectiveBuild) (*ObjectiveGraph, error) {
	scores, n, err := b.Forward.Scores(b.Score)
	if err != nil {
		return nil, err
	}
	return &ObjectiveGraph{Base: scores, Cols: n, Scores: func(_ *Ops, x, _ tf.Output) tf.Output { return b.Float32(x) }, Rank: identityRank}, nil
}
