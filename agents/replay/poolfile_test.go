package replay

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// buildPoolFile parses and builds a pool file with the replay provider.
func buildPoolFile(t *testing.T, name string, data []byte) (*agents.Pool, error) {
	t.Helper()
	f, err := agents.ParsePoolFile(name, data)
	require.NoError(t, err)
	return f.Build(context.Background(), agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{agents.ProviderReplay: PoolProvider()}})
}

// meanScore is the mean recorded score of model i over d's questions of dom.
func meanScore(d *Dataset, i int, dom tasks.Domain) float64 {
	var sum, n float64
	for _, it := range d.Items {
		if it.Task.Domain == dom {
			sum += it.Outcomes[i].Score
			n++
		}
	}
	return sum / n
}

// TestPoolProviderExample builds examples/pool.replay.yaml and checks each
// entry is the recorded model, priced and skilled from the recording, and
// answers a recorded question with its recorded reply.
func TestPoolProviderExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/pool.replay.yaml")
	require.NoError(t, err)
	pool, err := buildPoolFile(t, "pool.replay.yaml", data)
	require.NoError(t, err)
	require.Equal(t, []string{"gpt-4", "mixtral-8x7b"}, pool.Names())

	d := load(t, "gsm8k")
	reg, err := roles.Default()
	require.NoError(t, err)
	role := solver(t, reg, tasks.DomainMath)
	it := d.Items[0]
	for name, recorded := range map[string]string{"gpt-4": RouteLLMStrong, "mixtral-8x7b": RouteLLMWeak} {
		t.Run(name, func(t *testing.T) {
			m, err := pool.Get(name)
			require.NoError(t, err)
			i, err := d.ModelIndex(recorded)
			require.NoError(t, err)
			assert.Equal(t, agents.ProviderReplay, m.Provider)
			assert.Equal(t, d.Models[i].Price, m.Price, "price from RouteLLM's list")
			assert.Equal(t, d.Models[i].Description, m.Description)
			assert.Equal(t, map[string]float64{"math": meanScore(d, i, tasks.DomainMath)}, m.Skills, "skill: mean recorded score")
			_, resilient := m.LLM.(*agents.Resilient)
			assert.True(t, resilient, "pool-file entries are wrapped for resilience")

			rep, err := agents.Agent{Role: role, Model: m}.Run(context.Background(), agents.Request{Query: it.Task.Query})
			require.NoError(t, err)
			assert.Equal(t, it.Reply(i), rep.Text)
			score, err := tasks.Score(context.Background(), it.Task, rep.Text)
			require.NoError(t, err)
			assert.Equal(t, it.Outcomes[i].Score, score, "scored as recorded")
			assert.Positive(t, rep.Usage.PromptTokens)
			assert.Positive(t, rep.Usage.CompletionTokens)
			assert.Equal(t, m.Price.Cost(rep.Usage), rep.Dollars)

			// GSM8K's first test question is one RouteLLM removed as
			// contaminated: the model says it has no recorded answer.
			ts, err := tasks.Load("gsm8k", "test")
			require.NoError(t, err)
			_, recordedQ := d.Item(ts[0].ID)
			require.False(t, recordedQ)
			rep, err = agents.Agent{Role: role, Model: m}.Run(context.Background(), agents.Request{Query: ts[0].Query})
			require.NoError(t, err)
			assert.Equal(t, "I replay "+recorded+"'s recorded answers to the routellm/gsm8k questions, and this question is not among them, so I have no answer to give.", rep.Text)
		})
	}
}

