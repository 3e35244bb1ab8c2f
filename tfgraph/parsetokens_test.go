package tfgraph

import "testing"

// TestParseTokens covers the token layouts --tokens takes.
func TestParseTokens(t *testing.T) {
	for _, c := range []struct {
		in      string
		drop    int
		grid    [2]int
		wantErr bool
	}{
		{"auto", 0, [2]int{}, false},
		{"drop=1,grid=14x14", 1, [2]int{14, 14}, false},
		{"drop=0", -1, [2]int{}, false},
		{"grid=7x9,drop=auto", 0, [2]int{7, 9}, false},
		{"drop=-1", 0, [2]int{}, true},
		{"grid=14", 0, [2]int{}, true},
		{"size=3", 0, [2]int{}, true},
		{"drop=1,drop=2", 0, [2]int{}, true},
	} {
		got, err := ParseTokens(c.in)
		if (err != nil) != c.wantErr || (err == nil && (got.Drop != c.drop || got.Grid != c.grid)) {
			t.Errorf("ParseTokens(%q) = %+v, %v", c.in, got, err)
		}
	}
}
