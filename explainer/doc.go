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
// lists methods. What its author must know:
//
//  1. Its kind, which says what it returns; the explainer does the rest
//     (ReLU, upsampling, normalisation, eigen_smooth, aug_smooth, budget):
//     a WeightMethod returns weights w on the layer's activations A
//     ([N,1,1,K] per channel or [N,h,w,K] per position) and the map is
//     Σ_k (w⊙A)_k; a MapMethod returns its map (InputResolution says at
//     which size; embed layerMethod for the layer's); a ConceptMethod
//     returns several concept maps per image (ConceptMaps).
//  2. Tensors (A, the gradients G, Upsample) and the Context, which runs
//     copies of the model inside the same graph (Scores, Probabilities,
//     TailScores, InputGradient, LayerGradient, NoisyCopies…), all
//     copy-major; Ops, the graph ops (internal/graphops holds the shared
//     numerics: principal components, k-means, channel masks, blur).
//  3. The type, a struct whose exported int, float, string and bool fields
//     are its options (a method spec "name:key=value" sets them, in any
//     case). A zero field means the option's default. Define Signed() true
//     for attributions that keep their sign. Its Weights/Build starts
//     with m = Resolve(m) when it has options: Resolve fills zero fields
//     with the defaults declared in the registration, the only place a
//     default is written.
//  4. Its registration (Register), a package-level variable (below),
//     with its Cost when it runs copies of the model.
//  5. The doc comment of the type: the formula, the paper, how the peers'
//     variants differ (read gradcam.go, scorecam.go), and what it costs.
//
// The registry is open: an embedder registers a method of its own with
// Register, and it is parsed, listed, validated and budgeted like
// tfcam's (see TestMethodOfYourOwn).
//
// The registration, for a method with two options and copies:
//
//	var _ = Register(Spec[MyCAM]{
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
// need nothing in the method's file: every WeightMethod takes
// eigen_smooth (a principal component of w⊙A replaces the sum over
// channels), and a layer-resolution method takes aug_smooth when it reads
// its images, targets and scores through Tensors and the Context (Input,
// Targets, Selected, ClassScores, ScoreGradient, …), never the
// explainer's own tensors. A weight method whose map is already a
// principal component sets Spec.NoEigenSmooth to say so; signed
// attributions, input-gradient methods and guided backpropagation take
// neither.
//
// Then add the method's parity test (reference_test.go's tables) and
// regenerate the method table in docs/methods.md and check --help:
//
//	go test ./explainer -run TestMethodsDocTable -update
package explainer
