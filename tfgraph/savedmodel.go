package tfgraph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tf "github.com/wamuir/graft/tensorflow"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/tfcam/tfcam/cgo"
)

// Device says where a model runs.
type Device string

const (
	// DeviceAuto lets TensorFlow place ops: on a GPU when it sees one.
	DeviceAuto Device = ""
	// DeviceCPU hides every GPU from the session.
	DeviceCPU Device = "cpu"
	// DeviceGPU requires a GPU; loading fails when TensorFlow sees none.
	DeviceGPU Device = "gpu"
)

// LoadOptions choose what to load from a SavedModel directory. The zero
// value discovers everything.
type LoadOptions struct {
	// Tags select the MetaGraph; empty means "serve" when present, else the
	// only MetaGraph.
	Tags []string
	// Signature is the SignatureDef key; empty means "serving_default" when
	// present, else the only signature.
	Signature string
	// Device is where the session runs (default: TensorFlow decides).
	Device Device
	// Threads caps TensorFlow's intra- and inter-op thread pools (0: TF's default).
	Threads int
	// InputSize is the image height and width for a signature that accepts
	// any size (input [N,?,?,C]); {0, 0} keeps the signature's. For a
	// signature with a fixed size it may only repeat that size.
	InputSize [2]int
	// DefaultInputSize is used instead of InputSize when that is {0, 0} and
	// the signature leaves the size open (a model preset's input_size); it
	// is ignored for a signature with a fixed size.
	DefaultInputSize [2]int
	// Output is the signature output key to explain (e.g. "output_0");
	// empty picks the only float [N,classes] output and refuses a
	// signature with several (OutputChoiceError). A key may also name a
	// float output of another shape (a segmentation [N,H',W',C] or
	// regression [N] output), for explainer.Objective.
	Output string
	// Input is the signature input key of the image batch; empty picks the
	// only input, or the only [N,H,W,C] one. Every other input must have a
	// default (a PlaceholderWithDefault): tfcam feeds only the image.
	Input string
	// InputTensor, for a signature taking encoded images (a string
	// tensor of JPEG/PNG bytes the model decodes), names the node whose
	// output is the decoded float32 image batch [N,H,W,C] that tfcam feeds
	// instead: a layer or node name as `tfcam layers --all` lists them.
	// Empty finds it: the first such tensor with a static H, W and C
	// through which every path from the input to the output goes.
	InputTensor string
}

// TensorInfo describes one input or output of a signature.
type TensorInfo struct {
	// Key is the name in the signature (e.g. "images", "output_0").
	Key string
	// Output is the graph tensor behind it.
	Output tf.Output
	// Shape is the signature's shape; -1 marks an unknown dimension.
	Shape []int64
	// DType is the element type.
	DType tf.DataType
}

// Model is a loaded SavedModel: its graph, a session holding its restored
// variables, and the chosen signature's image input and class-score output.
type Model struct {
	// Dir is the SavedModel directory.
	Dir string
	// Tags are the MetaGraph's tags.
	Tags []string
	// SignatureKey names the signature used.
	SignatureKey string
	// Graph is the loaded graph; tfgraph appends to it (inlined functions,
	// gradients) and the session picks new nodes up on the next run.
	Graph *tf.Graph
	// Session runs Graph with the SavedModel's variables restored.
	Session *tf.Session
	// Input is the image input: the signature's, or for an InputEncoded
	// model the decoded float32 batch inside the forward pass (the cut)
	// under the signature input's key.
	Input TensorInfo
	// InputKind says how tfcam feeds Input (float32, or uint8 through the
	// forward pass).
	InputKind InputKind
	// Encoded is, for an InputEncoded model, the signature's string input;
	// Input is then the decoded batch inside the forward pass.
	Encoded TensorInfo
	// Output is the class-score output (probabilities or logits).
	Output TensorInfo
	// Devices lists what the session can run on.
	Devices []tf.Device

	meta    *corepb.MetaGraphDef
	forward *Forward
	// scores32 is Output cast to float32 (half-precision outputs), made
	// on first use by Predict.
	scores32 tf.Output
	// inputTensor is LoadOptions.InputTensor.
	inputTensor string
	// openInput: the signature leaves H/W open and LoadOptions.InputSize
	// fixed them; the inlined graph reshapes the input to that size.
	openInput bool
	// stop is the stop flag StopCheck reads (made on first use); aborted
	// is set once a run was stopped by it: the Model takes no more runs.
	stopMu  sync.Mutex
	stop    *stopFlag
	noStop  bool // OmitStopChecks
	aborted atomic.Bool
	// abandoned counts runs left to finish on their own after a stop
	// (AbandonAfter); Close then leaves the session to the last of them.
	abandoned atomic.Int32
}

