package pllm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"

	"batos/image"
	"batos/interp"
	"batos/kernel"
)

// mandate is what the model is told about a missing method.
type mandate struct {
	Receiver  string
	Slots     string
	Parents   string
	Methods   string
	Selector  string
	Arguments string
	Params    string // a suggested parameter list: (self Object, a0 int, ...)
	Failures  string
	Purpose   string // why the method is wanted, when the asker says
	// Path is how the receiver is reached from Lobby ("Lobby.rect"),
	// when it is reachable (Receiver then starts with it); Origin is the source that made the send (an
	// input, or the calling method); Docs lists the methods on the
	// receiver's chain by signature and doc comment. Each is left empty
	// when Lobby.pLLM.context switches it off.
	Path   string
	Origin string
	Docs   string
}

// Limits on the context, so that a large image cannot overflow the
// model's context window.
const (
	maxMethodSource = 1500
	maxMethodsText  = 8000
	maxDocsText     = 3000
	maxChain        = 16
	maxOriginText   = 1500
	// maxPathSearch bounds the objects visited to find how the receiver
	// is reached: a receiver deeper than that is described by its id.
	maxPathSearch = 5000
)

func buildMandate(s *kernel.Session, self kernel.Object, sel string, args []any, cx contextParts) (mandate, error) {
	m, err := buildMandateWithout(s, self, sel, args, "", cx)
	if err != nil {
		return m, err
	}
	if cx.path {
		m.reachedAs(pathTo(s, self.OID()))
	}
	return m, nil
}

// reachedAs names the receiver by the way it is reached from Lobby,
// keeping its description: "Lobby.rect (rect, object 13)".
func (m *mandate) reachedAs(path string) {
	if path == "" {
		return
	}
	m.Path = path
	if path == m.Receiver {
		return
	}
	// Describe says "object 13" or "rect (object 13)".
	name, id, named := strings.Cut(strings.TrimSuffix(m.Receiver, ")"), " (")
	switch {
	case !named:
		m.Receiver = fmt.Sprintf("%s (%s)", path, m.Receiver)
	case strings.HasSuffix(path, "."+name):
		m.Receiver = fmt.Sprintf("%s (%s)", path, id)
	default:
		m.Receiver = fmt.Sprintf("%s (%s, %s)", path, name, id)
	}
}

// buildMandateWithout leaves the receiver's own slot skip out of the
// context.
func buildMandateWithout(s *kernel.Session, self kernel.Object, sel string, args []any, skip string, cx contextParts) (mandate, error) {
	m := mandate{Receiver: s.Describe(self.OID()), Selector: sel}
	slots, err := s.SlotsOf(self.OID())
	if err != nil {
		return m, err
	}
	var b strings.Builder
	for _, sl := range slots {
		if skip != "" && sl.Name == skip {
			continue
		}
		switch sl.Kind {
		case image.SlotData:
			fmt.Fprintf(&b, "  %s %s = %s\n", sl.Name, goType(sl.Value), abbreviate(s.Format(sl.Value), 80))
		case image.SlotParent:
			fmt.Fprintf(&b, "  %s (parent) → %s\n", sl.Name, describeRef(s, sl.Value))
		case image.SlotMethod:
			fmt.Fprintf(&b, "  %s (method)\n", sl.Name)
		case image.SlotPrimitive:
			fmt.Fprintf(&b, "  %s (primitive)\n", sl.Name)
		}
	}
	m.Slots = b.String()

	chain, err := s.Chain(self.OID())
	if err != nil {
		return m, err
	}
	if len(chain) > maxChain {
		chain = chain[:maxChain]
	}
	var parents []string
	var methods, docs strings.Builder
	for i, oid := range chain {
		if i > 0 {
			parents = append(parents, s.Describe(oid))
		}
		slots, err := s.SlotsOf(oid)
		if err != nil {
			return m, err
		}
		for _, sl := range slots {
			if i == 0 && skip != "" && sl.Name == skip {
				continue
			}
			meth, ok := sl.Value.(image.Method)
			if !ok {
				continue
			}
			if methods.Len() < maxMethodsText {
				fmt.Fprintf(&methods, "// on %s\n%s\n\n", s.Describe(oid), truncate(meth.Source, maxMethodSource))
			}
			if cx.docs && docs.Len() < maxDocsText {
				docs.WriteString(docLine(s.Describe(oid), sl.Name, meth.Source))
			}
		}
	}
	m.Parents = strings.Join(parents, " → ")
	if m.Parents == "" {
		m.Parents = "(none)"
	}
	m.Methods = methods.String()
	m.Docs = docs.String()
	if m.Methods == "" {
		m.Methods = "(none)\n"
	}

	var argText, params []string
	params = append(params, "self Object")
	for i, a := range args {
		if cx.values {
			argText = append(argText, fmt.Sprintf("%s = %s", goType(a), abbreviate(s.Format(a), 80)))
		} else {
			argText = append(argText, goType(a))
		}
		params = append(params, fmt.Sprintf("a%d %s", i, goType(a)))
	}
	m.Arguments = strings.Join(argText, ", ")
	if m.Arguments == "" {
		m.Arguments = "(none)"
	}
	m.Params = "(" + strings.Join(params, ", ") + ")"
	return m, nil
}

