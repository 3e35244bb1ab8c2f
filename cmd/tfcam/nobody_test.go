package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// This is imagefile/read_test.go's helper: test files cannot be shared
// across packages.

// nobodyEnv marks the child process asNobody starts.
const nobodyEnv = "TFCAM_TEST_AS_NOBODY"

// asNobody lets a permission test run as an unprivileged user: as root,
// it runs the calling test again in a child process as nobody
// (65534:65534), fails t if the child fails, and returns true (the caller
// returns). Otherwise (not root, or in the child) it returns false and the
// caller runs the case itself.
func asNobody(t *testing.T) bool {
	t.Helper()
	if os.Getenv(nobodyEnv) == "1" {
		if os.Geteuid() == 0 {
			t.Fatal("child meant to run as nobody runs as root")
		}
		return false
	}
	if os.Geteuid() != 0 {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a private build folder: copy it where
	// nobody can run it.
	dir, err := os.MkdirTemp("", "asnobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), nobodyEnv+"=1", "TMPDIR="+os.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("as nobody: %s did not run:\n%s", t.Name(), out)
	}
	t.Logf("ran as nobody (65534):\n%s", out)
	return true
}
