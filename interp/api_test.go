package interp

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// A small fake script API, shaped like the kernel's: Object is a value
// type whose methods send messages that call back into compiled methods.

type world struct {
	c *Compiler
	g *Guard // the guard of the evaluation in progress (one goroutine per world)
}

type obj struct {
	mu      sync.Mutex
	slots   map[string]any
	methods map[string]string // selector → source
}

// Object is the fake receiver type.
type Object struct {
	w *world
	o *obj
}

func (o Object) Get(name string) any {
	o.o.mu.Lock()
	defer o.o.mu.Unlock()
	return o.o.slots[name]
}

func (o Object) Set(name string, v any) {
	o.o.mu.Lock()
	defer o.o.mu.Unlock()
	o.o.slots[name] = v
}

func (o Object) Define(sel, src string) {
	o.o.mu.Lock()
	defer o.o.mu.Unlock()
	o.o.methods[sel] = src
}

func (o Object) Lobby() Object     { return o }
func (o Object) NewObject() Object { return newObject(o.w) }

func (o Object) Send(sel string, args ...any) any {
	g := o.w.g
	g.Enter()
	defer g.Leave()
	o.o.mu.Lock()
	src, ok := o.o.methods[sel]
	o.o.mu.Unlock()
	if !ok {
		panic(fmt.Errorf("%w: %s", errNotUnderstood, sel))
	}
	m, err := o.w.c.Compile(sel, src)
	if err != nil {
		panic(err)
	}
	r, err := m.Call(g, o, args)
	if err != nil {
		panic(err)
	}
	return r
}

var errNotUnderstood = fmt.Errorf("not understood")

func newObject(w *world) Object {
	return Object{w: w, o: &obj{slots: map[string]any{}, methods: map[string]string{}}}
}

func testExports() map[string]map[string]reflect.Value {
	return map[string]map[string]reflect.Value{
		"batos/script/script": {"Object": reflect.ValueOf((*Object)(nil))},
	}
}

func testConfig() Config {
	return Config{
		Exports:      testExports(),
		APIPackage:   "batos/script",
		ReceiverType: "Object",
		Contextual:   map[string]string{"Lobby": "self.Lobby()", "NewObject": "self.NewObject"},
	}
}

var (
	sharedOnce sync.Once
	shared     *Compiler
)

// sharedCompiler is one compiler for tests that do not count compiles.
func sharedCompiler(t testing.TB) *Compiler {
	sharedOnce.Do(func() {
		c, err := NewCompiler(testConfig())
		if err != nil {
			t.Fatal(err)
		}
		shared = c
	})
	return shared
}

func newGuard(t testing.TB, l Limits) *Guard {
	g := NewGuard(context.Background(), l)
	t.Cleanup(g.Release)
	return g
}

// callSrc compiles src as selector and calls it on a fresh object.
func callSrc(t testing.TB, c *Compiler, g *Guard, selector, src string, args ...any) (any, error) {
	t.Helper()
	m, err := c.Compile(selector, src)
	if err != nil {
		t.Fatalf("compile %s: %v", selector, err)
	}
	w := &world{c: c, g: g}
	return m.Call(g, newObject(w), args)
}

func shortLimits() Limits { return Limits{Deadline: 300 * time.Millisecond} }

func sprint(v any) string { return fmt.Sprint(v) }