// ReadSavedModelProto parses dir/saved_model.pb.
func ReadSavedModelProto(dir string) (*corepb.SavedModel, error) {
	path := filepath.Join(dir, "saved_model.pb")
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(dir); serr != nil {
				return nil, fmt.Errorf("tfgraph: model directory %s: %w", dir, serr)
			}
			if _, terr := os.Stat(filepath.Join(dir, "saved_model.pbtxt")); terr == nil {
				return nil, fmt.Errorf("tfgraph: %s holds saved_model.pbtxt; tfcam reads binary SavedModels (re-save with tf.saved_model.save or model.export)", dir)
			}
			return nil, fmt.Errorf("tfgraph: %s is not a SavedModel directory (no saved_model.pb); point at the folder written by model.export() or tf.saved_model.save()", dir)
		}
		return nil, fmt.Errorf("tfgraph: %w", err)
	}
	sm := new(corepb.SavedModel)
	if err := proto.Unmarshal(raw, sm); err != nil {
		return nil, fmt.Errorf("tfgraph: %s is not a valid SavedModel: %w", path, err)
	}
	if len(sm.MetaGraphs) == 0 {
		return nil, fmt.Errorf("tfgraph: %s has no MetaGraph", path)
	}
	return sm, nil
}

// chooseMetaGraph picks the MetaGraph the options ask for.
func chooseMetaGraph(dir string, sm *corepb.SavedModel, want []string) (*corepb.MetaGraphDef, error) {
	var all []string
	for _, mg := range sm.MetaGraphs {
		all = append(all, strings.Join(mg.GetMetaInfoDef().GetTags(), ","))
	}
	match := func(mg *corepb.MetaGraphDef, tags []string) bool {
		have := map[string]bool{}
		for _, t := range mg.GetMetaInfoDef().GetTags() {
			have[t] = true
		}
		if len(have) != len(tags) {
			return false
		}
		for _, t := range tags {
			if !have[t] {
				return false
			}
		}
		return true
	}
	if len(want) > 0 {
		for _, mg := range sm.MetaGraphs {
			if match(mg, want) {
				return mg, nil
			}
		}
		return nil, fmt.Errorf("tfgraph: %s has no MetaGraph tagged %q; it has %q (use one of those as --tags)", dir, strings.Join(want, ","), all)
	}
	for _, mg := range sm.MetaGraphs {
		if match(mg, []string{"serve"}) {
			return mg, nil
		}
	}
	if len(sm.MetaGraphs) == 1 {
		return sm.MetaGraphs[0], nil
	}
	return nil, fmt.Errorf("tfgraph: %s has several MetaGraphs %q and none is tagged \"serve\"; choose one with --tags", dir, all)
}