// TestPoolProviderSources builds a pool of each recording, and one whose
// entries override the recording's defaults.
func TestPoolProviderSources(t *testing.T) {
	lr := load(t, "llmrouter")
	cheapest := lr.Models[0]
	t.Run("llmrouter", func(t *testing.T) {
		pool, err := buildPoolFile(t, "pool.yaml", []byte("replay: {source: llmrouter}\nmodels:\n  - name: cheap\n    provider: replay\n    model: "+cheapest.Name+"\n"))
		require.NoError(t, err)
		m, err := pool.Get("cheap")
		require.NoError(t, err)
		assert.Equal(t, cheapest.Price, m.Price)
		require.Len(t, m.Skills, 3+14, "three domains and one skill per LLMRouter task (tasks.Task.SkillKey)")
		for _, dom := range []tasks.Domain{tasks.DomainMath, tasks.DomainCommonsense, tasks.DomainCode} {
			assert.InDelta(t, meanScore(lr, 0, dom), m.Skills[string(dom)], 1e-12, dom)
		}
		it := lr.Items[0]
		resp, err := m.LLM.Call(context.Background(), it.Task.Query)
		require.NoError(t, err)
		assert.Equal(t, it.Reply(0), resp)
	})
	t.Run("routellm mmlu", func(t *testing.T) {
		mmlu := load(t, "mmlu")
		pool, err := buildPoolFile(t, "pool.yaml", []byte("replay: {source: routellm, benchmark: mmlu}\nmodels:\n  - {name: mixtral, provider: replay, model: "+RouteLLMWeak+"}\n"))
		require.NoError(t, err)
		m, err := pool.Get("mixtral")
		require.NoError(t, err)
		assert.Equal(t, map[string]float64{"commonsense": meanScore(mmlu, mmlu.Weak, tasks.DomainCommonsense)}, m.Skills)
		it := mmlu.Items[0]
		resp, err := m.LLM.Call(context.Background(), it.Task.Query)
		require.NoError(t, err)
		assert.Equal(t, it.Reply(mmlu.Weak), resp)
	})
	t.Run("overrides", func(t *testing.T) {
		file := "replay: {source: routellm, benchmark: gsm8k}\nmodels:\n  - name: " + RouteLLMStrong + "\n    provider: replay\n    price: {input_per_million: 1, output_per_million: 2}\n    description: discounted\n    skills: {math: 0.5}\n    max_tokens: 8\n"
		pool, err := buildPoolFile(t, "pool.yaml", []byte(file))
		require.NoError(t, err)
		m, err := pool.Get(RouteLLMStrong)
		require.NoError(t, err, "model defaults to the entry's name")
		assert.Equal(t, agents.Price{InputPerMillion: 1, OutputPerMillion: 2}, m.Price)
		assert.Equal(t, "discounted", m.Description)
		assert.Equal(t, map[string]float64{"math": 0.5}, m.Skills)
		assert.Equal(t, 8, m.MaxTokens)
	})
}

// TestPoolFileSourceNames checks the pool file and this package name the
// recorded sources alike.
func TestPoolFileSourceNames(t *testing.T) {
	assert.Equal(t, SourceRouteLLM, agents.ReplaySourceRouteLLM)
	assert.Equal(t, SourceLLMRouter, agents.ReplaySourceLLMRouter)
	for _, b := range RouteLLMBenchmarks() {
		f, err := agents.ParsePoolFile("pool.yaml", []byte("replay: {source: routellm, benchmark: "+b+"}\nmodels:\n  - {name: a, provider: replay}\n"))
		require.NoError(t, err, b)
		assert.Equal(t, b, f.Replay.Benchmark)
	}
}

func TestPoolProviderErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    string
		wantErr error
	}{
		{
			name:    "unknown routellm model",
			file:    "replay: {source: routellm, benchmark: gsm8k}\nmodels:\n  - name: gpt-4\n    provider: replay\n    model: gpt-4o\n",
			want:    `pool.yaml:5: models[0].model: replay: unknown model "gpt-4o" in routellm/gsm8k (have gpt-4-1106-preview, mistralai/Mixtral-8x7B-Instruct-v0.1)`,
			wantErr: agents.ErrUnknownModel,
		},
		{
			name:    "name is not a recorded model",
			file:    "replay:\n  source: routellm\n  benchmark: gsm8k\nmodels:\n  - {name: mixtral, provider: replay}\n",
			want:    `pool.yaml:5: models[0].model: replay: unknown model "mixtral" in routellm/gsm8k (have gpt-4-1106-preview, mistralai/Mixtral-8x7B-Instruct-v0.1)`,
			wantErr: agents.ErrUnknownModel,
		},
		{
			name:    "unknown llmrouter model",
			file:    "replay: {source: llmrouter}\nmodels:\n  - {name: a, provider: replay, model: " + RouteLLMStrong + "}\n",
			want:    `pool.yaml:3: models[0].model: replay: unknown model "gpt-4-1106-preview" in llmrouter/llmrouter (have `,
			wantErr: agents.ErrUnknownModel,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildPoolFile(t, "pool.yaml", []byte(tt.file))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.ErrorIs(t, err, tt.wantErr)
			var pe *agents.PoolFileError
			assert.ErrorAs(t, err, &pe)
		})
	}
}

// TestPoolProviderWithoutReplayBlock checks a pool file built by hand with
// replay entries but no replay block is refused with a clear error.
func TestPoolProviderWithoutReplayBlock(t *testing.T) {
	f := &agents.PoolFile{Name: "pool.yaml", Models: []agents.ModelSpec{{Name: "a", Provider: agents.ProviderReplay, Model: "a", Timeout: agents.DefaultCallTimeout}}}
	_, err := f.Build(context.Background(), agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{agents.ProviderReplay: PoolProvider()}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "models[0].provider: provider replay needs a top-level replay block")
}
