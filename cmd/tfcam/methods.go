package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tfcam/tfcam/explainer"
	"github.com/tfcam/tfcam/internal/suggest"
)

// methodsGeometry is the layer the costs of `tfcam methods` are stated
// for: the demo model's, EfficientNet-Lite0 at 224×224 explained at its
// default layer, 7×7×1280 (the widest layer tfcam ships a model for).
var methodsGeometry = explainer.Geometry{H: 224, W: 224, C: 3, LH: 7, LW: 7, K: 1280, Classes: 1000}

var methodsHelp = help{
	synopsis: []string{"tfcam methods [NAME]"},
	about: `Lists the explanation methods --method takes (explain, eval, serve): each
one's family, its cost in forward passes per image, and what it computes.
With NAME, the method's notes, its options (set as NAME:key=value) with
their defaults and allowed values, and its cost. docs/methods.md says more.`,
	examples: []example{
		{"every method, with its cost", "tfcam methods"},
		{"Score-CAM's options and cost", "tfcam methods scorecam"},
		{"then use an option", "tfcam explain --model .models/efficientnet_lite0/model --out out --method scorecam:variant=softmax .models/efficientnet_lite0/photos"},
	},
}

// runMethods is `tfcam methods [NAME]`.
func runMethods(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("methods", flag.ContinueOnError)
	fs.Usage = methodsHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	switch fs.NArg() {
	case 0:
		return methodTable(os.Stdout)
	case 1:
		return methodDetail(os.Stdout, fs.Arg(0))
	}
	return usageError(fmt.Sprintf("methods takes at most one method name, not %q", fs.Args()))
}

// passes is m's forward passes per image on geometry g, as eval's report
// counts them: the shared pass and the declared copies.
func passes(m explainer.Method, g explainer.Geometry) int {
	c := explainer.CostAt(m, g)
	return 1 + c.Copies + c.TailCopies
}

// scalesWith names what m's declared cost grows with, found by doubling
// each size of the stated geometry in turn.
func scalesWith(m explainer.Method) string {
	g := methodsGeometry
	base := passes(m, g)
	var with []string
	for _, v := range []struct {
		name string
		g    explainer.Geometry
	}{
		{"K", func() explainer.Geometry { h := g; h.K *= 2; return h }()},
		{"layer grid", func() explainer.Geometry { h := g; h.LH, h.LW = 2*g.LH, 2*g.LW; return h }()},
		{"input size", func() explainer.Geometry { h := g; h.H, h.W = 2*g.H, 2*g.W; return h }()},
		{"classes", func() explainer.Geometry { h := g; h.Classes *= 2; return h }()},
	} {
		if passes(m, v.g) != base {
			with = append(with, v.name)
		}
	}
	if len(with) == 0 {
		return "-"
	}
	return strings.Join(with, ", ")
}

// methodTable writes every registered method, in registry order.
func methodTable(w io.Writer) error {
	g := methodsGeometry
	fmt.Fprintf(w, "Forward passes per image at a %d×%d layer of K=%d channels (%d×%d input, %d classes;\nthe demo model's default layer); GROWS WITH says what else changes them.\n\n",
		g.LH, g.LW, g.K, g.H, g.W, g.Classes)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tFAMILY\tPASSES\tGROWS WITH\tSUMMARY")
	for _, in := range explainer.Methods() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", in.Name, in.Family, passes(in.Method, g), scalesWith(in.Method), in.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nAll methods of the gradient family share one forward and backward pass (--method all).\n"+
		"Options: tfcam methods NAME; set them as --method NAME:key=value. docs/methods.md says more.\n")
	return err
}

// methodDetail writes the method named name: summary, notes, options,
// cost. An unknown name is a usage error with the closest names.
func methodDetail(w io.Writer, name string) error {
	in, ok := explainer.Describe(strings.ToLower(strings.TrimSpace(name)))
	if !ok {
		var names []string
		for _, in := range explainer.Methods() {
			names = append(names, in.Name)
		}
		hint := ""
		if close := suggest.Closest(name, names, 3); len(close) > 0 {
			hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(close, ", "))
		}
		return usageError(fmt.Sprintf("unknown method %q%s; tfcam methods lists them all", name, hint))
	}
	fmt.Fprintf(w, "%s (%s family)\n\n%s\n", in.Name, in.Family, wrap(in.Summary, helpWidth, ""))
	if in.Notes != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(in.Notes, helpWidth, ""))
	}
	fmt.Fprintf(w, "\nOptions (--method %s:key=value:key=value), with their defaults:\n", in.Name)
	shown := 0
	for _, o := range in.Options {
		doc := o.Doc
		if len(o.Allowed) > 1 {
			doc += " (" + strings.Join(o.Allowed, ", ") + ")"
		}
		fmt.Fprint(w, optionLine(o.Name+"="+o.DefaultText(), doc))
		shown++
	}
	for _, o := range explainer.SmoothOptions() {
		if (o.Name == "eigen_smooth" && in.EigenSmooth) || (o.Name == "aug_smooth" && in.AugSmooth) {
			fmt.Fprint(w, optionLine(o.Name+"="+o.DefaultText(), o.Doc+" (shared by the class-activation methods)"))
			shown++
		}
	}
	if shown == 0 {
		fmt.Fprintln(w, "  none")
	}
	g := methodsGeometry
	p := passes(in.Method, g)
	cost := fmt.Sprintf("Cost: %d forward pass%s per image at a %d×%d layer of K=%d channels (%d×%d input)",
		p, map[bool]string{true: "", false: "es"}[p == 1], g.LH, g.LW, g.K, g.H, g.W)
	if s := scalesWith(in.Method); s != "-" {
		cost += "; grows with " + s
	}
	if in.Family == explainer.FamilyGradient {
		cost += "; the pass is shared with the rest of the gradient family"
	}
	_, err := fmt.Fprintf(w, "\n%s.\nExample: tfcam explain --model DIR --out DIR --method %s IMAGES...\n", wrap(cost, helpWidth, ""), in.Name)
	return err
}

// optionLine is one option, "  key=default   doc", the doc wrapped.
func optionLine(kv, doc string) string {
	const col = 26
	head := fmt.Sprintf("  %-*s", col-2, kv)
	if len(kv) > col-3 {
		head = "  " + kv + "\n" + strings.Repeat(" ", col)
	}
	return head + wrap(doc, helpWidth-col, strings.Repeat(" ", col)) + "\n"
}

// wrap breaks text into lines of at most width, each after the first
// starting with indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		switch {
		case n == 0:
		case n+1+len(word) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}
