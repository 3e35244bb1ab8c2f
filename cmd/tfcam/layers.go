package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
)

func runLayers(args []string) error {
	fs := flag.NewFlagSet("layers", flag.ContinueOnError)
	var f modelFlags
	f.register(fs)
	all := fs.Bool("all", false, "list every layer, not only spatial 4-D ones")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	m, preset, err := f.load()
	if err != nil {
		return err
	}
	defer m.Close()
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
	fmt.Fprintln(tw, "\tLAYER\tOP\tSHAPE\tSPATIAL")
	for _, l := range fw.Layers() {
		if !*all && !l.Spatial {
			continue
		}
		mark := ""
		if l.Output.Op.Name() == def.Output.Op.Name() && l.Output.Index == def.Output.Index {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", mark, l.Name, l.Op, l.Shape, l.Spatial)
	}
	tw.Flush()
	fmt.Printf("\n* default target layer (%s); choose another with `tfcam explain --layer NAME`\n", def.Name)
	if note := inputNote(m, def); note != "" {
		fmt.Println(note)
	}
	if len(fw.Rewrites) > 0 {
		fmt.Printf("graph rewrites for gradients: %v\n", fw.Rewrites)
	}
	return nil
}
