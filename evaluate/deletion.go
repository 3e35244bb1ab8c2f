package evaluate

// Deletion and Insertion (Petsiuk et al. 2018, RISE): pixels, all channels
// at once, are changed in the order of the map's exact ranks, most
// important first, equal values by pixel index (row-major, lower first).
// At step k of Steps the first Counts[k] pixels are replaced by the
// baseline (Deletion, which starts from the image) or by the image
// (Insertion, which starts from the baseline), and the probability of the
// explained class is recorded. Lower Deletion AUC and higher Insertion AUC
// are better.

// Counts is the number of pixels changed at each of steps+1 steps over hw
// pixels: ⌊k·(hw/steps)⌋ in float64, the last exactly hw — numpy's
// linspace(0, hw, steps+1).astype(int32), as Xplique does.
func Counts(hw, steps int) []int {
	out := make([]int, steps+1)
	step := float64(hw) / float64(steps)
	for k := range out {
		out[k] = int(float64(k) * step)
	}
	out[steps] = hw
	return out
}

// Fractions is the x axis of the curves: k/steps for k = 0..steps, the
// nominal fraction of pixels changed (Counts differs from it by less than
// one pixel).
func Fractions(steps int) []float64 {
	out := make([]float64, steps+1)
	for k := range out {
		out[k] = float64(k) / float64(steps)
	}
	return out
}

// AUC is the trapezoidal area under a curve sampled at Fractions(len−1):
// mean_k (s_k + s_{k+1}) / 2, Xplique's formula. The AUC of a mean curve is
// the mean of the curves' AUCs.
func AUC(curve []float64) float64 {
	if len(curve) < 2 {
		return 0
	}
	var sum float64
	for k := 1; k < len(curve); k++ {
		sum += curve[k-1] + curve[k]
	}
	return sum / 2 / float64(len(curve)-1)
}