func chooseSignature(dir string, mg *corepb.MetaGraphDef, want string) (string, *corepb.SignatureDef, error) {
	sigs := mg.GetSignatureDef()
	var keys []string
	for k, s := range sigs {
		// "__saved_model_init_op" and friends are not callable signatures.
		if len(s.GetInputs()) > 0 && len(s.GetOutputs()) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if want != "" {
		if s, ok := sigs[want]; ok {
			return want, s, nil
		}
		return "", nil, fmt.Errorf("tfgraph: %s has no signature %q; it has %q (use one as --signature)", dir, want, keys)
	}
	if s, ok := sigs["serving_default"]; ok {
		return "serving_default", s, nil
	}
	if len(keys) == 1 {
		return keys[0], sigs[keys[0]], nil
	}
	if len(keys) == 0 {
		return "", nil, fmt.Errorf("tfgraph: %s has no signature with inputs and outputs; export it with a serving signature (model.export() does)", dir)
	}
	return "", nil, fmt.Errorf("tfgraph: %s has several signatures %q and no serving_default; choose one with --signature", dir, keys)
}

// Load opens the SavedModel in dir, restores its variables into a new
// session and resolves the signature's image input and class-score output.
func Load(dir string, opts LoadOptions) (*Model, error) {
	sm, err := ReadSavedModelProto(dir)
	if err != nil {
		return nil, err
	}
	mg, err := chooseMetaGraph(dir, sm, opts.Tags)
	if err != nil {
		return nil, err
	}
	key, sig, err := chooseSignature(dir, mg, opts.Signature)
	if err != nil {
		return nil, err
	}
	if err := checkVariablesPresent(dir, mg); err != nil {
		return nil, err
	}
	config, err := sessionConfig(opts)
	if err != nil {
		return nil, err
	}
	tags := mg.GetMetaInfoDef().GetTags()
	// TensorFlow starts its thread pools here: they must inherit a mask
	// that blocks asynchronous signals (see cgo.WithoutSignals).
	var sess *tf.SavedModel
	err = cgo.WithoutSignals(func() (err error) {
		sess, err = tf.LoadSavedModel(dir, tags, &tf.SessionOptions{Config: config})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: loading %s (tags %q): %w", dir, tags, err)
	}
	m := &Model{Dir: dir, Tags: tags, SignatureKey: key, Graph: sess.Graph, Session: sess.Session, meta: mg}
	if m.Devices, err = sess.Session.ListDevices(); err != nil {
		m.Close()
		return nil, fmt.Errorf("tfgraph: listing devices: %w", err)
	}
	if opts.Device == DeviceGPU && !m.HasGPU() {
		m.Close()
		return nil, fmt.Errorf("tfgraph: a GPU was requested but TensorFlow sees none (devices: %s); install the GPU build with `make setup GPU=1`, check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu", m.deviceNames())
	}
	if err := m.resolveSignature(sig, opts.Input, opts.Output); err != nil {
		m.Close()
		return nil, err
	}
	size := opts.InputSize
	if size == [2]int{} && len(m.Input.Shape) == 4 && (m.Input.Shape[1] < 0 || m.Input.Shape[2] < 0) {
		size = opts.DefaultInputSize
	}
	if err := m.fixInputSize(size); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.checkVariablesRestored(); err != nil {
		m.Close()
		return nil, err
	}
	if err := m.castScores(); err != nil {
		m.Close()
		return nil, err
	}
	if m.InputKind == InputEncoded {
		m.inputTensor = opts.InputTensor
		if _, err := m.Inline(); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// ErrMissingVariables is returned by Load for a SavedModel whose graph has
// variables but whose folder has no variables/ to restore them from.
var ErrMissingVariables = errors.New("the SavedModel has variables but no variables/ folder")

// checkVariablesPresent refuses a SavedModel whose graph restores
// variables from a variables/ folder that is not there (saved_model.pb
// copied alone): TensorFlow loads it and then fails every run on an
// uninitialised variable.
func checkVariablesPresent(dir string, mg *corepb.MetaGraphDef) error {
	if mg.GetSaverDef().GetRestoreOpName() == "" {
		return nil
	}
	vars := 0
	for _, n := range mg.GetGraphDef().GetNode() {
		if op := n.GetOp(); op == "VarHandleOp" || op == "VariableV2" {
			vars++
		}
	}
	if vars == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "variables", "variables.index")); err == nil {
		return nil
	}
	return fmt.Errorf("tfgraph: %s: %w (%d variables in its graph, no variables/variables.index): it was copied without its variables; copy the whole SavedModel folder", dir, ErrMissingVariables, vars)
}

// checkVariablesRestored catches SavedModels whose serving function reads
// variables that the SavedModel's restore op never fills. tf.saved_model.save
// on a Keras 3 model writes such files: Python's loader copes through the
// object graph, but C++ loaders (the C API, TF Serving) leave those
// variables uninitialised and fail at the first run with "Could not find
// variable". Saying so at load time, with the fix, beats that message.
func (m *Model) checkVariablesRestored() error {
	nodes := map[string]*nodeInputs{}
	for _, n := range m.meta.GetGraphDef().GetNode() {
		nodes[n.GetName()] = &nodeInputs{op: n.GetOp(), inputs: n.GetInput()}
	}
	restore := nodes[m.meta.GetSaverDef().GetRestoreOpName()]
	call := nodes[m.Output.Output.Op.Name()]
	if restore == nil || call == nil {
		return nil
	}
	restored := map[string]bool{}
	for _, in := range restore.inputs {
		name, _ := splitTensorName(strings.TrimPrefix(in, "^"))
		restored[name] = true
	}
	var missing []string
	for _, in := range call.inputs {
		name, _ := splitTensorName(strings.TrimPrefix(in, "^"))
		if n := nodes[name]; n != nil && n.op == "VarHandleOp" && !restored[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 || len(restored) == 0 {
		return nil
	}
	if len(missing) > 3 {
		missing = append(missing[:3], "...")
	}
	return fmt.Errorf("tfgraph: %s: the serving function reads variables %q that the SavedModel's restore op never fills; "+
		"this is what tf.saved_model.save writes for a Keras 3 model, and no C++ loader (tfcam, TF Serving) can run it. "+
		"Re-export the model with model.export(%q) (Keras 3) and point tfcam at that", m.Dir, missing, m.Dir)
}

type nodeInputs struct {
	op     string
	inputs []string
}

func sessionConfig(opts LoadOptions) ([]byte, error) {
	cfg := &corepb.ConfigProto{}
	switch opts.Device {
	case DeviceAuto, DeviceGPU:
	case DeviceCPU:
		cfg.DeviceCount = map[string]int32{"GPU": 0}
	default:
		return nil, fmt.Errorf("tfgraph: unknown device %q (want cpu or gpu)", opts.Device)
	}
	if opts.Threads > 0 {
		cfg.IntraOpParallelismThreads = int32(opts.Threads)
		cfg.InterOpParallelismThreads = int32(opts.Threads)
	}
	// Grow GPU memory as needed rather than grabbing it all: users run
	// tfcam beside other jobs on shared GPU servers.
	cfg.GpuOptions = &corepb.GPUOptions{AllowGrowth: true}
	return proto.Marshal(cfg)
}

// HasGPU reports whether the session sees a GPU.
func (m *Model) HasGPU() bool {
	for _, d := range m.Devices {
		if strings.EqualFold(d.Type, "GPU") {
			return true
		}
	}
	return false
}

func (m *Model) deviceNames() string {
	var names []string
	for _, d := range m.Devices {
		names = append(names, d.Type)
	}
	return strings.Join(names, ", ")
}

func (m *Model) resolveSignature(sig *corepb.SignatureDef, inputKey, outputKey string) error {
	ins, err := m.tensorInfos(sig.GetInputs())
	if err != nil {
		return err
	}
	outs, err := m.tensorInfos(sig.GetOutputs())
	if err != nil {
		return err
	}
	if m.Input, err = m.chooseInput(ins, inputKey); err != nil {
		return err
	}
	if err := m.checkInput(); err != nil {
		return err
	}
	m.Output, err = m.chooseOutput(outs, outputKey)
	return err
}

// tensorInfos resolves a signature's inputs or outputs, sorted by key.
func (m *Model) tensorInfos(tis map[string]*corepb.TensorInfo) ([]TensorInfo, error) {
	var infos []TensorInfo
	for _, k := range sortedKeys(tis) {
		info, err := m.tensorInfo(k, tis[k])
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

func describeAll(ts []TensorInfo) string {
	var out []string
	for _, t := range ts {
		out = append(out, describeTensor(t))
	}
	return strings.Join(out, ", ")
}

// chooseInput picks the image input: the one asked, the only one, or the
// only [N,H,W,C] one. Every other input must have a default, since tfcam
// feeds only images.
func (m *Model) chooseInput(ins []TensorInfo, key string) (TensorInfo, error) {
	var chosen []TensorInfo
	for _, in := range ins {
		if (key != "" && in.Key == key) || (key == "" && (len(ins) == 1 || len(in.Shape) == 4)) {
			chosen = append(chosen, in)
		}
	}
	switch {
	case key != "" && len(chosen) == 0:
		return TensorInfo{}, fmt.Errorf("tfgraph: signature %q of %s has no input %q; its inputs are %s (%w: %w)", m.SignatureKey, m.Dir, key, describeAll(ins), ErrUnsupportedInput, ErrInputChoice)
	case len(chosen) != 1:
		return TensorInfo{}, fmt.Errorf("tfgraph: signature %q of %s has inputs %s and tfcam cannot tell which is the image batch; name it (LoadOptions.Input) (%w: %w)", m.SignatureKey, m.Dir, describeAll(ins), ErrUnsupportedInput, ErrInputChoice)
	}
	var undefaulted []TensorInfo
	for _, in := range ins {
		if in.Key != chosen[0].Key && in.Output.Op.Type() != "PlaceholderWithDefault" {
			undefaulted = append(undefaulted, in)
		}
	}
	if len(undefaulted) > 0 {
		return TensorInfo{}, fmt.Errorf("tfgraph: signature %q of %s also takes %s, which have no default value; tfcam feeds only the image input %q. "+
			"Export a signature that takes only the image (e.g. a tf.function that fixes the other inputs, or tf.compat.v1.placeholder_with_default for them): %w",
			m.SignatureKey, m.Dir, describeAll(undefaulted), chosen[0].Key, ErrUnsupportedInput)
	}
	return chosen[0], nil
}

// checkInput sets InputKind, refusing inputs tfcam cannot feed.
func (m *Model) checkInput() error {
	in := m.Input
	switch {
	case len(in.Shape) == 4 && in.DType == tf.Float:
		m.InputKind = InputFloat32
		return nil
	case len(in.Shape) == 4 && in.DType == tf.Uint8:
		m.InputKind = InputUint8
		return nil
	case len(in.Shape) <= 1 && in.DType == tf.String:
		m.InputKind = InputEncoded
		return nil
	}
	return fmt.Errorf("tfgraph: input %s of %s is not an image batch tfcam can feed; it needs float32 or uint8 [N,H,W,C] (channels-last): %w", describeTensor(in), m.Dir, ErrUnsupportedInput)
}

// chooseOutput picks the class-score output: the one asked, or the only
// float [N,classes] one.
func (m *Model) chooseOutput(outs []TensorInfo, key string) (TensorInfo, error) {
	fail := func(why string) (TensorInfo, error) {
		return TensorInfo{}, &OutputChoiceError{Dir: m.Dir, Signature: m.SignatureKey, Asked: key, Outputs: outs, Why: why}
	}
	scores := func(o TensorInfo) bool { return len(o.Shape) == 2 && isFloatDType(o.DType) }
	if key != "" {
		for _, o := range outs {
			if o.Key != key {
				continue
			}
			// Asked by key, any float per-image output is taken: a
			// segmentation [N,H',W',C] or regression [N] output is
			// explained through an objective (explainer.Objective), which
			// checks its shape; class scores still need [N,classes].
			if len(o.Shape) < 1 || !isFloatDType(o.DType) {
				return fail(fmt.Sprintf("output %s is not a float per-image output [N,...]", describeTensor(o)))
			}
			return o, nil
		}
		return fail(fmt.Sprintf("there is no output %q", key))
	}
	var chosen []TensorInfo
	for _, o := range outs {
		if scores(o) {
			chosen = append(chosen, o)
		}
	}
	switch len(chosen) {
	case 1:
		return chosen[0], nil
	case 0:
		return fail("no output is class scores [N,classes] of a float type")
	}
	return fail(fmt.Sprintf("%d outputs could be class scores", len(chosen)))
}

func (m *Model) tensorInfo(key string, ti *corepb.TensorInfo) (TensorInfo, error) {
	name := ti.GetName()
	opName, idx := splitTensorName(name)
	op := m.Graph.Operation(opName)
	if op == nil {
		return TensorInfo{}, fmt.Errorf("tfgraph: signature tensor %q (%s) is not in the graph of %s", key, name, m.Dir)
	}
	info := TensorInfo{Key: key, Output: op.Output(idx), DType: tf.DataType(ti.GetDtype())}
	if s := ti.GetTensorShape(); s != nil && !s.GetUnknownRank() {
		for _, d := range s.GetDim() {
			info.Shape = append(info.Shape, d.GetSize())
		}
	}
	return info, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fixInputSize applies LoadOptions.InputSize.
func (m *Model) fixInputSize(size [2]int) error {
	h, w := size[0], size[1]
	if h == 0 && w == 0 {
		return nil
	}
	if h <= 0 || w <= 0 {
		return fmt.Errorf("tfgraph: input size height %d, width %d: both must be positive", h, w)
	}
	shape := append([]int64(nil), m.Input.Shape...)
	if len(shape) != 4 {
		return fmt.Errorf("tfgraph: input of %s has shape %v, not [N,H,W,C]; an input size does not apply", m.Dir, shape)
	}
	if shape[3] < 0 {
		return fmt.Errorf("tfgraph: input of %s has shape %v: its channel count is open too; tfcam needs it fixed", m.Dir, shape)
	}
	if (shape[1] >= 0 && shape[1] != int64(h)) || (shape[2] >= 0 && shape[2] != int64(w)) {
		return fmt.Errorf("tfgraph: %s takes images of height %d and width %d, not height %d and width %d as asked; leave the size out", m.Dir, shape[1], shape[2], h, w)
	}
	if shape[1] < 0 || shape[2] < 0 {
		m.openInput = true
	}
	shape[1], shape[2] = int64(h), int64(w)
	m.Input.Shape = shape
	return nil
}

// InputSize returns the model's fixed input height, width and channels, or
// -1 for dimensions the signature leaves open.
func (m *Model) InputSize() (h, w, c int) {
	return int(m.Input.Shape[1]), int(m.Input.Shape[2]), int(m.Input.Shape[3])
}

// ErrClosed is returned by a run on a closed Model.
var ErrClosed = errors.New("model is closed")

// Close releases the session. A run afterwards returns ErrClosed.
//
// After a stopped run was abandoned (AbandonAfter), Close returns at
// once: the session is closed when that run ends, as closing it earlier
// would wait for it.
func (m *Model) Close() error {
	if m.Session == nil {
		return nil
	}
	s := m.Session
	m.Session = nil
	if m.abandoned.Load() > 0 {
		go s.Close() // waits for the abandoned runs (graft's Session.Close)
		return nil
	}
	return s.Close()
}

// Predict runs the signature on a batch [n,h,w,c] given as a flat slice and
// returns the output [n,classes] flattened, with the class count.
func (m *Model) Predict(ctx context.Context, batch []float32, n int) ([]float32, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	in, err := m.batchTensor(batch, n)
	if err != nil {
		return nil, 0, err
	}
	res, err := m.run(ctx, map[tf.Output]*tf.Tensor{m.Input.Output: in}, []tf.Output{m.scoresFloat32()})
	if err != nil {
		return nil, 0, fmt.Errorf("tfgraph: running %s: %w", m.Dir, err)
	}
	defer cgo.DeleteTensors(res)
	out, err := Float32s(res[0])
	if err != nil {
		return nil, 0, err
	}
	shape := res[0].Shape()
	if len(shape) != 2 {
		return nil, 0, fmt.Errorf("tfgraph: output of %s has shape %v, want [N,classes]", m.Dir, shape)
	}
	return out, int(shape[1]), nil
}

// AbandonAfter is how long a run marked AbortOnCancel may take to end
// once its context is cancelled and the stop flag raised. A run that
// has not reached a StopCheck by then — TensorFlow is still preparing a
// large graph for its first run (Grappler, executors: a minute for a
// graph of hundreds of chunks), or a chunk is long — is abandoned: run
// returns ErrAborted at once and the run ends on its own in the
// background, its results dropped. A process that exits then does not
// wait for it.
const AbandonAfter = 3 * time.Second

// run is Session.Run with asynchronous signals blocked on the calling
// thread, so that any thread TensorFlow starts during the run (the first
// run builds executors and may start pools) inherits that mask too. It
// takes the feeds: they are deleted when the run ends. The caller
// deletes the results.
func (m *Model) run(ctx context.Context, feeds map[tf.Output]*tf.Tensor, fetches []tf.Output) ([]*tf.Tensor, error) {
	deleteFeeds := func() {
		for _, t := range feeds {
			cgo.DeleteTensor(t)
		}
	}
	if m.Session == nil {
		deleteFeeds()
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrClosed)
	}
	if m.aborted.Load() {
		deleteFeeds()
		return nil, fmt.Errorf("tfgraph: %s: %w", m.Dir, ErrAborted)
	}
	session := m.Session
	type result struct {
		res []*tf.Tensor
		err error
	}
	done := make(chan result, 1)
	do := func() {
		var r result
		r.err = cgo.WithoutSignals(func() (err error) {
			r.res, err = session.Run(feeds, fetches, nil)
			return err
		})
		deleteFeeds()
		done <- r
	}
	if !abortable(ctx) {
		do()
		r := <-done
		return r.res, r.err
	}
	unwatch := context.AfterFunc(ctx, m.raiseStop)
	defer unwatch()
	go do()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done:
		case <-time.After(AbandonAfter):
			m.abandoned.Add(1)
			go func() {
				r := <-done
				cgo.DeleteTensors(r.res)
				m.abandoned.Add(-1)
			}()
			return nil, fmt.Errorf("%w (%w; abandoned %v after the stop, before the graph reached a stop check)", ErrAborted, context.Cause(ctx), AbandonAfter)
		}
	}
	if r.err != nil && m.aborted.Load() && strings.Contains(r.err.Error(), stopMessage) {
		return nil, fmt.Errorf("%w (%w)", ErrAborted, context.Cause(ctx))
	}
	return r.res, r.err
}

// batchTensor checks a flat batch against the input signature and wraps it.
func (m *Model) batchTensor(batch []float32, n int) (*tf.Tensor, error) {
	h, w, c := m.InputSize()
	if h <= 0 || w <= 0 || c <= 0 {
		return nil, fmt.Errorf("tfgraph: input of %s has open spatial size %v; give one (LoadOptions.InputSize, tfcam --size)", m.Dir, m.Input.Shape)
	}
	if n <= 0 || len(batch) != n*h*w*c {
		return nil, fmt.Errorf("tfgraph: batch of %d values is not %d images of %dx%dx%d", len(batch), n, h, w, c)
	}
	if m.InputKind == InputUint8 {
		return newUint8(m.RoundPixels(batch), int64(n), int64(h), int64(w), int64(c))
	}
	return NewFloat32(batch, int64(n), int64(h), int64(w), int64(c))
}

// splitTensorName splits "op:1" into ("op", 1); "op" means output 0.
func splitTensorName(name string) (string, int) {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		var idx int
		if _, err := fmt.Sscanf(name[i+1:], "%d", &idx); err == nil {
			return name[:i], idx
		}
	}
	return name, 0
}

// Feed is one input of a run: a flat slice and its shape.
type Feed struct {
	// F32 or I32 holds the values (exactly one is set).
	F32 []float32
	I32 []int32
	// Shape is the tensor shape.
	Shape []int64
}

// Run feeds inputs, fetches float32 outputs as flat slices, and frees every
// tensor it made before returning.
func (m *Model) Run(ctx context.Context, feeds map[tf.Output]Feed, fetches []tf.Output) ([][]float32, error) {
	out, _, err := m.RunMixed(ctx, feeds, fetches, nil)
	return out, err
}

// RunMixed is Run with int32 fetches too, all in one Session.Run.
func (m *Model) RunMixed(ctx context.Context, feeds map[tf.Output]Feed, floats, ints []tf.Output) ([][]float32, [][]int32, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	in := make(map[tf.Output]*tf.Tensor, len(feeds))
	for o, f := range feeds {
		var t *tf.Tensor
		var err error
		if f.I32 != nil {
			t, err = NewInt32(f.I32, f.Shape...)
		} else {
			t, err = NewFloat32(f.F32, f.Shape...)
		}
		if err != nil {
			for _, t := range in {
				cgo.DeleteTensor(t)
			}
			return nil, nil, fmt.Errorf("tfgraph: feeding %s: %w", o.Op.Name(), err)
		}
		in[o] = t
	}
	res, err := m.run(ctx, in, append(append([]tf.Output{}, floats...), ints...))
	if err != nil {
		return nil, nil, fmt.Errorf("tfgraph: running %s: %w", m.Dir, err)
	}
	defer cgo.DeleteTensors(res)
	fo := make([][]float32, len(floats))
	for i := range floats {
		if fo[i], err = Float32s(res[i]); err != nil {
			return nil, nil, fmt.Errorf("tfgraph: fetching %s: %w", floats[i].Op.Name(), err)
		}
	}
	io := make([][]int32, len(ints))
	for i := range ints {
		if io[i], err = Int32s(res[len(floats)+i]); err != nil {
			return nil, nil, fmt.Errorf("tfgraph: fetching %s: %w", ints[i].Op.Name(), err)
		}
	}
	return fo, io, nil
}
