package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// Version is tfcam's version, set at build time with
// -ldflags "-X main.Version=...".
var Version = "0.1.0-dev"

// versionHelp is `tfcam version -h`.
var versionHelp = help{
	synopsis: []string{"tfcam version"},
	about: `Prints tfcam's version, the TensorFlow library it runs on and the devices
TensorFlow sees (CPU, GPUs): check a GPU setup with it.`,
	examples: []example{
		{"versions and devices", "tfcam version"},
		{"only the GPUs CUDA_VISIBLE_DEVICES allows", "CUDA_VISIBLE_DEVICES=0 tfcam version"},
		{"with TensorFlow's own log of what it found", "TF_CPP_MIN_LOG_LEVEL=0 tfcam version"},
	},
}

func runVersion(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = versionHelp.usage(fs)
	if err := parseArgs(fs, args); err != nil {
		return flagError(err)
	}
	fmt.Printf("tfcam %s\nTensorFlow %s (C API via graft v0.10.0)\n", Version, tf.Version())
	// An empty graph's session lists the devices TensorFlow can use.
	sess, err := tf.NewSession(tf.NewGraph(), nil)
	if err != nil {
		return fmt.Errorf("starting a TensorFlow session: %w", err)
	}
	defer sess.Close()
	devs, err := sess.ListDevices()
	if err != nil {
		return fmt.Errorf("listing devices: %w", err)
	}
	var names []string
	gpu := false
	for _, d := range devs {
		names = append(names, fmt.Sprintf("%s (%s)", d.Name, d.Type))
		gpu = gpu || strings.EqualFold(d.Type, "GPU")
	}
	fmt.Printf("devices: %s\n", strings.Join(names, ", "))
	if !gpu {
		fmt.Println("no GPU visible to TensorFlow (GPU servers: `make setup GPU=1`, check nvidia-smi and CUDA_VISIBLE_DEVICES)")
	}
	return nil
}
