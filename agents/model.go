package agents

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tmc/langchaingo/llms"
)

// Price is what a model charges, in US dollars per million tokens.
type Price struct {
	InputPerMillion  float64 `json:"input_per_million" yaml:"input_per_million"`
	OutputPerMillion float64 `json:"output_per_million" yaml:"output_per_million"`
}

// Cost converts token usage into dollars.
func (p Price) Cost(u Usage) float64 {
	return (float64(u.PromptTokens)*p.InputPerMillion + float64(u.CompletionTokens)*p.OutputPerMillion) / 1e6
}

// Model is one priced LLM of a pool: a langchaingo llms.Model plus what the
// router needs to know about it.
type Model struct {
	// Name is unique in the pool, e.g. "gpt-4o-mini".
	Name string
	// Provider names the backend: "sim", "replay", "openai", "anthropic", "ollama".
	Provider string
	// LLM answers the calls. Every call in masrouter goes through it.
	LLM llms.Model
	// Price is the list price used to turn usage into dollars.
	Price Price
	// Description is free text the router may encode.
	Description string
	// Skills maps a domain (or benchmark) name to a published accuracy in
	// [0, 1]; the router scores models by these features, not by index.
	Skills map[string]float64
	// MaxTokens caps the completion length of each call; 0 means the
	// executor's default.
	MaxTokens int
}

// Validate reports the first missing or impossible field.
func (m *Model) Validate() error {
	switch {
	case m == nil:
		return errors.New("model is nil")
	case strings.TrimSpace(m.Name) == "":
		return errors.New("model: name is empty")
	case m.LLM == nil:
		return fmt.Errorf("model %q: llm is nil", m.Name)
	case !validPrice(m.Price.InputPerMillion):
		return fmt.Errorf("model %q: input price %g per million, want a finite value >= 0", m.Name, m.Price.InputPerMillion)
	case !validPrice(m.Price.OutputPerMillion):
		return fmt.Errorf("model %q: output price %g per million, want a finite value >= 0", m.Name, m.Price.OutputPerMillion)
	case m.MaxTokens < 0:
		return fmt.Errorf("model %q: max tokens %d, want 0 (no cap) or more", m.Name, m.MaxTokens)
	}
	keys := make([]string, 0, len(m.Skills))
	for k := range m.Skills {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := m.Skills[k]; !(v >= 0 && v <= 1) {
			return fmt.Errorf("model %q: skill %q = %g, want a value in [0, 1]", m.Name, k, v)
		}
	}
	return nil
}

func validPrice(p float64) bool { return p >= 0 && !math.IsInf(p, 1) }

// Skill returns the model's skill for the first key present, or fallback.
func (m *Model) Skill(fallback float64, keys ...string) float64 {
	for _, k := range keys {
		if v, ok := m.Skills[k]; ok {
			return v
		}
	}
	return fallback
}

// Pool is an ordered set of priced models. It is immutable after NewPool and
// safe for concurrent use.
type Pool struct {
	models []*Model
	byName map[string]*Model
}

// ErrUnknownModel is returned when a pool has no model of the requested name.
var ErrUnknownModel = errors.New("unknown model")

// NewPool validates the models and returns a pool that keeps their order.
func NewPool(models ...*Model) (*Pool, error) {
	if len(models) == 0 {
		return nil, errors.New("pool: no models")
	}
	p := &Pool{byName: make(map[string]*Model, len(models))}
	for i, m := range models {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("pool: model %d: %w", i, err)
		}
		if _, dup := p.byName[m.Name]; dup {
			return nil, fmt.Errorf("pool: model %q listed twice", m.Name)
		}
		p.byName[m.Name] = m
		p.models = append(p.models, m)
	}
	return p, nil
}

// Get returns the model called name, or an error wrapping ErrUnknownModel that
// lists the pool's models.
func (p *Pool) Get(name string) (*Model, error) {
	if m, ok := p.byName[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("%w %q (pool has %s)", ErrUnknownModel, name, strings.Join(p.Names(), ", "))
}

// Models returns the models in pool order. The slice is a copy.
func (p *Pool) Models() []*Model { return append([]*Model(nil), p.models...) }

// Len is the number of models.
func (p *Pool) Len() int { return len(p.models) }

// Names returns the model names in pool order.
func (p *Pool) Names() []string {
	names := make([]string, len(p.models))
	for i, m := range p.models {
		names[i] = m.Name
	}
	return names
}

// With returns a new pool with extra models appended; p is unchanged.
func (p *Pool) With(models ...*Model) (*Pool, error) {
	return NewPool(append(p.Models(), models...)...)
}

// MostExpensive returns the model with the highest blended price (input and
// output weighted 1:3, a typical chat ratio), ties broken by name, or nil
// for an empty pool.
func (p *Pool) MostExpensive() *Model {
	ms := p.Models()
	if len(ms) == 0 {
		return nil
	}
	sort.SliceStable(ms, func(i, j int) bool {
		bi, bj := blended(ms[i].Price), blended(ms[j].Price)
		if bi != bj {
			return bi > bj
		}
		return ms[i].Name < ms[j].Name
	})
	return ms[0]
}

func blended(p Price) float64 { return (p.InputPerMillion + 3*p.OutputPerMillion) / 4 }

// Fallbacks returns the models m falls back to, nearest first: the chain of
// Resilient fallbacks behind m's LLM. It is empty when m's LLM is not
// Resilient or has no fallback.
func (m *Model) Fallbacks() []*Model {
	var out []*Model
	seen := map[*Model]bool{m: true}
	for cur := m; cur != nil; {
		r, ok := cur.LLM.(*Resilient)
		if !ok || r.fallback == nil || seen[r.fallback] {
			break
		}
		cur = r.fallback
		seen[cur] = true
		out = append(out, cur)
	}
	return out
}

// PriceCeiling returns the highest input and output prices among m and its
// fallbacks: what a budget must assume a call on m may cost per token.
func (m *Model) PriceCeiling() Price {
	p := m.Price
	for _, fb := range m.Fallbacks() {
		p.InputPerMillion = math.Max(p.InputPerMillion, fb.Price.InputPerMillion)
		p.OutputPerMillion = math.Max(p.OutputPerMillion, fb.Price.OutputPerMillion)
	}
	return p
}
