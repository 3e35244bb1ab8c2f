package tfgraph

import "regexp"

// kerasOpNames maps the TensorFlow op name that a Keras 3 op called on
// symbolic tensors in a functional model (`x + y`, not a layer) leaves in
// the graph to the name Keras gives that op in the model (model.summary,
// model.get_layer). Such ops open no name scope, so the SavedModel keeps
// only TensorFlow's default op name ("Add_17"); Keras names them by their
// class in snake case ("add_17"), counting in the same order, so the
// number carries over. Only the ops checked on a fixture are listed
// (the vit fixture's residual `x + y`); others keep the graph name.
var kerasOpNames = map[string]string{"Add": "add"}

var tfOpName = regexp.MustCompile(`^([A-Za-z]+)(_\d+)?$`)

// kerasOpName is the Keras name of a bare op at the model's root scope (a
// node, not a layer scope), or name unchanged.
func kerasOpName(name string) string {
	m := tfOpName.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	if k, ok := kerasOpNames[m[1]]; ok {
		return k + m[2]
	}
	return name
}