func describeRef(s *kernel.Session, v any) string {
	if ref, ok := v.(image.Ref); ok {
		return s.Describe(ref.OID)
	}
	return fmt.Sprint(v)
}

// goType names a value's type the way a method would declare it.
func goType(v any) string {
	switch v.(type) {
	case nil:
		return "any"
	case kernel.Object, image.Ref:
		return "Object"
	case []any:
		return "[]any"
	case map[string]any:
		return "map[string]any"
	}
	return fmt.Sprintf("%T", v)
}

// defaultTemplate is used when Lobby.pLLM.dnuTemplate is missing or does
// not parse.
const defaultTemplate = `You are writing one missing method for a live Go object system.
Receiver: {{.Receiver}}
Slots:
{{.Slots}}Parent chain: {{.Parents}}
Existing methods:
{{.Methods}}Selector: {{.Selector}}
Arguments: {{.Arguments}}
Previous failures:
{{.Failures}}
Answer with exactly one Go function declaration named {{.Selector}} whose first parameter is ` + "`self Object`" + `, in a ` + "```go" + ` fence. If the method is shared behaviour that belongs on a parent, put the line ` + "`// batos:install-on NAME`" + ` (NAME: the parent's slot or name) before the func.`

// render fills the template; the parameter hint is always appended so
// that even a user's template states the signature the send needs.
func (m mandate) render(tmpl string) string {
	t, err := parsedTemplate(tmpl)
	if tmpl == "" || err != nil {
		t, _ = parsedTemplate(defaultTemplate)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		b.Reset()
		template.Must(template.New("dnu").Parse(defaultTemplate)).Execute(&b, m)
	}
	callee := m.Receiver
	if m.Path != "" {
		callee = m.Path
	}
	fmt.Fprintf(&b, "\nThe method is called as %s.Send(%q, ...) with the arguments above; a fitting signature is func %s%s.\n"+
		"Methods see self.Get, self.Set, self.Send, self.Clone, self.Define, self.Slots, Lobby and NewObject(); the standard library packages strings, strconv, math, sort, slices, maps, fmt, errors, unicode, bytes, regexp and encoding/json are available without imports. No goroutines, channels, os, net or unsafe.\n",
		callee, m.Selector, m.Selector, m.Params)
	if m.Origin != "" {
		fmt.Fprintf(&b, "The send was made by %s\n", m.Origin)
	}
	if m.Docs != "" {
		fmt.Fprintf(&b, "Methods the receiver already answers (signature, then doc comment):\n%s", m.Docs)
	}
	if m.Purpose != "" {
		fmt.Fprintf(&b, "What the method is for: %s\n", m.Purpose)
	}
	return b.String()
}

// contextParts says which optional parts of the context the model is
// told (Lobby.pLLM.context; every part is on by default): how the
// receiver is reached, the source that made the send, the arguments'
// values besides their types, the methods' signatures and doc comments,
// and the Object API reference in the system prompt.
type contextParts struct {
	path, origin, values, docs, api bool
}

