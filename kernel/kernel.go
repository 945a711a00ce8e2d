package kernel

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"

	"batos"
	"batos/image"
	"batos/interp"
)

// Options configures Open. The zero value opens an image with the embedded
// codex and logs under DIR/logs.
type Options struct {
	// Codex replaces the embedded codex_seed.json for the awakening of an
	// empty image. CodexName names it in errors.
	Codex     []byte
	CodexName string
	// Logger, when set, replaces the JSON log file under DIR/logs.
	Logger *slog.Logger
	// MaxVersions bounds compiled method versions per interpreter
	// (see interp.Config.MaxVersions); zero keeps interp's default.
	MaxVersions int
	// Store, when set, is the image to run instead of the one in dir,
	// which then only names it (a sandbox child runs a view:
	// image.OpenView). Close closes it.
	Store *image.Store
	// Compiler, when set, is the method compiler, made by NewCompiler
	// ahead of Open (a sandbox child makes one while it waits for its
	// request); MaxVersions is then its own.
	Compiler *interp.Compiler
}

// Kernel is a running image: the store, the method compiler, the lookup
// cache, the primitives and the event bus. It is safe for concurrent use by
// many sessions.
type Kernel struct {
	store    *image.Store
	compiler *interp.Compiler
	bus      *Bus
	log      *slog.Logger
	logFile  io.Closer

	prims map[string]Primitive // fixed after Open, except through RegisterPrimitive before use

	cache  lookupCache
	legacy legacyAuthors
	policy policyCache
	// shapeEpoch counts committed shape changes; shapeWriters counts shape
	// changes being committed right now. See lookupCache for the protocol.
	shapeEpoch   atomic.Uint64
	shapeWriters atomic.Int32
	// applyMu orders the kernel's transactions' places on the bus as
	// their TxIDs (txn.apply).
	applyMu sync.Mutex

	mu struct {
		sync.Mutex // guards prims' replacement in RegisterPrimitive
	}
}

// Open opens the image in dir, creating it if dir is missing or empty (a
// folder holding anything but an image is refused untouched: see
// image.Open). An empty image is awakened from the codex; otherwise the
// image is loaded lazily as it is. The log folder (dir/logs) is created
// only once the image is open.
func Open(dir string, opts *Options) (*Kernel, error) {
	if opts == nil {
		opts = &Options{}
	}
	var err error
	st := opts.Store
	if st == nil {
		if st, err = image.Open(dir, &image.Options{Create: true}); err != nil {
			return nil, err
		}
	}
	k := &Kernel{store: st, bus: newBus()}
	k.log, k.logFile, err = openLog(dir, opts.Logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	k.prims = defaultPrimitives()
	k.compiler = opts.Compiler
	if k.compiler == nil {
		k.compiler, err = NewCompiler(opts.MaxVersions)
	}
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("open image %s: %w", dir, err)
	}
	if st.Empty() && opts.Store != nil {
		k.Close()
		return nil, fmt.Errorf("open image %s: the store given is empty", dir)
	}
	if st.Empty() {
		src, name := opts.Codex, opts.CodexName
		if src == nil {
			src, name = batos.CodexSeed, "codex_seed.json"
		}
		if name == "" {
			name = "codex"
		}
		if err := k.awaken(src, name); err != nil {
			k.Close()
			return nil, err
		}
	}
	k.log.Info("image opened", "dir", dir, "lastTx", uint64(st.LastTx()))
	return k, nil
}

// NewCompiler returns a method compiler for Options.Compiler, set up as
// Open sets up its own.
func NewCompiler(maxVersions int) (*interp.Compiler, error) {
	return interp.NewCompiler(interp.Config{
		Exports:      scriptExports(),
		APIPackage:   scriptPackage,
		ReceiverType: "Object",
		Contextual:   map[string]string{"Lobby": "self.Lobby()", "NewObject": "self.NewObject"},
		MaxVersions:  maxVersions,
		Direct:       directMethods,
	})
}

// Close closes the image. Sessions must not be used afterwards.
func (k *Kernel) Close() error {
	k.bus.close()
	err := k.store.Close()
	if k.logFile != nil {
		k.logFile.Close()
	}
	return err
}

