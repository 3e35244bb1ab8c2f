package tfgraph

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
)

// TestTokenView resolves the vit fixture's token layers: the grid the
// fixture was built with (meta.json: 1 class token, 8-px patches of 32 px)
// when detected, given values when consistent, ErrTokenGrid otherwise.
func TestTokenView(t *testing.T) {
	f, _, fw := loadInlined(t, "vit")
	if f.Meta.Tokens == nil {
		t.Fatal("vit fixture without tokens in meta.json: rebuild it")
	}
	want := TokenView{f.Meta.Tokens.Drop, f.Meta.Tokens.Grid[0], f.Meta.Tokens.Grid[1]}
	norm, err := fw.Layer(f.Meta.DefaultLayer)
	if err != nil {
		t.Fatal(err)
	}
	patches, err := fw.Layer("patch_tokens") // [N,16,32]: no class token yet
	if err != nil {
		t.Fatal(err)
	}
	spatial, err := fw.Layer("patch_embed")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		layer Layer
		tok   Tokens
		want  TokenView
		fails bool
	}{
		{"auto", norm, Tokens{}, want, false},
		{"drop given", norm, Tokens{Drop: 1}, want, false},
		{"grid given", norm, Tokens{Grid: [2]int{4, 4}}, want, false},
		{"both given", norm, Tokens{Drop: 1, Grid: [2]int{4, 4}}, want, false},
		{"non-square grid given", norm, Tokens{Drop: 1, Grid: [2]int{2, 8}}, TokenView{1, 2, 8}, false},
		{"no prefix before the class token", patches, Tokens{}, TokenView{0, 4, 4}, false},
		{"no prefix said", patches, Tokens{Drop: NoPrefix}, TokenView{0, 4, 4}, false},
		{"grid does not add up", norm, Tokens{Drop: 2, Grid: [2]int{4, 4}}, TokenView{}, true},
		{"no square left", norm, Tokens{Drop: 3}, TokenView{}, true},
		{"grid too large", norm, Tokens{Grid: [2]int{5, 5}}, TokenView{}, true},
		{"half a grid", norm, Tokens{Grid: [2]int{4, 0}}, TokenView{}, true},
		{"spatial layer", spatial, Tokens{}, TokenView{}, true},
		// Without a patch embedding before the layer (order 0): squares.
		{"square, class token", Layer{Name: "t", Shape: []int64{-1, 197, 8}}, Tokens{}, TokenView{1, 14, 14}, false},
		{"square, 4 registers", Layer{Name: "t", Shape: []int64{-1, 261, 8}}, Tokens{}, TokenView{5, 16, 16}, false},
		{"square, none", Layer{Name: "t", Shape: []int64{-1, 49, 8}}, Tokens{}, TokenView{0, 7, 7}, false},
		{"ambiguous: 1+3x3 or 6+2x2", Layer{Name: "t", Shape: []int64{-1, 10, 8}}, Tokens{}, TokenView{}, true},
		{"ambiguous resolved by drop", Layer{Name: "t", Shape: []int64{-1, 10, 8}}, Tokens{Drop: 6}, TokenView{6, 2, 2}, false},
		{"no square", Layer{Name: "t", Shape: []int64{-1, 12, 8}}, Tokens{}, TokenView{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := fw.TokenView(c.layer, c.tok)
			if c.fails {
				if !errors.Is(err, ErrTokenGrid) {
					t.Fatalf("got %+v, %v; want an ErrTokenGrid error", got, err)
				}
				t.Log(err)
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// TestBypassed: in the vit fixture every block's first norm is bypassed by
// the residual stream; the final norm is the only path to the head, as the
// last layer of a CNN block is.
func TestBypassed(t *testing.T) {
	for _, c := range []struct {
		fixture, layer string
		want           bool
	}{
		{"vit", "block2_norm1", true},
		{"vit", "block1_mlp1", true},
		{"vit", "final_norm", false},
		{"resnet", "conv2_block1_1_conv", true},
		{"resnet", "conv2_block1_out", false},
	} {
		_, _, fw := loadInlined(t, c.fixture)
		l, err := fw.Layer(c.layer)
		if err != nil {
			t.Fatal(err)
		}
		if got := fw.Bypassed(l); got != c.want {
			t.Errorf("%s %s: Bypassed = %v, want %v", c.fixture, c.layer, got, c.want)
		}
	}
}

// TestLayerNamesAreKerasNames: every layer tfcam lists for the vit fixture
// is named as the Keras model names it (model.keras's config), including
// the residual `x + y`, which the SavedModel keeps only as the op "Add".
func TestLayerNamesAreKerasNames(t *testing.T) {
	f, _, fw := loadInlined(t, "vit")
	zr, err := zip.OpenReader(filepath.Join(f.Dir, "model.keras"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var cfg struct {
		Config struct {
			Layers []struct {
				Name string `json:"name"`
			} `json:"layers"`
		} `json:"config"`
	}
	for _, zf := range zr.File {
		if zf.Name != "config.json" {
			continue
		}
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(r).Decode(&cfg)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	keras := map[string]bool{}
	for _, l := range cfg.Config.Layers {
		keras[l.Name] = true
	}
	if len(keras) < 10 {
		t.Fatalf("only %d layers in model.keras's config", len(keras))
	}
	listed := 0
	for _, l := range fw.Layers() {
		listed++
		if !keras[l.Name] {
			t.Errorf("layer %q (scope %s) is not a Keras layer name", l.Name, l.Scope)
		}
	}
	if listed < len(keras)-1 { // all but the input
		t.Errorf("%d layers listed, the Keras model has %d besides its input", listed, len(keras)-1)
	}
	if _, err := fw.Layer("add"); err != nil {
		t.Error(err)
	}
}
