package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/tfcam/tfcam/tfgraph"
)

func runLayers(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("layers", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	all := fs.Bool("all", false, "list every layer, not only spatial 4-D and token ones")
	tokens := fs.String("tokens", "auto", tokensUsage)
	if err := fs.Parse(args); err != nil {
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
