package evaluate

import "testing"

// TestMatchBoxes: rows match images by path, else by base name; a base
// name shared by two images must be named by path; rows of no image are
// counted.
func TestMatchBoxes(t *testing.T) {
	b := func(x int) []Box { return []Box{{X0: x, Y0: 0, X1: x + 1, Y1: 1}} }
	paths := []string{"a/cat.jpg", "b/cat.jpg", "a/dog.jpg"}
	got, unmatched, err := MatchBoxes(map[string][]Box{"a/cat.jpg": b(1), "./b/cat.jpg": b(2), "dog.jpg": b(3), "fish.jpg": b(4)}, paths)
	if err != nil || unmatched != 1 || len(got) != 3 || got["a/cat.jpg"][0].X0 != 1 || got["b/cat.jpg"][0].X0 != 2 || got["a/dog.jpg"][0].X0 != 3 {
		t.Errorf("MatchBoxes = %v, %d, %v", got, unmatched, err)
	}
	if _, _, err := MatchBoxes(map[string][]Box{"cat.jpg": b(1)}, paths); err == nil {
		t.Error("an ambiguous base name was accepted")
	}
}
