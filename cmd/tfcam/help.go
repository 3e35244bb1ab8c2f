package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// help is what a command's -h says, in reading order: how to call it,
// what it does, examples that work as written, then its flags, the ones
// most runs set first and the rest in groups. Its usage method renders it
// over the command's FlagSet, so a flag's text and default are declared
// once, where the flag is.
type help struct {
	// synopsis is the command line's shape, one line per form.
	synopsis []string
	// about is a short description, a paragraph or two; more is said
	// after the flags (both may be "").
	about, more string
	// examples are commands with a line on what each does.
	examples []example
	// main are the flags shown first, in this order.
	main []string
	// groups are the other flags, titled; a flag in none is listed
	// under "Other flags", so a new flag is never hidden.
	groups []flagGroup
}

type example struct{ what, cmd string }

type flagGroup struct {
	title string
	flags []string
}

// helpWidth is where flag texts wrap: an 80-column terminal.
const helpWidth = 80

// usage returns the FlagSet's Usage function for h.
func (h help) usage(fs *flag.FlagSet) func() {
	return func() { h.write(fs.Output(), fs) }
}

func (h help) write(w io.Writer, fs *flag.FlagSet) {
	for i, s := range h.synopsis {
		if i == 0 {
			fmt.Fprintf(w, "Usage: %s\n", s)
		} else {
			fmt.Fprintf(w, "       %s\n", s)
		}
	}
	if h.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(h.about))
	}
	if len(h.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range h.examples {
			fmt.Fprintf(w, "  # %s\n  %s\n", e.what, e.cmd)
		}
	}
	shown := map[string]bool{}
	section := func(title string, names []string) {
		var lines []string
		for _, n := range names {
			if f := fs.Lookup(n); f != nil && !shown[n] {
				shown[n] = true
				lines = append(lines, flagLines(f)...)
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "\n%s:\n%s", title, strings.Join(lines, ""))
		}
	}
	section("Flags", h.main)
	for _, g := range h.groups {
		section(g.title, g.flags)
	}
	var rest []string
	fs.VisitAll(func(f *flag.Flag) { rest = append(rest, f.Name) })
	if len(h.main)+len(h.groups) == 0 {
		section("Flags", rest)
	} else {
		section("Other flags", rest)
	}
	if h.more != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(h.more))
	}
}

// flagLines renders one flag: "--name VALUE", its text wrapped beside it
// and its default when it has one, as flag.PrintDefaults would say them
// (a back-quoted word in the text names the value, flag.UnquoteUsage).
func flagLines(f *flag.Flag) []string {
	name, text := flag.UnquoteUsage(f)
	head := "  --" + f.Name
	if name != "" {
		head += " " + name
	}
	if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "0s" {
		if name == "string" || strings.ContainsAny(def, " ,") {
			def = fmt.Sprintf("%q", def)
		}
		text += " (default " + def + ")"
	}
	const col = 26
	if len(head) >= col-1 {
		head += "\n" + strings.Repeat(" ", col)
	} else {
		head = fmt.Sprintf("%-*s", col, head)
	}
	lines := strings.Split(head+wrap(text, helpWidth-col, strings.Repeat(" ", col)), "\n")
	for i := range lines {
		lines[i] += "\n"
	}
	return lines
}

// parseArgs parses args with fs, taking flags wherever they are: after
// the inputs too (`tfcam explain photo.jpg --model M --out O`), which
// flag.Parse alone refuses (it stops at the first argument that is not a
// flag). "--" still ends the flags: what follows is an argument even if
// it starts with "-" (a file named -x.jpg); "-" alone is an argument (the
// stdin list). A flag's value is the next argument, as for flag.Parse,
// unless it is given as --name=value or the flag is boolean. fs.Args()
// are then the arguments in their order.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if hasValue || f == nil || isBoolFlag(f) {
			continue // an unknown flag is the flag package's to report
		}
		if i+1 == len(args) {
			return fs.Parse(flags) // "flag needs an argument", with the usage
		}
		i++
		flags = append(flags, args[i])
	}
	return fs.Parse(append(slices.Clip(flags), append([]string{"--"}, rest...)...))
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