// ContextParts names the parts of Lobby.pLLM.context, in the order the
// bench reports them.
var ContextParts = []string{"path", "origin", "values", "docs", "api"}

func readContextParts(v any) contextParts {
	cx := contextParts{true, true, true, true, true}
	m, _ := v.(map[string]any)
	for k, on := range m {
		b, ok := on.(bool)
		if !ok {
			continue
		}
		switch k {
		case "path":
			cx.path = b
		case "origin":
			cx.origin = b
		case "values":
			cx.values = b
		case "docs":
			cx.docs = b
		case "api":
			cx.api = b
		}
	}
	return cx
}

// pathTo says how oid is reached from Lobby through data and parent
// slots and lists ("Lobby.shapes[2].origin"), breadth first, so the
// shortest way; "" when it is not reached within maxPathSearch objects.
func pathTo(s *kernel.Session, oid image.OID) string {
	if oid == image.RootOID {
		return "Lobby"
	}
	paths := map[image.OID]string{image.RootOID: "Lobby"}
	queue := []image.OID{image.RootOID}
	for len(queue) > 0 && len(paths) < maxPathSearch {
		at := queue[0]
		queue = queue[1:]
		slots, err := s.SlotsOf(at)
		if err != nil {
			continue
		}
		for _, sl := range slots {
			var found bool
			visit := func(ref image.Ref, path string) {
				if _, seen := paths[ref.OID]; seen || found {
					return
				}
				paths[ref.OID] = path
				queue = append(queue, ref.OID)
				found = ref.OID == oid
			}
			switch v := sl.Value.(type) {
			case image.Ref:
				visit(v, paths[at]+"."+sl.Name)
			case []any:
				for i, e := range v {
					if ref, ok := e.(image.Ref); ok {
						visit(ref, fmt.Sprintf("%s.%s[%d]", paths[at], sl.Name, i))
					}
				}
			case map[string]any:
				for _, k := range sortedKeys(v) {
					if ref, ok := v[k].(image.Ref); ok {
						visit(ref, fmt.Sprintf("%s.%s[%q]", paths[at], sl.Name, k))
					}
				}
			}
			if found {
				return paths[oid]
			}
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parsedTemplate parses a prompt template once per text: the image's
// template is rendered for every attempt of every generation.
func parsedTemplate(text string) (*template.Template, error) {
	templates.Lock()
	defer templates.Unlock()
	if e, ok := templates.m[text]; ok {
		return e.t, e.err
	}
	t, err := template.New("dnu").Parse(text)
	if templates.m == nil || len(templates.m) >= 64 {
		templates.m = map[string]parsed{}
	}
	templates.m[text] = parsed{t, err}
	return t, err
}

type parsed struct {
	t   *template.Template
	err error
}

// templates memoizes parsedTemplate; emptied when it holds 64.
var templates struct {
	sync.Mutex
	m map[string]parsed
}

// signature is method sel's signature as its source src declares it
// (just sel when it does not parse). Sources are parsed once: every
// generation lists every method on the receiver's chain.
func signature(sel, src string) string {
	key := [2]string{sel, src}
	signatures.Lock()
	sig, ok := signatures.m[key]
	signatures.Unlock()
	if ok {
		return sig
	}
	sig = sel
	if parsed, err := interp.ParseMethod(sel, src); err == nil {
		params := []string{"self Object"}
		for _, p := range parsed.Params {
			params = append(params, p.Name+" "+p.Type)
		}
		sig = fmt.Sprintf("func %s(%s)", sel, strings.Join(params, ", "))
		switch len(parsed.Results) {
		case 0:
		case 1:
			sig += " " + parsed.Results[0]
		default:
			sig += " (" + strings.Join(parsed.Results, ", ") + ")"
		}
	}
	signatures.Lock()
	if signatures.m == nil || len(signatures.m) >= maxSignatures {
		signatures.m = map[[2]string]string{}
	}
	signatures.m[key] = sig
	signatures.Unlock()
	return sig
}

// signatures memoizes signature; it is emptied when it holds
// maxSignatures, which only costs parses.
var signatures struct {
	sync.Mutex
	m map[[2]string]string
}

const maxSignatures = 4096

// docLine is one method of the chain as the context lists it: its
// signature and its doc comment, on one line.
func docLine(holder, sel, src string) string {
	var doc []string
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "func ") {
			break
		}
		if c, ok := strings.CutPrefix(t, "//"); ok {
			if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "batos:") {
				doc = append(doc, c)
			}
		}
	}
	line := fmt.Sprintf("  %s (on %s)", abbreviate(signature(sel, src), 160), holder)
	if len(doc) > 0 {
		line += " — " + abbreviate(strings.Join(doc, " "), 160)
	}
	return line + "\n"
}

