package engine

// RetryAlone runs a batch with run; when the batch fails as a whole, each
// element is run again alone (recursively, one at a time), so that a
// failure is reported, through fail, for the elements that cause it and
// the others still succeed. It returns the elements that succeeded, in
// order. A batch of n that fails costs at most n more runs.
//
// The file engine retries images this way, and serve's batcher the
// requests' images of a failed group.
func RetryAlone[T any](batch []T, run func([]T) error, fail func(T, error)) []T {
	err := run(batch)
	if err == nil {
		return append([]T(nil), batch...)
	}
	if len(batch) == 1 {
		fail(batch[0], err)
		return nil
	}
	var ok []T
	for _, x := range batch {
		ok = append(ok, RetryAlone([]T{x}, run, fail)...)
	}
	return ok
}

// Concat concatenates the float32 slices of a batch's elements (model
// inputs [H,W,C] each) into one [n,H,W,C] slice.
func Concat[T any](batch []T, pixels func(T) []float32) []float32 {
	n := 0
	for _, x := range batch {
		n += len(pixels(x))
	}
	out := make([]float32, 0, n)
	for _, x := range batch {
		out = append(out, pixels(x)...)
	}
	return out
}
