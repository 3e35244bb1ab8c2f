package render

import (
	"fmt"
	"io"

	"github.com/tfcam/tfcam/internal/atomicfile"
)

// WriteFileAtomic writes the file at path by calling write on a temporary
// file in the same directory (buffered; write need not buffer), syncing it
// to disk and renaming it to path, so readers see either the old file or
// the complete new one — never a half-written image after a crash or
// Ctrl-C. Parent directories are created as needed (mode 0755). A new file
// gets mode 0644 (less the umask); a replaced one keeps its permissions.
//
// On any error, including one returned by write, the temporary file is
// removed and path is left untouched. If write panics the temporary file is
// removed too and the panic propagates.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	if err := atomicfile.Write(path, write, atomicfile.Options{}); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}
