package sim

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"gopkg.in/yaml.v3"
)

//go:embed data/models.yaml data/world.yaml data/mmlu_subjects.csv data/code_breakages.tsv
var dataFS embed.FS

// Target is one published accuracy, in percent, with the key of its source.
type Target struct {
	Value  float64 `yaml:"value"`
	Source string  `yaml:"source"`
	Note   string  `yaml:"note,omitempty"`
}

// Profile describes one simulated model: its price, its published accuracy
// per benchmark, and rough serving speed.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Price       struct {
		InputPerMillion  float64 `yaml:"input_per_million"`
		OutputPerMillion float64 `yaml:"output_per_million"`
		Source           string  `yaml:"source"`
	} `yaml:"price"`
	Latency struct {
		TTFTMillis      float64 `yaml:"ttft_ms"`
		TokensPerSecond float64 `yaml:"tokens_per_second"`
	} `yaml:"latency"`
	// Targets maps a benchmark name (gsm8k, math, mmlu, humaneval, mbpp) to
	// the published accuracy the simulator calibrates to.
	Targets map[string]Target `yaml:"targets"`
}

// Catalog is the content of models.yaml: profiles and the sources they cite.
type Catalog struct {
	Sources map[string]string `yaml:"sources"`
	Models  []Profile         `yaml:"models"`
}

// BenchmarkParams are the structural parameters of one benchmark.
type BenchmarkParams struct {
	Slope         float64        `yaml:"slope"`
	FeatureWeight float64        `yaml:"feature_weight"`
	Persistence   float64        `yaml:"persistence"`
	ReferencePair *ReferencePair `yaml:"reference_pair,omitempty"`
}

// ReferencePair is the joint per-question correctness of a strong and a weak
// real model, counted from recorded outcomes.
type ReferencePair struct {
	Source     string `yaml:"source"`
	Both       int    `yaml:"both"`
	StrongOnly int    `yaml:"strong_only"`
	WeakOnly   int    `yaml:"weak_only"`
	Neither    int    `yaml:"neither"`
}

// Accuracies returns the strong and weak models' accuracies in [0, 1].
func (p ReferencePair) Accuracies() (strong, weak float64) {
	n := float64(p.Both + p.StrongOnly + p.WeakOnly + p.Neither)
	return float64(p.Both+p.StrongOnly) / n, float64(p.Both+p.WeakOnly) / n
}

// Phi is the phi (Pearson) correlation of the two models' outcomes.
func (p ReferencePair) Phi() float64 {
	n := float64(p.Both + p.StrongOnly + p.WeakOnly + p.Neither)
	p11, p10, p01, p00 := float64(p.Both)/n, float64(p.StrongOnly)/n, float64(p.WeakOnly)/n, float64(p.Neither)/n
	ps, pw := p11+p10, p11+p01
	return (p11*p00 - p10*p01) / sqrt(ps*(1-ps)*pw*(1-pw))
}

// SwayWeights are the logit shifts per correct and per wrong answer read.
type SwayWeights struct {
	Correct float64 `yaml:"correct"`
	Wrong   float64 `yaml:"wrong"`
}

// WorldParams is the content of world.yaml.
type WorldParams struct {
	Benchmarks     map[string]BenchmarkParams `yaml:"benchmarks"`
	ReasonBonus    map[string]float64         `yaml:"reason_bonus"`
	PlanPenalty    float64                    `yaml:"plan_penalty"`
	ExpertiseBonus float64                    `yaml:"expertise_bonus"`
	Sway           struct {
		Solver  SwayWeights `yaml:"solver"`
		Checker SwayWeights `yaml:"checker"`
		Self    SwayWeights `yaml:"self"`
	} `yaml:"sway"`
	Copy float64 `yaml:"copy"`
	// CodeFeedback shapes how agents use the visible-test results appended
	// to code replies they read.
	CodeFeedback CodeFeedback `yaml:"code_feedback"`
}

// CodeFeedback is how visible-test results change what agents do on code
// tasks: a fixer (a critic or verifier role) that reads a reply whose
// visible tests failed gains FixBonus on the logit scale, and a failing
// reply misleads and is copied Discount times less than an unmarked one.
type CodeFeedback struct {
	FixBonus float64 `yaml:"fix_bonus"`
	Discount float64 `yaml:"discount"`
}

// DefaultCatalog returns the embedded model catalog.
func DefaultCatalog() (Catalog, error) {
	var c Catalog
	if err := decodeStrict("data/models.yaml", &c); err != nil {
		return Catalog{}, err
	}
	for i, m := range c.Models {
		if m.Name == "" {
			return Catalog{}, fmt.Errorf("sim: data/models.yaml: model %d: field name: empty", i)
		}
		if m.Price.Source != "" {
			if _, ok := c.Sources[m.Price.Source]; !ok {
				return Catalog{}, fmt.Errorf("sim: data/models.yaml: model %q: field price.source: unknown source %q", m.Name, m.Price.Source)
			}
		}
		for b, t := range m.Targets {
			if _, ok := c.Sources[t.Source]; !ok {
				return Catalog{}, fmt.Errorf("sim: data/models.yaml: model %q: field targets.%s.source: unknown source %q", m.Name, b, t.Source)
			}
			if t.Value <= 0 || t.Value >= 100 {
				return Catalog{}, fmt.Errorf("sim: data/models.yaml: model %q: field targets.%s.value: %g is not a percentage in (0, 100)", m.Name, b, t.Value)
			}
		}
	}
	return c, nil
}

// DefaultWorldParams returns the embedded structural parameters.
func DefaultWorldParams() (WorldParams, error) {
	var w WorldParams
	if err := decodeStrict("data/world.yaml", &w); err != nil {
		return WorldParams{}, err
	}
	return w, nil
}

func decodeStrict(name string, v any) error {
	data, err := dataFS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("sim: %s: %w", name, err)
	}
	return nil
}

// subjectCounts is one row of mmlu_subjects.csv.
type subjectCounts struct {
	n, strong, weak int
}

func loadSubjects() (map[string]subjectCounts, error) {
	f, err := dataFS.Open("data/mmlu_subjects.csv")
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	r.FieldsPerRecord = 4
	out := make(map[string]subjectCounts)
	for line := 0; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("sim: data/mmlu_subjects.csv: %w", err)
		}
		if line == 0 {
			continue // header
		}
		var c subjectCounts
		for i, dst := range []*int{&c.n, &c.strong, &c.weak} {
			v, err := strconv.Atoi(rec[i+1])
			if err != nil {
				return nil, fmt.Errorf("sim: data/mmlu_subjects.csv: subject %s: column %d: %w", rec[0], i+2, err)
			}
			*dst = v
		}
		out[rec[0]] = c
	}
	return out, nil
}
