package pllm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
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
}

// Limits on the context, so that a large image cannot overflow the
// model's context window.
const (
	maxMethodSource = 1500
	maxMethodsText  = 8000
	maxChain        = 16
)

func buildMandate(s *kernel.Session, self kernel.Object, sel string, args []any) (mandate, error) {
	return buildMandateWithout(s, self, sel, args, "")
}

// buildMandateWithout leaves the receiver's own slot skip out of the
// context.
func buildMandateWithout(s *kernel.Session, self kernel.Object, sel string, args []any, skip string) (mandate, error) {
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
	var methods strings.Builder
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
			if meth, ok := sl.Value.(image.Method); ok && methods.Len() < maxMethodsText {
				fmt.Fprintf(&methods, "// on %s\n%s\n\n", s.Describe(oid), truncate(meth.Source, maxMethodSource))
			}
		}
	}
	m.Parents = strings.Join(parents, " → ")
	if m.Parents == "" {
		m.Parents = "(none)"
	}
	m.Methods = methods.String()
	if m.Methods == "" {
		m.Methods = "(none)\n"
	}

	var argText, params []string
	params = append(params, "self Object")
	for i, a := range args {
		argText = append(argText, fmt.Sprintf("%s = %s", goType(a), abbreviate(s.Format(a), 80)))
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
	t, err := template.New("dnu").Parse(tmpl)
	if tmpl == "" || err != nil {
		t = template.Must(template.New("dnu").Parse(defaultTemplate))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		b.Reset()
		template.Must(template.New("dnu").Parse(defaultTemplate)).Execute(&b, m)
	}
	fmt.Fprintf(&b, "\nThe method is called as %s.Send(%q, ...) with the arguments above; a fitting signature is func %s%s.\n"+
		"Methods see self.Get, self.Set, self.Send, self.Clone, self.Define, self.Slots, Lobby and NewObject(); the standard library packages strings, strconv, math, sort, slices, maps, fmt, errors, unicode, bytes, regexp and encoding/json are available without imports. No goroutines, channels, os, net or unsafe.\n",
		m.Receiver, m.Selector, m.Selector, m.Params)
	if m.Purpose != "" {
		fmt.Fprintf(&b, "What the method is for: %s\n", m.Purpose)
	}
	return b.String()
}

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
	m, err := buildMandateWithout(s, s.Object(holder), sel, nil, sel)
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
	tmpl := ""
	if o, ok := slot(s.Object(image.RootOID), "pLLM").(kernel.Object); ok {
		tmpl = readConfig(o).template
	}
	return m.render(tmpl), nil
}
