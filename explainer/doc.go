// Package explainer turns a model, a batch of images and targets into
// class-activation maps: Grad-CAM, Grad-CAM++, HiRes-CAM, XGrad-CAM,
// LayerCAM, Eigen-CAM, guided backpropagation and Guided Grad-CAM.
//
// Each method is a small value that only says how its map comes from the
// target layer's activations A and gradients g, as TensorFlow ops (see
// gradcam.go and its neighbours). The shared machinery in explainer.go does
// the rest once for all methods asked together: one forward pass, one
// backward pass per explained rank, ReLU, bilinear upsampling to the input
// size and per-image min–max normalisation, all appended to the model's graph
// so that a batch is a single Session.Run — on the GPU when TensorFlow has
// one. Go only slices the fetched results per image.
//
// It must not read files or decode images; callers hand it float32 batches.
package explainer
