package evaluate

// AverageDrop is Average Drop % (Chattopadhyay et al. 2018, Grad-CAM++):
// 100 · mean_i max(0, Y_i − O_i) / Y_i, with Y_i = Base and O_i = Masked.
// Images with Y_i = 0 count as no drop. Lower is better.
func AverageDrop(r []Faithfulness) float64 {
	if len(r) == 0 {
		return 0
	}
	var sum float64
	for _, f := range r {
		if f.Base > 0 {
			sum += max(0, f.Base-f.Masked) / f.Base
		}
	}
	return 100 * sum / float64(len(r))
}

// IncreaseInConfidence is Increase in Confidence % (Chattopadhyay et al.
// 2018): 100 · mean_i [O_i > Y_i], the share of images whose class
// probability rises when only the explained parts are kept. Higher is
// better.
func IncreaseInConfidence(r []Faithfulness) float64 {
	if len(r) == 0 {
		return 0
	}
	n := 0
	for _, f := range r {
		if f.Masked > f.Base {
			n++
		}
	}
	return 100 * float64(n) / float64(len(r))
}
