// Package evaluate scores explanation maps, so that methods can be compared
// on one model: "which map should I trust?"
//
// Localisation, from a map and ground-truth boxes (pointing.go, boxes.go):
//
//   - Pointing game (Zhang et al. 2016): a hit when the map's maximum lies
//     in a box, or within a tolerance of one (15 px at 224 px in the paper).
//   - Energy-based pointing game (Wang et al. 2020, the Score-CAM paper):
//     the share of the map's energy, Σ of the normalised map, inside the
//     boxes.
//
// Faithfulness, from the model run on images perturbed by the map
// (evaluator.go, drop.go, deletion.go):
//
//   - Average Drop % = 100 · mean_i max(0, Y_i − O_i) / Y_i and Increase in
//     Confidence % = 100 · mean_i [O_i > Y_i] (Chattopadhyay et al. 2018,
//     the Grad-CAM++ paper), with Y_i the probability of the explained class
//     on image i and O_i on the image multiplied by its normalised map.
//   - Deletion and Insertion (Petsiuk et al. 2018, the RISE paper): pixels
//     are replaced by a baseline (deletion) or revealed on the baseline
//     (insertion) in the map's order, most important first, and the class
//     probability is recorded after each step; the score is the area under
//     that curve over the fraction of pixels changed.
//
// Faithfulness under removal without the shape showing (road.go,
// impute.go):
//
//   - ROAD (Rong et al. 2022): the most (MoRF) or least (LeRF) relevant
//     pixels at each percentage are removed and filled by noisy linear
//     imputation from their neighbours (a sparse linear system solved in
//     Go), and the class probability and whether the class stays on top
//     are recorded.
//
// Robustness (sensitivity.go):
//
//   - Max-sensitivity (Yeh et al. 2019): the largest relative change of the
//     map under seeded uniform input noise. The caller explains the
//     perturbed images through an ExplainFunc.
//
// Comparing methods (rank.go, page.go, report.html): Rank ranks every
// method on every measured metric (fractional ranks, values within
// TieTolerance tied, a missing value last) and averages the ranks over the
// metrics of faithfulness, localisation and robustness; Recommend picks
// the best mean rank among the methods no sanity check flagged
// (Summary.Flags) and names a much cheaper one that is nearly as good
// (Summary.Passes). Report.WriteHTML writes it all as one self-contained
// page, Report.WriteMarkdown as Markdown. The faithfulness metrics score
// class probabilities: under another explainer objective the command does
// not run them, and their columns are left out (no deletion curve).
//
// The perturbed images are built by TensorFlow ops from the model's input
// placeholder and the fed maps and run through a copy of the model's forward
// pass in the same graph (tfgraph.Forward.Copy), so a chunk of images with
// all their steps is one Session.Run. Scores are always the model's
// probabilities: its output, or the softmax of its output when the model
// has no final Softmax/Sigmoid.
//
// The package computes and reports (tables, CSV, JSON, plots written to an
// io.Writer); it must not read images, explain them (max-sensitivity calls
// the ExplainFunc it is given) or write files — the command does that.
package evaluate
