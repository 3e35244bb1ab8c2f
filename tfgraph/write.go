package tfgraph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// This file writes a Model's graph, with what was added to it, back out as
// a SavedModel (tfcam export). The written MetaGraphDef is the loaded one
// with its graph replaced by the Model's graph as it is now and more
// signatures; the variables are the SavedModel's own checkpoint, copied:
// the graph's restore op (the SaverDef's) reads them as it read the
// original's. The object graph (SavedObjectGraph) of a TF2 SavedModel is
// left out: it describes Python objects whose functions know nothing of
// the added signatures, and without it TensorFlow's Python loader reads
// the signatures from the SignatureDefs, as TF Serving and the C API do.

// ExportedPrefix is put before the names of the nodes the written graph
// adds to the SavedModel's own, so that tfcam can load the written
// SavedModel and add its own nodes again.
const ExportedPrefix = "tfcam_export/"

// SignatureTensors are the inputs and outputs of a signature to write,
// by key.
type SignatureTensors struct {
	Inputs, Outputs map[string]tf.Output
}

// ErrStopChecks is returned by WriteSavedModel when the graph holds a
// stop check (StopCheck): its flag is a variable of this process, absent
// from the written checkpoint. Build what is written after OmitStopChecks.
var ErrStopChecks = errors.New("the graph reads the model's stop flag, which a written SavedModel lacks")

// OmitStopChecks makes StopCheck add nothing to the graph from now on:
// for a graph that is written out (WriteSavedModel). Runs of what is
// built after it cannot be stopped between chunks (AbortOnCancel only
// abandons them).
func (m *Model) OmitStopChecks() {
	m.stopMu.Lock()
	m.noStop = true
	m.stopMu.Unlock()
}

// WriteSavedModel writes the Model's graph as it is now — the SavedModel's
// own ops and every op added since it was loaded — to dir as a SavedModel
// with the original signatures and sigs (their keys must be new), the
// original's variables (copied) and assets. dir must not exist; the
// SavedModel is written to a temporary folder beside it and renamed, so a
// failed write leaves nothing at dir. files, by name, are written beside
// saved_model.pb (a preset, labels). It returns the added nodes' count.
func (m *Model) WriteSavedModel(dir string, sigs map[string]SignatureTensors, files map[string][]byte) (int, error) {
	m.stopMu.Lock()
	stopped := m.stop != nil
	m.stopMu.Unlock()
	if stopped {
		return 0, fmt.Errorf("tfgraph: writing %s: %w", dir, ErrStopChecks)
	}
	if _, err := os.Lstat(dir); err == nil {
		return 0, fmt.Errorf("tfgraph: writing a SavedModel to %s: %w", dir, os.ErrExist)
	}
	def, err := m.GraphDef()
	if err != nil {
		return 0, err
	}
	added := renameAdded(m.meta.GetGraphDef(), def)
	mg := proto.Clone(m.meta).(*corepb.MetaGraphDef)
	mg.GraphDef = def
	mg.ObjectGraphDef = nil
	if info := mg.GetMetaInfoDef(); info != nil {
		// The ops the graph uses: a loader strips default attributes by
		// this list, which the added ops are not on.
		info.StrippedOpList = nil
	}
	if mg.SignatureDef == nil {
		mg.SignatureDef = map[string]*corepb.SignatureDef{}
	}
	keys := make([]string, 0, len(sigs))
	for k := range sigs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if _, ok := mg.SignatureDef[key]; ok {
			return 0, fmt.Errorf("tfgraph: %s already has a signature %q", m.Dir, key)
		}
		s := sigs[key]
		sd := &corepb.SignatureDef{Inputs: map[string]*corepb.TensorInfo{}, Outputs: map[string]*corepb.TensorInfo{}, MethodName: "tensorflow/serving/predict"}
		for k, t := range s.Inputs {
			sd.Inputs[k] = tensorInfoOf(t, added)
		}
		for k, t := range s.Outputs {
			sd.Outputs[k] = tensorInfoOf(t, added)
		}
		mg.SignatureDef[key] = sd
	}
	raw, err := proto.Marshal(&corepb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*corepb.MetaGraphDef{mg}})
	if err != nil {
		return 0, fmt.Errorf("tfgraph: encoding the SavedModel: %w", err)
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".partial-")
	if err != nil {
		return 0, fmt.Errorf("tfgraph: writing a SavedModel: %w", err)
	}
	done := false
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700
		os.RemoveAll(tmp)
		return 0, err
	}
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeFileSync(filepath.Join(tmp, "saved_model.pb"), raw); err != nil {
		return 0, err
	}
	for name, data := range files {
		if name != filepath.Base(name) || name == "saved_model.pb" || name == "variables" || strings.HasPrefix(name, "assets") {
			return 0, fmt.Errorf("tfgraph: writing a SavedModel: extra file name %q is not a plain name of its own", name)
		}
		if err := writeFileSync(filepath.Join(tmp, name), data); err != nil {
			return 0, err
		}
	}
	for _, sub := range []string{"variables", "assets", "assets.extra"} {
		if err := copyTree(filepath.Join(m.Dir, sub), filepath.Join(tmp, sub)); err != nil {
			return 0, err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return 0, fmt.Errorf("tfgraph: writing a SavedModel: %w", err)
	}
	done = true
	return len(added), nil
}

// renameAdded puts ExportedPrefix before the name of every node of def
// that orig lacks, and in the inputs that name them; it returns the old
// names mapped to the new.
func renameAdded(orig, def *graphpb.GraphDef) map[string]string {
	had := make(map[string]bool, len(orig.GetNode()))
	for _, n := range orig.GetNode() {
		had[n.GetName()] = true
	}
	added := map[string]string{}
	for _, n := range def.GetNode() {
		if !had[n.GetName()] {
			added[n.GetName()] = ExportedPrefix + n.GetName()
		}
	}
	for _, n := range def.GetNode() {
		if to, ok := added[n.GetName()]; ok {
			n.Name = to
		}
		for i, in := range n.GetInput() {
			ctrl := strings.HasPrefix(in, "^")
			name, port, _ := strings.Cut(strings.TrimPrefix(in, "^"), ":")
			to, ok := added[name]
			if !ok {
				continue
			}
			switch {
			case ctrl:
				n.Input[i] = "^" + to
			case port != "":
				n.Input[i] = to + ":" + port
			default:
				n.Input[i] = to
			}
		}
	}
	return added
}

// tensorInfoOf describes t in the written graph (renamed as added says).
func tensorInfoOf(t tf.Output, added map[string]string) *corepb.TensorInfo {
	name := t.Op.Name()
	if to, ok := added[name]; ok {
		name = to
	}
	shape := &shapepb.TensorShapeProto{}
	if s := t.Shape(); s.NumDimensions() < 0 {
		shape.UnknownRank = true
	} else {
		dims, _ := s.ToSlice()
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
		}
	}
	return &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: fmt.Sprintf("%s:%d", name, t.Index)},
		Dtype: typespb.DataType(t.DataType()), TensorShape: shape}
}

// copyTree copies the regular files under from to to (nothing when from
// does not exist).
func copyTree(from, to string) error {
	if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("tfgraph: copying %s: not a regular file", path)
		}
		return copyFile(path, dst)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return createSynced(to, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func writeFileSync(path string, data []byte) error {
	return createSynced(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// createSynced creates path (which must not exist), fills it with fill
// and syncs it to disk.
func createSynced(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("tfgraph: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
