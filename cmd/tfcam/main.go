// Command tfcam explains TensorFlow image classifiers with class-activation
// maps. Run `tfcam help` for the commands.
package main

import (
	"fmt"
	"os"
)

// command is one tfcam subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

func commands() []command {
	return []command{
		{"version", "print tfcam's and TensorFlow's versions and the devices TensorFlow sees", runVersion},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "tfcam: class-activation maps for TensorFlow image classifiers\n\nUsage: tfcam COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun `tfcam COMMAND -h` for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "tfcam %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "tfcam: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}
