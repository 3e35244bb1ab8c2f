package explainer

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

var _ = Register(Spec[KPCACAM]{
	Name: "kpcacam", Family: FamilyMore, Order: 140,
	Summary: "first kernel-PCA component of the per-position activation vectors (centred per channel)",
	Notes:   "pytorch-grad-cam's KPCA_CAM: scikit-learn KernelPCA, sigmoid kernel tanh(γ·x·y+1), γ = 1/channels, kernel centred in feature space, eigenvector·√eigenvalue; computed in float64; EigenCAM's sign instead of scikit-learn's; checked against pytorch-grad-cam 1.5.x's formula, not the library (no torch here)",
	Options: []Option{
		{Name: "kernel", Default: "sigmoid", Allowed: []string{"sigmoid", "rbf", "linear"}, Doc: "κ: tanh(γ·x·y+1), exp(−γ‖x−y‖²) or x·y"},
		{Name: "gamma", Default: 0.0, Min: 0, Max: 1e6, Doc: "γ; 0: 1/channels"},
	},
	NoEigenSmooth: "kpcacam is already a (kernel) principal component of its activations (pytorch-grad-cam ignores eigen_smooth here)",
})

// KPCACAM is pytorch-grad-cam's KPCA_CAM (Karmani et al. 2024): EigenCAM
// with kernel PCA. The h·w activation vectors of an image, centred per
// channel, are compared by a kernel, κ(x, y) = tanh(γ·x·y + 1) by default
// (scikit-learn's sigmoid kernel with pytorch-grad-cam's settings: γ = 1/K,
// coef0 = 1); the kernel matrix is centred in feature space (scikit-learn's
// KernelPCA), and the map is its first eigenvector times the square root of
// its eigenvalue (KernelPCA.fit_transform with one component). It is
// gradient-free and class-independent.
//
// Sign: EigenCAM's (the map correlates positively with the mean activation
// map; see EigenCAM). pytorch-grad-cam keeps scikit-learn's, which makes the
// eigenvector's largest-magnitude entry positive whether or not that is the
// salient region.
type KPCACAM struct {
	layerMethod
	// Kernel is sigmoid (default), rbf (exp(−γ‖x−y‖²)) or linear (x·y:
	// EigenCAM's map up to scale).
	Kernel string
	// Gamma is γ (0: 1/K, scikit-learn's default for K channels).
	Gamma float64
}

// Name implements Method.
func (KPCACAM) Name() string { return "kpcacam" }

// Needs implements Method.
func (KPCACAM) Needs() Needs { return Needs{} }

// Build implements Method.
func (m KPCACAM) Build(o *Ops, t Tensors) (tf.Output, error) {
	m = Resolve(m)
	flat, spatial := o.g().Positions(t.A)
	// In float64: the kernel's variation can be far below float32's
	// resolution of tanh(γ·x·y + 1) ≈ tanh(1) (EfficientNet's activations
	// of 1e-3 make γ·x·y ~ 1e-6), and the centring subtracts nearly equal
	// numbers. The matrices are (h·w)² per image, small.
	f64 := op.Cast(o.Scope(), flat, tf.Double)
	x := op.Sub(o.Scope(), f64, op.Mean(o.Scope(), f64, constant(o.s, []int32{1}), op.MeanKeepDims(true)))
	dot := op.BatchMatMulV2(o.Scope(), x, x, op.BatchMatMulV2AdjY(true)) // [N,P,P]
	c64 := func(v float64) tf.Output { return constant(o.s, v) }
	gamma := c64(m.Gamma)
	if m.Gamma == 0 {
		k := op.Cast(o.Scope(), op.StridedSlice(o.Scope(), op.Shape(o.Scope(), x, op.ShapeOutType(tf.Int32)),
			constant(o.s, []int32{2}), constant(o.s, []int32{3}), constant(o.s, []int32{1}), op.StridedSliceShrinkAxisMask(1)), tf.Double)
		gamma = op.Reciprocal(o.Scope(), k)
	}
	var kern tf.Output
	switch m.Kernel {
	case "linear":
		kern = dot
	case "rbf":
		sq := op.Sum(o.Scope(), o.Square(x), constant(o.s, int32(2)), op.SumKeepDims(true)) // [N,P,1]
		d2 := o.Sub(o.Add(sq, op.Transpose(o.Scope(), sq, constant(o.s, []int32{0, 2, 1}))), o.Mul(c64(2), dot))
		kern = op.Exp(o.Scope(), o.Mul(op.Neg(o.Scope(), gamma), o.Relu(d2)))
	default:
		kern = op.Tanh(o.Scope(), o.Add(o.Mul(gamma, dot), c64(1)))
	}
	// Centre in feature space: K − row means − column means + the mean.
	rows := op.Mean(o.Scope(), kern, constant(o.s, int32(2)), op.MeanKeepDims(true))
	cols := op.Mean(o.Scope(), kern, constant(o.s, int32(1)), op.MeanKeepDims(true))
	all := op.Mean(o.Scope(), kern, constant(o.s, []int32{1, 2}), op.MeanKeepDims(true))
	centred := o.Add(o.Sub(o.Sub(kern, rows), cols), all)
	vals, vecs := op.SelfAdjointEigV2(o.Scope(), centred, op.SelfAdjointEigV2ComputeV(true))
	// Eigenvalues ascend: the last column is the first component.
	top := op.StridedSlice(o.Scope(), vecs, constant(o.s, []int32{0, 0, -1}), constant(o.s, []int32{0, 0, 0}), constant(o.s, []int32{1, 1, 1}),
		op.StridedSliceBeginMask(3), op.StridedSliceEndMask(7)) // [N,P,1]
	lambda := op.StridedSlice(o.Scope(), vals, constant(o.s, []int32{0, -1}), constant(o.s, []int32{0, 0}), constant(o.s, []int32{1, 1}),
		op.StridedSliceBeginMask(1), op.StridedSliceEndMask(3)) // [N,1]
	proj := o.Mul(top, op.ExpandDims(o.Scope(), op.Sqrt(o.Scope(), o.Relu(lambda)), constant(o.s, int32(2))))
	proj = op.Cast(o.Scope(), proj, tf.Float)
	return op.Reshape(o.Scope(), o.g().Orient(proj, flat), spatial), nil
}
