package pllm

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"batos/image"
	"batos/kernel"
	"batos/llama"
)

// config is the pLLM's configuration as read from the image at the start
// of one generation.
type config struct {
	endpoint    string
	route       string // "/v1/chat/completions" or "/completion"
	sampling    map[string]any
	maxAttempts int
	topK        int
	template    string
	timeout     time.Duration
	personas    map[string]persona
	// reviewer, when set, names the persona that must approve a candidate
	// that passed its trial run before it is installed.
	reviewer string
	// context is which optional parts of the context the model is told
	// (Lobby.pLLM.context).
	context contextParts
	// constrain is Lobby.pLLM.constrain: auto, on or off (see Grammar).
	constrain string
}

type persona struct {
	name         string
	systemPrompt string
	endpoint     string
	model        string
	lora         []llama.LoRA
	// loraPaths are adapters named by file: the server's id for each is
	// looked up when a request is made (GET /lora-adapters), so a
	// restarted server's new order, or an adapter not loaded yet, is
	// never mistaken for another.
	loraPaths []pathLoRA
}

// pathLoRA is an adapter named by its file.
type pathLoRA struct {
	path  string
	scale float64
}

// Defaults for slots an image may lack or hold badly.
const (
	defaultEndpoint = "http://127.0.0.1:8080"
	defaultRoute    = "/v1/chat/completions"
	defaultAttempts = 3
	defaultTopK     = 2
	defaultTimeout  = 120 * time.Second
)

// readConfig reads Lobby.pLLM through the caller's transaction. Object
// methods panic on failure; the caller recovers.
func readConfig(pllm kernel.Object) config {
	c := config{
		endpoint:    stringSlot(pllm, "endpoint", defaultEndpoint),
		route:       stringSlot(pllm, "apiRoute", defaultRoute),
		maxAttempts: intSlot(pllm, "maxAttempts", defaultAttempts),
		topK:        intSlot(pllm, "topK", defaultTopK),
		template:    stringSlot(pllm, "dnuTemplate", ""),
		timeout:     defaultTimeout,
		personas:    map[string]persona{},
		context:     readContextParts(slot(pllm, "context")),
		constrain:   readConstrain(slot(pllm, "constrain")),
	}
	if d, err := time.ParseDuration(stringSlot(pllm, "generationTimeout", "")); err == nil && d > 0 {
		c.timeout = d
	}
	if on, _ := slot(pllm, "review").(bool); on {
		c.reviewer = stringSlot(pllm, "reviewer", "ALFRED")
	}
	if m, ok := slot(pllm, "sampling").(map[string]any); ok {
		c.sampling = m
	}
	if url := os.Getenv("BATOS_LLM_URL"); url != "" {
		c.endpoint = url
	}
	ps, ok := slot(pllm, "personas").(kernel.Object)
	if !ok {
		return c
	}
	for _, name := range ps.Slots() {
		p, ok := slot(ps, name).(kernel.Object)
		if !ok || strings.HasSuffix(name, "*") {
			continue
		}
		per := persona{
			name:         name,
			systemPrompt: stringSlot(p, "systemPrompt", ""),
			endpoint:     stringSlot(p, "endpoint", ""),
			model:        stringSlot(p, "model", ""),
		}
		per.lora, per.loraPaths = loraSlot(slot(p, "lora"))
		if per.endpoint == "" || os.Getenv("BATOS_LLM_URL") != "" {
			per.endpoint = c.endpoint
		}
		c.personas[name] = per
	}
	return c
}

// slot reads a slot through o's lookup chain, nil when missing.
func slot(o kernel.Object, name string) (v any) {
	defer func() {
		if r := recover(); r != nil {
			if mustPropagate(r) {
				panic(r)
			}
			v = nil
		}
	}()
	return o.Get(name)
}

func stringSlot(o kernel.Object, name, def string) string {
	if s, ok := slot(o, name).(string); ok && s != "" {
		return s
	}
	return def
}

