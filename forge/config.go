package forge

import (
	"fmt"
	"path/filepath"
	"time"

	"batos/kernel"
)

// config is Lobby.Forge's configuration, read in one transaction; every
// slot has a default, so an image awakened before a slot existed works.
type config struct {
	backend     string         // for new jobs: "local" or "slurm"
	concurrency map[string]int // jobs past queued, per backend
	timeout     time.Duration  // a training step's bound
	trainer     []string       // the command template
	python      string         // {python} in it
	evaluator   []string       // the evaluate step's command template; empty: none
	baseModel   string
	minExamples int
	validShare  float64 // the share of examples kept for validation
	// evalTolerance is how much worse than the base's the adapter's
	// validation loss may be (a fraction) and still be registered.
	evalTolerance float64
	// passTolerance is how much lower (a fraction of the mandates) the
	// held-out pass rate with the new adapter may be than with the
	// current one and still be registered.
	passTolerance float64
	loraRank      int
	learnRate     float64
	epochs        int
	adapterDir    string // absolute
	slurm         slurmConfig
}

type slurmConfig struct {
	partition string
	gpus      int
	timeLimit time.Duration
	extra     []string
}

func readConfig(f kernel.Object, imageDir string) config {
	c := config{
		backend:     stringSlot(f, "backend", "local"),
		concurrency: map[string]int{"local": 1, "slurm": 4},
		timeout:     time.Duration(intSlot(f, "timeout", 21600)) * time.Second,
		trainer:     stringList(slot(f, "trainer")),
		python:      stringSlot(f, "python", "python3"),
		evaluator:   stringList(slot(f, "evaluator")),
		baseModel:   stringSlot(f, "baseModel", ""),
		minExamples: intSlot(f, "minExamples", 32),
		validShare:  0.1,
		loraRank:    intSlot(f, "loraRank", 16),
		epochs:      intSlot(f, "epochs", 2),
		adapterDir:  stringSlot(f, "adapterDir", "adapters"),
	}
	if lr, ok := slot(f, "learningRate").(float64); ok {
		c.learnRate = lr
	}
	if v, ok := slot(f, "validationShare").(float64); ok && v >= 0 && v < 1 {
		c.validShare = v
	}
	if v, ok := slot(f, "evalTolerance").(float64); ok && v >= 0 {
		c.evalTolerance = v
	}
	if v, ok := slot(f, "passTolerance").(float64); ok && v >= 0 {
		c.passTolerance = v
	}
	if m, ok := slot(f, "concurrency").(map[string]any); ok {
		for k, v := range m {
			if n, ok := v.(int); ok && n >= 0 {
				c.concurrency[k] = n
			}
		}
	}
	if !filepath.IsAbs(c.adapterDir) {
		c.adapterDir = filepath.Join(imageDir, c.adapterDir)
	}
	if m, ok := slot(f, "slurm").(map[string]any); ok {
		c.slurm.partition, _ = m["partition"].(string)
		c.slurm.gpus, _ = m["gpus"].(int)
		if s, ok := m["timeLimit"].(int); ok {
			c.slurm.timeLimit = time.Duration(s) * time.Second
		}
		c.slurm.extra = stringList(m["extra"])
	}
	return c
}

// limit is how many jobs of backend may be past queued at once (at least
// one).
func (c config) limit(backend string) int {
	if n, ok := c.concurrency[backend]; ok && n > 0 {
		return n
	}
	return 1
}

// trainingConfig is what the trainer's {config} file holds.
func (c config) trainingConfig(persona string) map[string]any {
	return map[string]any{
		"persona":       persona,
		"base_model":    c.baseModel,
		"lora_rank":     c.loraRank,
		"learning_rate": c.learnRate,
		"epochs":        c.epochs,
	}
}

func (c config) String() string { return fmt.Sprintf("backend %s, timeout %s", c.backend, c.timeout) }
