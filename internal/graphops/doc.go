// Package graphops appends the small TensorFlow graph ops that the
// explainer, the evaluator and tfgraph share: uniquely named sub-scopes
// and constants, element-wise arithmetic, spatial and channel reductions,
// picking each row's class score, min–max scaling of maps and a Gaussian
// blur. Each helper exists once here; explainer.Ops wraps it for
// embedders who write their own Method.
//
// It must not know about models, methods or layers: it only appends ops
// to a scope.
package graphops