func intSlot(o kernel.Object, name string, def int) int {
	if n, ok := slot(o, name).(int); ok && n > 0 {
		return n
	}
	return def
}

// loraSlot accepts an adapter id (int), {"id": N, "scale": S},
// {"path": FILE, "scale": S}, or a list of them.
func loraSlot(v any) (ids []llama.LoRA, paths []pathLoRA) {
	switch v := v.(type) {
	case int:
		return []llama.LoRA{{ID: v, Scale: 1}}, nil
	case map[string]any:
		scale := 1.0
		if s, ok := v["scale"].(float64); ok {
			scale = s
		}
		if p, ok := v["path"].(string); ok && p != "" {
			return nil, []pathLoRA{{path: p, scale: scale}}
		}
		id, ok := v["id"].(int)
		if !ok {
			return nil, nil
		}
		return []llama.LoRA{{ID: id, Scale: scale}}, nil
	case []any:
		for _, e := range v {
			i, p := loraSlot(e)
			ids, paths = append(ids, i...), append(paths, p...)
		}
	}
	return ids, paths
}

// request builds the model request for one persona.
func (c config) request(p persona, user string) llama.Request {
	system := p.systemPrompt
	if c.context.api {
		system = strings.TrimSpace(system + "\n\n" + apiReference)
	}
	req := llama.Request{
		Messages: []llama.Message{{Role: "system", Content: system}, {Role: "user", Content: user}},
		Prompt:   system + "\n\n" + user + "\n",
		Model:    p.model,
		LoRA:     p.lora,
	}
	if t, ok := c.sampling["temperature"].(float64); ok {
		req.Temperature = t
	}
	if t, ok := c.sampling["top_p"].(float64); ok {
		req.TopP = t
	}
	if n, ok := c.sampling["max_tokens"].(int); ok {
		req.MaxTokens = n
	}
	if n, ok := c.sampling["seed"].(int); ok {
		req.Seed = n
	}
	return req
}

func (p persona) String() string { return fmt.Sprintf("%s@%s", p.name, p.endpoint) }

// Endpoint returns the model server the pLLM asks by default, as the
// session's evaluation in progress sees the image: BATOS_LLM_URL, else
// Lobby.pLLM.endpoint. Status bars use it to say where the pLLM is.
func Endpoint(s *kernel.Session) string {
	if url := os.Getenv("BATOS_LLM_URL"); url != "" {
		return url
	}
	lobby := s.Object(image.RootOID)
	if p, ok := slot(lobby, "pLLM").(kernel.Object); ok {
		return stringSlot(p, "endpoint", defaultEndpoint)
	}
	return ""
}

// PersonaConfig is a persona as the pLLM will ask it.
type PersonaConfig struct {
	Name, Endpoint, Model string
	// Adapter describes its LoRA slot: "" for none, else the adapter ids
	// or files and their scales ("2@1", "/a/brick.gguf@0.5").
	Adapter string
}

// Personas reads the personas configured in Lobby.pLLM, in name order,
// through s's evaluation in progress.
func Personas(s *kernel.Session) []PersonaConfig {
	o, ok := slot(s.Object(image.RootOID), "pLLM").(kernel.Object)
	if !ok {
		return nil
	}
	cfg := readConfig(o)
	var out []PersonaConfig
	for _, p := range cfg.personas {
		var adapters []string
		for _, l := range p.lora {
			adapters = append(adapters, fmt.Sprintf("%d@%g", l.ID, l.Scale))
		}
		for _, l := range p.loraPaths {
			adapters = append(adapters, fmt.Sprintf("%s@%g", l.path, l.scale))
		}
		out = append(out, PersonaConfig{Name: p.name, Endpoint: p.endpoint, Model: p.model, Adapter: strings.Join(adapters, ",")})
	}
	slices.SortFunc(out, func(a, b PersonaConfig) int { return strings.Compare(a.Name, b.Name) })
	return out
}
