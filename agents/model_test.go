package agents_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
)

func TestPriceCost(t *testing.T) {
	tests := []struct {
		name  string
		price agents.Price
		usage agents.Usage
		want  float64
	}{
		{"gpt-4o list price", agents.Price{InputPerMillion: 2.5, OutputPerMillion: 10}, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, 0.0045},
		{"one million each", agents.Price{InputPerMillion: 3, OutputPerMillion: 15}, agents.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}, 18},
		{"prompt only", agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.6}, agents.Usage{PromptTokens: 2000}, 0.0003},
		{"completion only", agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.6}, agents.Usage{CompletionTokens: 2000}, 0.0012},
		{"free model", agents.Price{}, agents.Usage{PromptTokens: 5000, CompletionTokens: 5000}, 0},
		{"no usage", agents.Price{InputPerMillion: 3, OutputPerMillion: 15}, agents.Usage{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.price.Cost(tt.usage), 1e-12)
		})
	}
}

func TestModelValidate(t *testing.T) {
	llm := &fakeLLM{}
	valid := func() *agents.Model {
		return &agents.Model{
			Name:      "m",
			Provider:  "fake",
			LLM:       llm,
			Price:     agents.Price{InputPerMillion: 1, OutputPerMillion: 2},
			Skills:    map[string]float64{"math": 0.5, "gsm8k": 1, "mmlu": 0},
			MaxTokens: 512,
		}
	}
	tests := []struct {
		name    string
		mutate  func(m *agents.Model) *agents.Model
		wantErr string // empty means valid
	}{
		{"valid", func(m *agents.Model) *agents.Model { return m }, ""},
		{"free and uncapped", func(m *agents.Model) *agents.Model {
			m.Price = agents.Price{}
			m.MaxTokens = 0
			m.Skills = nil
			return m
		}, ""},
		{"nil", func(*agents.Model) *agents.Model { return nil }, "model is nil"},
		{"empty name", func(m *agents.Model) *agents.Model { m.Name = ""; return m }, "model: name is empty"},
		{"blank name", func(m *agents.Model) *agents.Model { m.Name = " \t"; return m }, "model: name is empty"},
		{"nil llm", func(m *agents.Model) *agents.Model { m.LLM = nil; return m }, `model "m": llm is nil`},
		{"negative input price", func(m *agents.Model) *agents.Model { m.Price.InputPerMillion = -1; return m }, `model "m": input price -1 per million`},
		{"negative output price", func(m *agents.Model) *agents.Model { m.Price.OutputPerMillion = -0.5; return m }, `model "m": output price -0.5 per million`},
		{"NaN input price", func(m *agents.Model) *agents.Model { m.Price.InputPerMillion = math.NaN(); return m }, `model "m": input price NaN per million`},
		{"infinite output price", func(m *agents.Model) *agents.Model { m.Price.OutputPerMillion = math.Inf(1); return m }, `model "m": output price +Inf per million`},
		{"negative max tokens", func(m *agents.Model) *agents.Model { m.MaxTokens = -1; return m }, `model "m": max tokens -1`},
		{"skill above one", func(m *agents.Model) *agents.Model { m.Skills["math"] = 87; return m }, `model "m": skill "math" = 87, want a value in [0, 1]`},
		{"skill below zero", func(m *agents.Model) *agents.Model { m.Skills["mmlu"] = -0.1; return m }, `model "m": skill "mmlu" = -0.1`},
		{"NaN skill", func(m *agents.Model) *agents.Model { m.Skills["code"] = math.NaN(); return m }, `model "m": skill "code" = NaN`},
		{"first bad skill by name", func(m *agents.Model) *agents.Model { m.Skills["z"] = 2; m.Skills["b"] = 3; m.Skills["y"] = 4; return m }, `skill "b" = 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.mutate(valid()).Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestModelSkill(t *testing.T) {
	m := &agents.Model{Name: "m", Skills: map[string]float64{"gsm8k": 0.9, "math": 0.7, "mmlu": 0}}
	tests := []struct {
		name string
		m    *agents.Model
		keys []string
		want float64
	}{
		{"first key present", m, []string{"gsm8k", "math"}, 0.9},
		{"falls to second key", m, []string{"math500", "math"}, 0.7},
		{"zero skill is a skill", m, []string{"mmlu", "math"}, 0},
		{"no key present", m, []string{"humaneval", "code"}, 0.25},
		{"no keys", m, nil, 0.25},
		{"no skills", &agents.Model{Name: "bare"}, []string{"math"}, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.m.Skill(0.25, tt.keys...), 0)
		})
	}
}

func model(name string, in, out float64) *agents.Model {
	return &agents.Model{Name: name, Provider: "fake", LLM: &fakeLLM{}, Price: agents.Price{InputPerMillion: in, OutputPerMillion: out}}
}

func TestNewPool(t *testing.T) {
	a, b, c := model("a", 1, 1), model("b", 2, 2), model("c", 3, 3)
	tests := []struct {
		name      string
		models    []*agents.Model
		wantNames []string
		wantErr   string
	}{
		{"keeps order", []*agents.Model{c, a, b}, []string{"c", "a", "b"}, ""},
		{"one model", []*agents.Model{b}, []string{"b"}, ""},
		{"empty", nil, nil, "pool: no models"},
		{"duplicate name", []*agents.Model{a, b, model("a", 9, 9)}, nil, `pool: model "a" listed twice`},
		{"invalid model names its index", []*agents.Model{a, {Name: "broken"}}, nil, `pool: model 1: model "broken": llm is nil`},
		{"nil model", []*agents.Model{a, b, nil}, nil, "pool: model 2: model is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := agents.NewPool(tt.models...)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Nil(t, p)
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNames, p.Names())
			assert.Equal(t, len(tt.wantNames), p.Len())
			assert.Equal(t, tt.models, p.Models())
		})
	}
}

func TestPoolGet(t *testing.T) {
	a, b := model("gpt-4o-mini", 0.15, 0.6), model("llama-3.1-8b", 0.18, 0.18)
	p, err := agents.NewPool(a, b)
	require.NoError(t, err)

	got, err := p.Get("llama-3.1-8b")
	require.NoError(t, err)
	assert.Same(t, b, got)

	for _, name := range []string{"gpt-4o", "", "GPT-4O-MINI"} {
		t.Run("unknown "+name, func(t *testing.T) {
			m, err := p.Get(name)
			require.Error(t, err)
			assert.Nil(t, m)
			assert.True(t, errors.Is(err, agents.ErrUnknownModel))
			assert.Contains(t, err.Error(), `unknown model "`+name+`"`)
			assert.Contains(t, err.Error(), "(pool has gpt-4o-mini, llama-3.1-8b)")
		})
	}
}

func TestPoolModelsIsCopy(t *testing.T) {
	a, b := model("a", 1, 1), model("b", 2, 2)
	p, err := agents.NewPool(a, b)
	require.NoError(t, err)
	ms := p.Models()
	ms[0] = model("intruder", 0, 0)
	ms[1] = nil
	assert.Equal(t, []string{"a", "b"}, p.Names())
	assert.Equal(t, []*agents.Model{a, b}, p.Models())
	got, err := p.Get("a")
	require.NoError(t, err)
	assert.Same(t, a, got)

	names := p.Names()
	names[0] = "changed"
	assert.Equal(t, []string{"a", "b"}, p.Names())
}

func TestPoolWith(t *testing.T) {
	a, b, c := model("a", 1, 1), model("b", 2, 2), model("c", 3, 3)
	p, err := agents.NewPool(a, b)
	require.NoError(t, err)

	q, err := p.With(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, q.Names())
	assert.Equal(t, []string{"a", "b"}, p.Names(), "the original pool is unchanged")
	_, err = p.Get("c")
	assert.ErrorIs(t, err, agents.ErrUnknownModel)

	same, err := p.With()
	require.NoError(t, err)
	assert.Equal(t, p.Names(), same.Names())

	_, err = p.With(model("b", 5, 5))
	assert.EqualError(t, err, `pool: model "b" listed twice`)
	_, err = p.With(&agents.Model{Name: "x", LLM: &fakeLLM{}, Price: agents.Price{InputPerMillion: -1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `pool: model 2: model "x": input price -1`)
	assert.Equal(t, []string{"a", "b"}, p.Names())
}

func TestPoolMostExpensive(t *testing.T) {
	tests := []struct {
		name   string
		models []*agents.Model
		want   string
	}{
		{"one", []*agents.Model{model("a", 1, 1)}, "a"},
		{"by blended price", []*agents.Model{model("cheap", 0.15, 0.6), model("gpt-4o", 2.5, 10), model("sonnet", 3, 15), model("llama", 3.5, 3.5)}, "sonnet"},
		// Output weighs three times input: (10+3*1)/4 = 3.25 < (1+3*5)/4 = 4.
		{"output weighs more", []*agents.Model{model("input-heavy", 10, 1), model("output-heavy", 1, 5)}, "output-heavy"},
		// (4+3*0)/4 = 1 = (1+3*1)/4.
		{"tie broken by name", []*agents.Model{model("zeta", 4, 0), model("alpha", 1, 1), model("mid", 0.5, 0.5)}, "alpha"},
		{"all free", []*agents.Model{model("y", 0, 0), model("x", 0, 0)}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := agents.NewPool(tt.models...)
			require.NoError(t, err)
			got := p.MostExpensive()
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got.Name)
			assert.Equal(t, modelNames(tt.models), p.Names(), "pool order is unchanged")
		})
	}
	t.Run("empty pool", func(t *testing.T) {
		assert.Nil(t, new(agents.Pool).MostExpensive())
	})
}

func modelNames(ms []*agents.Model) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}
