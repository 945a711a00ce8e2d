package forge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"batos/api"
	"batos/forge"
	"batos/forge/gguf"
	"batos/forge/llamacpp"
	"batos/internal/cmdutil"
	"batos/internal/iostreams"
	"batos/llama"
)

// DoctorOptions configures `batos forge doctor`.
type DoctorOptions struct {
	IO     *iostreams.IOStreams
	Target cmdutil.Target
}

// check is one line of the doctor's report.
type check struct {
	name     string
	ok       bool
	required bool // a fine-tune cannot run without it
	says     string
}

// runDoctor checks what a fine-tune needs on this machine and in the
// image's configuration, one line each; it fails when something a
// fine-tune cannot do without is missing.
func runDoctor(opts *DoctorOptions) error {
	conn, err := cmdutil.Open(opts.Target)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx := context.Background()
	cfg, err := readDoctorConfig(ctx, conn)
	if err != nil {
		return err
	}
	var checks []check
	checks = append(checks, checkPython(cfg.python)...)
	checks = append(checks, checkTrainer(cfg.trainer))
	checks = append(checks, checkBase(cfg.base))
	checks = append(checks, checkServers(ctx, cfg)...)
	if cfg.backend == "slurm" {
		checks = append(checks, checkSlurm())
	}
	checks = append(checks, checkLlamaCpp())
	missing := 0
	for _, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark = "MISS"
			if c.required {
				missing++
			}
		}
		fmt.Fprintf(opts.IO.Out, "%s %-14s %s\n", mark, c.name, c.says)
	}
	if missing > 0 {
		return fmt.Errorf("forge doctor: %d thing%s a fine-tune needs %s missing", missing, plural(missing), map[bool]string{true: "is", false: "are"}[missing == 1])
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// doctorConfig is what the doctor reads of the image.
type doctorConfig struct {
	python, base, backend string
	trainer               []string
	personas              map[string]string // name → endpoint
	servers               []string          // managed servers' binaries
}

func readDoctorConfig(ctx context.Context, img api.Image) (doctorConfig, error) {
	c := doctorConfig{python: "python3", backend: "local", personas: map[string]string{}}
	f, err := api.LobbySlot(ctx, img, "Forge")
	if err != nil {
		return c, err
	}
	fv, err := img.Object(ctx, f)
	if err != nil {
		return c, err
	}
	for _, s := range fv.Slots {
		if s.Value == nil {
			continue
		}
		switch s.Name {
		case "python":
			c.python = s.Value.String
		case "baseModel":
			c.base = s.Value.String
		case "backend":
			c.backend = s.Value.String
		case "trainer":
			for _, it := range s.Value.Items {
				c.trainer = append(c.trainer, it.String)
			}
		}
	}
	p, err := api.LobbySlot(ctx, img, "pLLM")
	if err != nil {
		return c, err
	}
	pv, err := img.Object(ctx, p)
	if err != nil {
		return c, err
	}
	endpoint := "http://127.0.0.1:8080"
	var personas uint64
	for _, s := range pv.Slots {
		switch {
		case s.Name == "endpoint" && s.Value != nil:
			endpoint = s.Value.String
		case s.Name == "personas" && s.Target() != nil:
			personas = s.Target().OID
		case s.Name == "servers" && s.Value != nil:
			for _, it := range s.Value.Items {
				if it.Object == nil {
					continue
				}
				sv, err := img.Object(ctx, it.Object.OID)
				if err != nil {
					return c, err
				}
				binary, managed := "llama-server", false
				for _, x := range sv.Slots {
					if x.Name == "binary" && x.Value != nil {
						binary = x.Value.String
					}
					if x.Name == "managed" && x.Value != nil {
						managed = x.Value.Bool
					}
				}
				if managed {
					c.servers = append(c.servers, binary)
				}
			}
		}
	}
	if url := os.Getenv("BATOS_LLM_URL"); url != "" {
		endpoint = url
	}
	if personas != 0 {
		psv, err := img.Object(ctx, personas)
		if err != nil {
			return c, err
		}
		for _, s := range psv.Slots {
			if s.Target() == nil || strings.HasSuffix(s.Name, "*") {
				continue
			}
			e := endpoint
			if per, err := img.Object(ctx, s.Target().OID); err == nil && os.Getenv("BATOS_LLM_URL") == "" {
				for _, x := range per.Slots {
					if x.Name == "endpoint" && x.Value != nil && x.Value.String != "" {
						e = x.Value.String
					}
				}
			}
			c.personas[s.Name] = e
		}
	}
	return c, nil
}

// torchProbe prints what the trainer needs to know of torch.
const torchProbe = `import torch
cuda = torch.cuda.is_available()
print(torch.__version__, torch.cuda.device_count() if cuda else 0, cuda and torch.cuda.is_bf16_supported(), torch.cuda.get_device_name(0) if cuda else "")`

func checkPython(python string) []check {
	c := check{name: "python", required: true}
	path, err := exec.LookPath(python)
	if err != nil {
		c.says = fmt.Sprintf("Forge.python %q is not on PATH: install python3 (apt-get install python3-torch brings both)", python)
		return []check{c}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-c", torchProbe).Output()
	if err != nil {
		c.name, c.says = "torch", fmt.Sprintf("%s cannot import torch: install Debian's python3-torch (apt-get install python3-torch), or set Forge.python to an interpreter that has it", path)
		if python != "/usr/bin/python3" && exec.Command("/usr/bin/python3", "-c", "import torch").Run() == nil {
			c.says += "; /usr/bin/python3 has it"
		}
		return []check{{name: "python", ok: true, says: path}, c}
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		c.says = fmt.Sprintf("%s printed %q for torch's versions", path, out)
		return []check{c}
	}
	checks := []check{{name: "python", ok: true, says: path}, {name: "torch", ok: true, says: "torch " + f[0]}}
	if f[1] == "0" {
		checks = append(checks, check{name: "cuda", ok: false, says: "no CUDA device: training runs on the CPU (fine for small models; use a GPU machine or Forge.backend \"slurm\" for real ones)"})
	} else {
		checks = append(checks, check{name: "cuda", ok: true, says: fmt.Sprintf("%s device%s (%s), bf16 %s", f[1], map[bool]string{true: "", false: "s"}[f[1] == "1"], strings.Join(f[3:], " "), f[2])})
	}
	return checks
}

func checkTrainer(template []string) check {
	c := check{name: "trainer", required: true}
	if len(template) == 0 {
		c.says = "Forge.trainer is empty: set it to a command template (the default is " + strings.Join(forge.DefaultTrainer, " ") + ")"
		return c
	}
	if strings.Join(template, " ") == strings.Join(forge.DefaultTrainer, " ") || (len(template) > 1 && strings.HasPrefix(template[1], "{trainers}/")) {
		c.ok, c.says = true, "the Forge's own (forge/trainers, unpacked into IMAGE/forge/trainers)"
		return c
	}
	if strings.HasPrefix(template[0], "{") {
		c.ok, c.says = true, strings.Join(template, " ")
		return c
	}
	if _, err := exec.LookPath(template[0]); err != nil {
		c.says = fmt.Sprintf("%s (Forge.trainer's command) is not on PATH", template[0])
		return c
	}
	c.ok, c.says = true, strings.Join(template, " ")
	return c
}

func checkBase(dir string) check {
	c := check{name: "base model", required: true}
	if dir == "" {
		c.says = "Forge.baseModel is empty: set it to a Hugging Face Llama folder (config.json and safetensors)"
		return c
	}
	info, err := gguf.ReadHFConfig(dir)
	if err != nil {
		c.says = err.Error()
		return c
	}
	c.ok, c.says = true, fmt.Sprintf("%s: llama, %d layers, hidden %d, %d heads (%d kv)", dir, info.Layers, info.HiddenSize, info.Heads, info.KVHeads)
	return c
}

func checkServers(ctx context.Context, cfg doctorConfig) []check {
	var checks []check
	bin := check{name: "llama-server"}
	if p, err := exec.LookPath("llama-server"); err == nil {
		bin.ok, bin.says = true, p
	} else {
		bin.says = "not on PATH: needed only for servers batos manages (Lobby.pLLM.servers); build llama.cpp (https://github.com/ggml-org/llama.cpp) or install its package"
	}
	for _, b := range cfg.servers {
		if _, err := exec.LookPath(b); err != nil {
			bin.ok, bin.required, bin.says = false, true, fmt.Sprintf("%s, a managed server's binary, is not found", b)
		}
	}
	checks = append(checks, bin)
	seen := map[string]bool{}
	names := make([]string, 0, len(cfg.personas))
	for name := range cfg.personas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		endpoint := cfg.personas[name]
		if seen[endpoint] {
			continue
		}
		seen[endpoint] = true
		c := check{name: "server"}
		hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := llama.New(endpoint).Health(hctx)
		cancel()
		var loading *llama.LoadingError
		switch {
		case err == nil:
			c.ok, c.says = true, fmt.Sprintf("%s (%s and others there) is up: curation tokenizes through it", endpoint, name)
		case errors.As(err, &loading):
			c.ok, c.says = true, fmt.Sprintf("%s is loading its model", endpoint)
		default:
			c.says = fmt.Sprintf("%s (%s) is down: curation tokenizes through the persona's server; start it", endpoint, name)
		}
		checks = append(checks, c)
	}
	return checks
}

func checkSlurm() check {
	c := check{name: "slurm", required: true}
	for _, b := range []string{"sbatch", "squeue", "scancel"} {
		if _, err := exec.LookPath(b); err != nil {
			c.says = fmt.Sprintf("Forge.backend is slurm but %s is not on PATH: install slurm-client and point SLURM_CONF at the cluster", b)
			return c
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "squeue", "-h", "-o", "%i").CombinedOutput(); err != nil {
		c.says = fmt.Sprintf("squeue cannot reach the cluster: %s", strings.TrimSpace(string(out)))
		return c
	}
	c.ok, c.says = true, "sbatch, squeue and scancel reach the cluster"
	return c
}

// checkLlamaCpp looks for the llama.cpp the adapter check runs on (npm's
// node-llama-cpp): selftest needs it; a fine-tune does not.
func checkLlamaCpp() check {
	c := check{name: "llama.cpp"}
	if _, err := exec.LookPath("node"); err != nil {
		c.says = "node is not installed: the adapter check (batos forge selftest) runs llama.cpp through npm's node-llama-cpp (Node.js 20 or later)"
		return c
	}
	dir, err := llamacpp.Find()
	if err != nil {
		c.says = err.Error()
		return c
	}
	v, err := llamacpp.Version(dir)
	if err != nil {
		c.says = err.Error()
		return c
	}
	c.ok, c.says = true, fmt.Sprintf("node-llama-cpp %s in %s (the adapter check)", v, dir)
	return c
}
