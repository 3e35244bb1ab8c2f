package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/tfcam/tfcam/tfgraph"
)

// layersHelp is `tfcam layers -h`.
var layersHelp = help{
	synopsis: []string{"tfcam layers --model DIR [flags]"},
	about: `Lists a model's candidate target layers for --layer: its spatial 4-D
layers and the token layers of transformers (with their patch grid), in
forward order; the default is marked *. --all lists every node, with the
names --input-tensor takes.`,
	examples: []example{
		{"the demo model's layers", "tfcam layers --model .models/efficientnet_lite0/model"},
		{"every node, spatial or not", "tfcam layers --model .models/efficientnet_lite0/model --all"},
		{"a ViT's token layers on a 14x14 grid after one class token", "tfcam layers --model my_vit/ --tokens drop=1,grid=14x14"},
	},
	main:   []string{"model", "all", "tokens"},
	groups: []flagGroup{{"Model", []string{"labels", "preprocess", "size", "output", "input", "input-tensor", "signature", "tags", "device", "threads", "max-decode-mb"}}},
}

func runLayers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("layers", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	all := fs.Bool("all", false, "list every layer, not only spatial 4-D and token ones")
	tokens := fs.String("tokens", "auto", tokensUsage)
	fs.Usage = layersHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	tok, err := parseTokens(*tokens)
	if err != nil {
		return err
	}
	opened, err := f.open()
	if err != nil {
		return err
	}
	defer opened.Close()
	m, preset := opened.TF, opened.Preset
	fw, err := m.Inline()
	if err != nil {
		return err
	}
	def, err := fw.DefaultLayer()
	if err != nil {
		return err
	}
	if preset.Layer != "" {
		if l, err := fw.Layer(preset.Layer); err == nil {
			def = l
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tLAYER\tOP\tSHAPE\tSPATIAL\tGRID")
	for _, l := range fw.Layers() {
		// A token layer is a candidate when its patch grid is known.
		grid := ""
		if tfgraph.IsTokenLayer(l) {
			if v, err := fw.TokenView(l, tok); err == nil {
				grid = fmt.Sprintf("%d+%dx%d", v.Prefix, v.Rows, v.Cols)
			} else if *all {
				grid = "?"
			}
		}
		if !*all && !l.Spatial && grid == "" {
			continue
		}
		mark := ""
		if l.Output.Op.Name() == def.Output.Op.Name() && l.Output.Index == def.Output.Index {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%s\n", mark, l.Name, l.Op, l.Shape, l.Spatial, grid)
	}
	tw.Flush()
	fmt.Printf("\n* default target layer (%s); choose another with `tfcam explain --layer NAME`\n", def.Name)
	fmt.Printf("GRID of a token layer: prefix tokens dropped + patch rows x cols (`--tokens`); ? = not detected, give it with --tokens\n")
	fmt.Printf("preprocessing: %s (%s; --preprocess to change)\n", opened.Preprocess, opened.PreprocessFrom)
	if note := inputNote(m, def); note != "" {
		fmt.Println(note)
	}
	if len(fw.Rewrites) > 0 {
		fmt.Printf("graph rewrites for gradients: %v\n", fw.Rewrites)
	}
	return nil
}