// origin describes where a send was made: the calling method's source, or
// the input at the top level of an entry; "" when neither is known.
func origin(s *kernel.Session) string {
	holder, sel, entry := s.Origin()
	if sel != "" {
		slots, err := s.SlotsOf(holder)
		if err == nil {
			for _, sl := range slots {
				if meth, ok := sl.Value.(image.Method); ok && sl.Name == sel {
					return fmt.Sprintf("method %s on %s:\n%s\n", sel, s.Describe(holder), truncate(meth.Source, maxOriginText))
				}
			}
		}
		return fmt.Sprintf("method %s on %s.\n", sel, s.Describe(holder))
	}
	if strings.TrimSpace(entry) != "" {
		return fmt.Sprintf("this input:\n%s\n", truncate(strings.TrimSpace(entry), maxOriginText))
	}
	return ""
}

// apiReference is the Object API with an example each, added to the
// system prompt when Lobby.pLLM.context's api part is on.
const apiReference = `The Object API a method uses (self is an Object; Lobby is the root object):
  self.Get("w")                     any: a slot's value, found on self or its parents (assert its type: self.Get("w").(int))
  self.At("shape")                  Object: a slot holding an object
  v, ok := self.Lookup("w")         a slot that may be missing
  self.Set("w", 3)                  sets a data slot on self (creates it)
  self.Send("area", 2)              sends a message: any method or slot, with arguments; returns any
  self.Define("sel", src)           installs a method from Go source
  self.Remove("w"); self.Rename("w", "width")
  self.Clone()                      a shallow copy sharing the parents
  self.Slots()                      []string: the slot names
  NewObject()                       a new empty object
Values in slots are nil, bool, int, int64, float64, string, []byte, []any, map[string]any, Object,
and []T or map[string]T of bool, int, int64, float64 and string. Numbers read back with the type
they were set with: self.Get("n").(int) for an int.`

func promptHash(prompt string) string {
	h := sha256.Sum256([]byte(prompt))
	return hex.EncodeToString(h[:8])
}

// PromptFor renders the prompt the pipeline would send had holder not
// understood sel, for a method someone wrote by hand: the method itself is
// left out of the context (it is the answer), and its declared parameters
// stand for the arguments. The Forge trains personas on such pairs, so the
// prompt is the one they are asked at inference.
func PromptFor(s *kernel.Session, holder image.OID, sel, src string) (string, error) {
	sig, err := interp.ParseMethod(sel, src)
	if err != nil {
		return "", err
	}
	tmpl := ""
	cx := readContextParts(nil)
	if o, ok := slot(s.Object(image.RootOID), "pLLM").(kernel.Object); ok {
		cfg := readConfig(o)
		tmpl, cx = cfg.template, cfg.context
	}
	m, err := buildMandateWithout(s, s.Object(holder), sel, nil, sel, cx)
	if err != nil {
		return "", err
	}
	params := []string{"self Object"}
	var types []string
	for _, p := range sig.Params {
		params = append(params, p.Name+" "+p.Type)
		types = append(types, p.Type)
	}
	m.Params = "(" + strings.Join(params, ", ") + ")"
	if len(types) > 0 {
		m.Arguments = strings.Join(types, ", ")
	}
	m.Failures = "(none)"
	if cx.path {
		m.reachedAs(pathTo(s, holder))
	}
	return m.render(tmpl), nil
}
