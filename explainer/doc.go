// Package explainer turns a model, a batch of images and targets into
// class-activation maps: Grad-CAM, Grad-CAM++, HiRes-CAM, XGrad-CAM,
// LayerCAM, Eigen-CAM, guided backpropagation, Guided Grad-CAM and the
// attribution and perturbation methods listed by Registry.
//
// Each method is a small value that only says how its map comes from the
// target layer's activations A and gradients g, as TensorFlow ops (see
// gradcam.go and its neighbours). The shared machinery in explainer.go does
// the rest once for all methods asked together: one forward pass, one
// backward pass per explained rank, ReLU, bilinear upsampling to the input
// size and per-image min–max normalisation, all appended to the model's graph
// so that a batch is a single Session.Run — on the GPU when TensorFlow has
// one. Go only slices the fetched results per image. pytorch-grad-cam's
// eigen_smooth and aug_smooth are options of every class-activation
// method (Smoothed), in the same run.
//
// It must not read files or decode images; callers hand it float32 batches.
//
// # How to add a method
//
// A method is one file, explainer/<name>.go (plus its tests and the
// docs/methods.md row, which is generated: see below). Nothing else in the package
// lists methods. The file holds:
//
//  1. The doc comment of the type: the formula, the paper, and how the
//     peers' variants differ (read gradcam.go, scorecam.go).
//  2. The type, a struct whose exported int, float, string and bool fields
//     are its options (a method spec "name:key=value" sets them, in any
//     case). A zero field means the option's default. Embed layerMethod
//     for maps at the layer's resolution, or define InputResolution()
//     true; define Signed() true for attributions that keep their sign.
//  3. Name, Needs and Build (the Method interface). Build starts with
//     m = Resolve(m) when the method has options: Resolve fills zero fields
//     with the defaults declared in the registration, the only place a
//     default is written.
//  4. Its registration, a package-level variable (below).
//
// The registration, for a method with two options and copies:
//
//	var _ = register(Spec[MyCAM]{
//		Name: "mycam", Family: FamilyMore, Order: 90,
//		Summary: "w_k = …",                  // docs/methods.md "what", --help
//		Notes:   "= pytorch-grad-cam MyCAM", // docs/methods.md "variant notes"
//		Options: []Option{
//			{Name: "samples", Default: 16, Min: 1, Doc: "noisy copies"},
//			{Name: "baseline", Default: "zero", Allowed: []string{"zero", "blur"}, Doc: "…"},
//		},
//		Check: func(m MyCAM) error { … }, // cross-option rules: *OptionError
//		Cost:  func(m MyCAM, g Geometry) Cost { return Cost{Copies: m.Samples} },
//	})
//
// Family and Order fix the method's place in every listing (--method all
// is FamilyGradient; orders are unique within a family, keep gaps).
// Option values are validated from the data when a spec is parsed, before
// any model loads (ParseMethods, Validate): ints are 0 or Min…Max (Max 0:
// MaxCount), strings "" or one of Allowed, floats finite and within
// Min…Max when either is set. Check gets the resolved method.
//
// Cost is the method's forward passes per image on copies of the model,
// beyond the shared forward and backward pass: Copies through the whole
// model (Context.Scores, Probabilities, InputGradient, LayerGradient),
// TailCopies through the layers after the target (Context.TailScores).
// It is read on the resolved method and the layer's Geometry. The budget
// (budget.go) uses it to chunk copies and split batches below
// TensorFlow's 2³¹-element limit; New refuses a method whose Build makes
// more copies than it declares (*CostError). A method without copies
// leaves Cost nil.
//
// The shared options eigen_smooth and aug_smooth (Smoothed, smooth.go)
// need nothing in the method's file: a layer-resolution method takes
// eigen_smooth when its Build ends with one Ops.WeightedSum or
// Ops.ChannelSum over the layer's channels (which eigen_smooth turns into
// a principal component), and aug_smooth when it reads its images,
// targets and scores through Tensors and the Context (Input, Targets,
// Selected, ClassScores, ScoreGradient, …), never the explainer's own
// tensors. A method whose map is already a principal component sets
// Spec.NoEigenSmooth to say so; signed attributions, input-gradient
// methods and guided backpropagation take neither.
//
// Then add the method's parity test (reference_test.go's tables) and
// regenerate the method table in docs/methods.md and check --help:
//
//	go test ./explainer -run TestMethodsDocTable -update
package explainer