// Store returns the underlying image for history, pack and check. Writes
// must go through sessions so that the lookup cache and the bus see them.
func (k *Kernel) Store() *image.Store { return k.store }

// Bus returns the kernel's event bus.
func (k *Kernel) Bus() *Bus { return k.bus }

// Logger returns the kernel's structured logger.
func (k *Kernel) Logger() *slog.Logger { return k.log }

// Compiler returns the method compiler (for tools that validate source
// without installing it).
func (k *Kernel) Compiler() *interp.Compiler { return k.compiler }

// RegisterPrimitive makes a native behaviour available under name. Slots
// refer to primitives by name, so an image written by a build with more
// primitives still opens; sending a missing one is an error.
func (k *Kernel) RegisterPrimitive(name string, fn Primitive) {
	k.mu.Lock()
	defer k.mu.Unlock()
	prims := make(map[string]Primitive, len(k.prims)+1)
	for n, p := range k.prims {
		prims[n] = p
	}
	prims[name] = fn
	k.prims = prims
}

func (k *Kernel) primitive(name string) (Primitive, bool) {
	k.mu.Lock()
	p, ok := k.prims[name]
	k.mu.Unlock()
	return p, ok
}

// Undo undoes transaction id as a new transaction by principal and
// publishes it like any other commit.
func (k *Kernel) Undo(id image.TxID, principal string) (image.TxInfo, error) {
	k.beginShapeChange()
	info, err := k.store.Undo(id, principal)
	k.endShapeChange()
	if err != nil {
		return info, err
	}
	k.bus.publish(k.eventFromRevisions(info))
	k.log.Info("undo", "tx", uint64(id), "newTx", uint64(info.ID), "principal", principal)
	return info, nil
}

func openLog(dir string, l *slog.Logger) (*slog.Logger, io.Closer, error) {
	if l != nil {
		return l, nil, nil
	}
	logDir := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("open image %s: logs: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(logDir, "batos.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open image %s: logs: %w", dir, err)
	}
	return slog.New(slog.NewJSONHandler(f, nil)), f, nil
}

// scriptPackage is the import path under which scripts see the kernel's
// API unqualified (Object and its methods).
const scriptPackage = "batos/script"

func scriptExports() map[string]map[string]reflect.Value {
	return map[string]map[string]reflect.Value{
		scriptPackage + "/script": {
			"Object": reflect.ValueOf((*Object)(nil)),
		},
	}
}

// directMethods are the script API's hot methods as native entries for
// interpreted code (interp.DirectMethod): a send from a method is then one
// Go call instead of a call through reflect.
var directMethods = []interp.DirectMethod{
	{Type: objectType, Name: "Send", Call: func(recv reflect.Value, in []reflect.Value) reflect.Value {
		o := receiver(recv)
		v, err := o.session().sendValues(recv, o.oid, in[0].String(), in[1:])
		if err != nil {
			panic(err)
		}
		if !v.IsValid() {
			v = reflect.Zero(anyType)
		}
		return v
	}},
	{Type: objectType, Name: "Get", Call: func(recv reflect.Value, in []reflect.Value) reflect.Value {
		return anyResult(receiver(recv).Get(in[0].String()))
	}},
	{Type: objectType, Name: "Set", Call: func(recv reflect.Value, in []reflect.Value) reflect.Value {
		receiver(recv).Set(in[0].String(), in[1].Interface())
		return reflect.Value{}
	}},
}

// receiver is the Object a direct method is called on (without the
// allocation of Value.Interface).
func receiver(v reflect.Value) Object {
	o, _ := reflect.TypeAssert[Object](v)
	return o
}

// anyResult is a method's result of type any as the interpreter takes it:
// the value itself (a Value of its dynamic type, which the interpreter
// assigns to the any it expects without copying), or any's zero.
func anyResult(v any) reflect.Value {
	if v == nil {
		return reflect.Zero(anyType)
	}
	return reflect.ValueOf(v)
}

var anyType = reflect.TypeFor[any]()
