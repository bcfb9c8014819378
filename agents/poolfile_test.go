package agents_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/internal/providertest"
)

const fullPool = `# a pool with every HTTP provider
defaults:
  timeout: 45s
  max_retries: 3
models:
  - name: gpt-4o-mini
    provider: openai
    api_key_env: TEST_OPENAI_KEY
    price: {input_per_million: 0.15, output_per_million: 0.60}
    description: cheap
    skills: {math: 0.786, commonsense: 0.82}
  - name: local
    provider: openai
    model: meta-llama/Llama-3.1-8B-Instruct
    base_url: http://localhost:8000/v1/
    price: {input_per_million: 0, output_per_million: 0}
    timeout: 2m
    max_retries: 0
    max_tokens: 512
    fallback: gpt-4o-mini
  - name: claude
    provider: anthropic
    model: claude-3-5-sonnet-20240620
    api_key_env: TEST_ANTHROPIC_KEY
    price:
      input_per_million: 3
      output_per_million: 15
    fallback: local
  - name: qwen
    provider: ollama
    model: qwen2.5:7b
    price: {input_per_million: 0, output_per_million: 0}
`

func fakeEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func TestParsePoolFile(t *testing.T) {
	f, err := agents.ParsePoolFile("pool.yaml", []byte(fullPool))
	require.NoError(t, err)
	require.Len(t, f.Models, 4)
	m := f.Models[0]
	assert.Equal(t, "gpt-4o-mini", m.Name)
	assert.Equal(t, "gpt-4o-mini", m.Model, "model defaults to name")
	assert.Equal(t, agents.DefaultOpenAIBaseURL, m.BaseURL)
	assert.Equal(t, "TEST_OPENAI_KEY", m.APIKeyEnv)
	assert.Equal(t, &agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.60}, m.Price)
	assert.Equal(t, map[string]float64{"math": 0.786, "commonsense": 0.82}, m.Skills)
	assert.Equal(t, 45*time.Second, m.Timeout, "from defaults")
	assert.Equal(t, 3, m.MaxRetries, "from defaults")
	assert.Equal(t, 6, m.Line)

	local := f.Models[1]
	assert.Equal(t, "http://localhost:8000/v1", local.BaseURL, "trailing slash trimmed")
	assert.Equal(t, 2*time.Minute, local.Timeout)
	assert.Equal(t, 0, local.MaxRetries)
	assert.Equal(t, 512, local.MaxTokens)
	assert.Equal(t, "gpt-4o-mini", local.Fallback)
	assert.Empty(t, local.APIKeyEnv)

	assert.Equal(t, agents.DefaultAnthropicBaseURL, f.Models[2].BaseURL)
	assert.Equal(t, agents.DefaultOllamaBaseURL, f.Models[3].BaseURL)
}

func TestPoolFileBuild(t *testing.T) {
	f, err := agents.ParsePoolFile("pool.yaml", []byte(fullPool))
	require.NoError(t, err)
	pool, err := f.Build(context.Background(), agents.PoolFileOptions{LookupEnv: fakeEnv(map[string]string{
		"TEST_OPENAI_KEY": "sk-test-openai", "TEST_ANTHROPIC_KEY": "sk-ant-test",
	})})
	require.NoError(t, err)
	assert.Equal(t, []string{"gpt-4o-mini", "local", "claude", "qwen"}, pool.Names())

	claude, err := pool.Get("claude")
	require.NoError(t, err)
	assert.Equal(t, "anthropic", claude.Provider)
	assert.Equal(t, agents.Price{InputPerMillion: 3, OutputPerMillion: 15}, claude.Price)
	r, ok := claude.LLM.(*agents.Resilient)
	require.True(t, ok, "every entry is wrapped for resilience")
	assert.Equal(t, 45*time.Second, r.Policy().Timeout)
	assert.Equal(t, 3, r.Policy().MaxRetries)
	var chain []string
	for _, fb := range claude.Fallbacks() {
		chain = append(chain, fb.Name)
	}
	assert.Equal(t, []string{"local", "gpt-4o-mini"}, chain)
	assert.Equal(t, agents.Price{InputPerMillion: 3, OutputPerMillion: 15}, claude.PriceCeiling())

	local, err := pool.Get("local")
	require.NoError(t, err)
	assert.Equal(t, 512, local.MaxTokens)
	assert.Equal(t, agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.60}, local.PriceCeiling(), "its fallback is dearer")
	mini, err := pool.Get("gpt-4o-mini")
	require.NoError(t, err)
	assert.Equal(t, "cheap", mini.Description)
}

// TestPoolFileKeysOnTheWire checks each entry sends the key from its
// environment variable, and an entry without one sends no Authorization
// header at all (not even the placeholder the OpenAI client insists on).
func TestPoolFileKeysOnTheWire(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	oa := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned)})
	defer oa.Close()
	an := providertest.New(providertest.Config{Wire: providertest.Anthropic, Backend: providertest.Static(canned)})
	defer an.Close()
	file := `models:
  - name: keyed
    provider: openai
    base_url: ` + oa.URL + `
    api_key_env: TEST_KEY
    price: {input_per_million: 1, output_per_million: 2}
  - name: keyless
    provider: openai
    model: local-model
    base_url: ` + oa.URL + `
    price: {input_per_million: 0, output_per_million: 0}
  - name: claude
    provider: anthropic
    base_url: ` + an.URL + `
    api_key_env: TEST_ANTHROPIC
    price: {input_per_million: 3, output_per_million: 15}
`
	f, err := agents.ParsePoolFile("pool.yaml", []byte(file))
	require.NoError(t, err)
	pool, err := f.Build(context.Background(), agents.PoolFileOptions{LookupEnv: fakeEnv(map[string]string{"TEST_KEY": "sk-from-env", "TEST_ANTHROPIC": "ant-from-env"})})
	require.NoError(t, err)
	for _, name := range pool.Names() {
		m, err := pool.Get(name)
		require.NoError(t, err)
		rep, err := agents.Agent{Role: mathSolver, Model: m}.Run(context.Background(), providerRequest)
		require.NoError(t, err, name)
		assert.Equal(t, cannedText, rep.Text)
		require.Len(t, rep.Attempts, 1)
		assert.Equal(t, http.StatusOK, rep.Attempts[0].Status)
	}
	reqs := oa.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "Bearer sk-from-env", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "keyed", reqs[0].Model)
	assert.Empty(t, reqs[1].Header.Values("Authorization"))
	assert.Equal(t, "local-model", reqs[1].Model)
	areqs := an.Requests()
	require.Len(t, areqs, 1)
	assert.Equal(t, "ant-from-env", areqs[0].Header.Get("X-Api-Key"))
}

// TestPoolFileRetriesOnTheWire: the built pool's clients report statuses and
// Retry-After to the resilience layer.
func TestPoolFileRetriesOnTheWire(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned), Fault: faultOnce(providertest.RateLimit), RetryAfter: "2"})
	defer srv.Close()
	file := "models:\n  - name: m\n    provider: openai\n    base_url: " + srv.URL + "\n    price: {input_per_million: 1, output_per_million: 1}\n"
	f, err := agents.ParsePoolFile("pool.yaml", []byte(file))
	require.NoError(t, err)
	clock := newFakeClock()
	pool, err := f.Build(context.Background(), agents.PoolFileOptions{Clock: clock, Jitter: func() float64 { return 0 }})
	require.NoError(t, err)
	m, err := pool.Get("m")
	require.NoError(t, err)
	rep, err := agents.Agent{Role: mathSolver, Model: m}.Run(context.Background(), providerRequest)
	require.NoError(t, err)
	require.Len(t, rep.Attempts, 2)
	assert.Equal(t, 429, rep.Attempts[0].Status)
	assert.Equal(t, 2*time.Second, rep.Attempts[0].Wait)
	assert.Equal(t, []time.Duration{2 * time.Second}, clock.slept())
}

func TestPoolFileErrors(t *testing.T) {
	const head = "models:\n  - name: m\n    provider: openai\n    base_url: http://localhost:8000/v1\n"
	const price = "    price: {input_per_million: 1, output_per_million: 2}\n"
	tests := []struct {
		name string
		file string
		want []string // each a whole "file:line: field: problem" prefix or substring
	}{
		{"empty", "", []string{"pool.yaml:1: models: the file is empty"}},
		{"not a mapping", "- a\n- b\n", []string{"pool.yaml:1: (file): want a mapping"}},
		{"syntax", "models:\n  - name: [\n", []string{"pool.yaml:2: (file): not valid YAML: line 2: did not find expected node content"}},
		{"no models", "defaults: {timeout: 1s}\n", []string{"pool.yaml:1: models: missing"}},
		{"models empty", "models: []\n", []string{"pool.yaml:1: models: empty"}},
		{"models not a list", "models: {a: 1}\n", []string{"pool.yaml:1: models: want a list of models, found a mapping"}},
		{"unknown top field", "model: x\n" + head + price, []string{"pool.yaml:1: model: unknown field (want models, defaults, sim or replay)"}},
		{"unknown field", head + price + "    temperature: 0.2\n", []string{"pool.yaml:6: models[0].temperature: unknown field (want name, provider"}},
		{"literal key", head + price + "    api_key: sk-proj-abcdef123456\n", []string{"pool.yaml:6: models[0].api_key: keys never go in the pool file; put the key in an environment variable and name the variable in api_key_env"}},
		{"literal token", head + price + "    Token: abc\n", []string{"pool.yaml:6: models[0].Token: keys never go in the pool file"}},
		{"key in api_key_env", head + price + "    api_key_env: sk-proj-abcdef123456\n", []string{"pool.yaml:6: models[0].api_key_env: want the name of an environment variable"}},
		{"missing name and provider", "models:\n  - model: x\n", []string{"pool.yaml:2: models[0].name: missing", "pool.yaml:2: models[0].provider: missing"}},
		{"unknown provider", "models:\n  - name: m\n    provider: opena\n", []string{`pool.yaml:3: models[0].provider: "opena" is not one of openai, anthropic, ollama, sim, replay`}},
		{"name with spaces", "models:\n  - name: my model\n    provider: sim\n", []string{`pool.yaml:2: models[0].name: "my model" holds spaces`}},
		{"missing price", head, []string{"pool.yaml:2: models[0].price: missing: give the list price"}},
		{"half a price", head + "    price: {input_per_million: 1}\n", []string{"pool.yaml:5: models[0].price.output_per_million: missing"}},
		{"negative price", head + "    price: {input_per_million: -1, output_per_million: 2}\n", []string{"pool.yaml:5: models[0].price.input_per_million: -1 is out of range [0, 1e+06]"}},
		{"price is text", head + "    price: {input_per_million: cheap, output_per_million: 2}\n", []string{`pool.yaml:5: models[0].price.input_per_million: want a number, found "cheap"`}},
		{"price unknown field", head + "    price: {input_per_million: 1, output_per_million: 2, cached: 1}\n", []string{"pool.yaml:5: models[0].price.cached: unknown field"}},
		{"skill out of range", head + price + "    skills: {math: 1.5}\n", []string{"pool.yaml:6: models[0].skills.math: 1.5 is out of range [0, 1]"}},
		{"unknown domain", head + price + "    skills: {maths: 0.5}\n", []string{"pool.yaml:6: models[0].skills.maths: unknown domain (want math, commonsense, code)"}},
		{"bad timeout", head + price + "    timeout: 30\n", []string{`pool.yaml:6: models[0].timeout: want a duration such as 30s or 2m, found "30"`}},
		{"negative timeout", head + price + "    timeout: -1s\n", []string{"pool.yaml:6: models[0].timeout: -1s is out of range"}},
		{"retries out of range", head + price + "    max_retries: 11\n", []string{"pool.yaml:6: models[0].max_retries: 11 is out of range [0, 10]"}},
		{"retries not whole", head + price + "    max_retries: 1.5\n", []string{`pool.yaml:6: models[0].max_retries: want a whole number, found "1.5"`}},
		{"max tokens negative", head + price + "    max_tokens: -5\n", []string{"pool.yaml:6: models[0].max_tokens: -5 is out of range"}},
		{"url credentials", "models:\n  - name: m\n    provider: openai\n    base_url: https://user:pw@example.com/v1\n" + price, []string{"pool.yaml:4: models[0].base_url: the URL holds credentials"}},
		{"url scheme", "models:\n  - name: m\n    provider: openai\n    base_url: ftp://example.com\n" + price, []string{"pool.yaml:4: models[0].base_url: want an http:// or https:// URL"}},
		{"url query", "models:\n  - name: m\n    provider: openai\n    base_url: https://example.com/v1?key=x\n" + price, []string{"pool.yaml:4: models[0].base_url: the URL must not have a query"}},
		{"openai without key", "models:\n  - name: m\n    provider: openai\n" + price, []string{"pool.yaml:2: models[0].api_key_env: missing: OpenAI's API needs a key"}},
		{"anthropic without key", "models:\n  - name: m\n    provider: anthropic\n" + price, []string{"pool.yaml:2: models[0].api_key_env: missing: Anthropic's API needs a key"}},
		{"ollama with key", "models:\n  - name: m\n    provider: ollama\n    api_key_env: K\n" + price, []string{"pool.yaml:4: models[0].api_key_env: does not apply to provider ollama"}},
		{"sim with url", "models:\n  - name: m\n    provider: sim\n    base_url: http://x\n", []string{"pool.yaml:4: models[0].base_url: does not apply to provider sim"}},
		{"duplicate names", "models:\n  - {name: a, provider: sim}\n  - {name: a, provider: sim}\n", []string{`pool.yaml:3: models[1].name: "a" is already the name of models[0]`}},
		{"duplicate key", "models:\n  - name: a\n    name: b\n    provider: sim\n", []string{"pool.yaml:3: models[0].name: listed twice"}},
		{"unknown fallback", "models:\n  - {name: a, provider: sim, fallback: b}\n", []string{`pool.yaml:2: models[0].fallback: no model is named "b"`}},
		{"self fallback", "models:\n  - {name: a, provider: sim, fallback: a}\n", []string{"pool.yaml:2: models[0].fallback: a model cannot fall back to itself"}},
		{"fallback loop", "models:\n  - {name: a, provider: sim, fallback: b}\n  - {name: b, provider: sim, fallback: c}\n  - {name: c, provider: sim, fallback: a}\n",
			[]string{"pool.yaml:2: models[0].fallback: fallback loop a -> b -> c -> a", "pool.yaml:3: models[1].fallback: fallback loop b -> c -> a -> b", "pool.yaml:4: models[2].fallback: fallback loop c -> a -> b -> c"}},
		{"merge key", "base: &b {provider: sim}\nmodels:\n  - <<: *b\n    name: a\n", []string{"pool.yaml:1: base: unknown field", "pool.yaml:3: models[0]: merge keys (<<) are not supported", "pool.yaml:3: models[0].provider: missing"}},
		{"entry not a mapping", "models:\n  - gpt-4o\n", []string{"pool.yaml:2: models[0]: want a mapping with name and provider, found a single value"}},
		{"sim block", "sim: {seed: x, benchmarks: gsm8k, time_scale: -1, speed: 2}\nmodels:\n  - {name: a, provider: sim}\n",
			[]string{`pool.yaml:1: sim.seed: want a whole number, found "x"`, "pool.yaml:1: sim.benchmarks: want a list", "pool.yaml:1: sim.time_scale: -1 is out of range", "pool.yaml:1: sim.speed: unknown field"}},
		{"defaults block", "defaults: {timeout: soon, retries: 2}\nmodels:\n  - {name: a, provider: sim}\n",
			[]string{`pool.yaml:1: defaults.timeout: want a duration such as 30s or 2m, found "soon"`, "pool.yaml:1: defaults.retries: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agents.ParsePoolFile("pool.yaml", []byte(tt.file))
			require.Error(t, err)
			msg := err.Error()
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.Len(t, strings.Split(msg, "\n"), len(tt.want), "exactly the expected problems:\n%s", msg)
			assert.NotContains(t, msg, "sk-proj-abcdef123456", "a key is never echoed")
			var pe *agents.PoolFileError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "pool.yaml", pe.File)
			assert.Positive(t, pe.Line)
		})
	}
}

func TestParsePoolFileReplay(t *testing.T) {
	tests := []struct {
		name, file, source, benchmark string
	}{
		{"routellm gsm8k", "replay: {source: routellm, benchmark: gsm8k}\nmodels:\n  - {name: gpt-4, provider: replay, model: gpt-4-1106-preview}\n", "routellm", "gsm8k"},
		{"routellm mmlu", "replay:\n  source: routellm\n  benchmark: mmlu\nmodels:\n  - {name: gpt-4, provider: replay, model: gpt-4-1106-preview}\n", "routellm", "mmlu"},
		{"llmrouter", "replay: {source: llmrouter}\nmodels:\n  - {name: qwen, provider: replay, model: qwen2.5-7b-instruct}\n", "llmrouter", ""},
		{"block without replay entries", "replay: {source: llmrouter}\nmodels:\n  - {name: a, provider: sim}\n", "llmrouter", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := agents.ParsePoolFile("pool.yaml", []byte(tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.source, f.Replay.Source)
			assert.Equal(t, tt.benchmark, f.Replay.Benchmark)
			require.Len(t, f.Models, 1)
			assert.Nil(t, f.Models[0].Price, "a replay entry may leave the price to the recording")
		})
	}
	f, err := agents.ParsePoolFile("pool.yaml", []byte("models:\n  - {name: a, provider: sim}\n"))
	require.NoError(t, err)
	assert.Empty(t, f.Replay.Source, "no replay block")
}

func TestPoolFileReplayErrors(t *testing.T) {
	const entry = "models:\n  - {name: gpt-4, provider: replay, model: gpt-4-1106-preview}\n"
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"entry without block", entry, []string{"pool.yaml:2: models[0].provider: provider replay needs a top-level replay block naming the recording, e.g. replay: {source: routellm, benchmark: gsm8k}"}},
		{"block not a mapping", "replay: routellm\n" + entry, []string{"pool.yaml:1: replay: want a mapping, found a single value"}},
		{"block empty", "replay:\n" + entry, []string{"pool.yaml:1: replay: want a mapping, found nothing"}},
		{"source missing", "replay: {benchmark: gsm8k}\n" + entry, []string{"pool.yaml:1: replay.source: missing: name the recording, routellm or llmrouter"}},
		{"source empty", "replay: {source: '', benchmark: gsm8k}\n" + entry, []string{"pool.yaml:1: replay.source: empty"}},
		{"source a list", "replay:\n  source: [routellm]\n" + entry, []string{"pool.yaml:2: replay.source: want a single value, found a list"}},
		{"unknown source", "replay:\n  source: routelm\n  benchmark: gsm8k\n" + entry, []string{`pool.yaml:2: replay.source: "routelm" is not a recorded source (want routellm or llmrouter)`}},
		{"routellm without benchmark", "replay: {source: routellm}\n" + entry, []string{"pool.yaml:1: replay.benchmark: missing: source routellm recorded gsm8k and mmlu; name one"}},
		{"routellm unknown benchmark", "replay:\n  source: routellm\n  benchmark: math\n" + entry, []string{`pool.yaml:3: replay.benchmark: "math" is not a benchmark of source routellm (want gsm8k or mmlu)`}},
		{"llmrouter with benchmark", "replay:\n  source: llmrouter\n  benchmark: gsm8k\n" + entry, []string{"pool.yaml:3: replay.benchmark: does not apply to source llmrouter, whose recording is one benchmark of mixed tasks"}},
		{"unknown field", "replay: {source: llmrouter, seed: 1}\n" + entry, []string{"pool.yaml:1: replay.seed: unknown field (want source and, for routellm, benchmark)"}},
		{"field twice", "replay:\n  source: llmrouter\n  source: routellm\n" + entry, []string{"pool.yaml:3: replay.source: listed twice"}},
		{"key in the block", "replay: {source: llmrouter, api_key: " + "sk-proj-abcdef123456}\n" + entry, []string{"pool.yaml:1: replay.api_key: unknown field"}},
		{"replay entry with url", "replay: {source: llmrouter}\nmodels:\n  - name: a\n    provider: replay\n    base_url: http://localhost:8000/v1\n", []string{"pool.yaml:5: models[0].base_url: does not apply to provider replay"}},
		{"replay entry with key variable", "replay: {source: llmrouter}\nmodels:\n  - name: a\n    provider: replay\n    api_key_env: OPENAI_API_KEY\n", []string{"pool.yaml:5: models[0].api_key_env: does not apply to provider replay"}},
		{"replay entry skill domain", "replay: {source: llmrouter}\nmodels:\n  - name: a\n    provider: replay\n    skills: {gsm8k: 0.9}\n", []string{"pool.yaml:5: models[0].skills.gsm8k: unknown domain (want math, commonsense, code)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agents.ParsePoolFile("pool.yaml", []byte(tt.file))
			require.Error(t, err)
			msg := err.Error()
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.Len(t, strings.Split(msg, "\n"), len(tt.want), "exactly the expected problems:\n%s", msg)
			assert.NotContains(t, msg, "sk-proj-abcdef123456", "a key is never echoed")
			var pe *agents.PoolFileError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "pool.yaml", pe.File)
			assert.Positive(t, pe.Line)
		})
	}
}

func TestPoolFileBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		opts    agents.PoolFileOptions
		want    string
		wantErr error
	}{
		{
			name: "key variable unset",
			file: "models:\n  - name: m\n    provider: openai\n    api_key_env: NOT_SET_ANYWHERE\n    price: {input_per_million: 1, output_per_million: 2}\n",
			opts: agents.PoolFileOptions{LookupEnv: fakeEnv(nil)},
			want: "pool.yaml:4: models[0].api_key_env: environment variable NOT_SET_ANYWHERE is not set or empty",
		},
		{
			name: "key variable empty",
			file: "models:\n  - name: m\n    provider: anthropic\n    api_key_env: EMPTY\n    price: {input_per_million: 1, output_per_million: 2}\n",
			opts: agents.PoolFileOptions{LookupEnv: fakeEnv(map[string]string{"EMPTY": "  "})},
			want: "pool.yaml:4: models[0].api_key_env: environment variable EMPTY is not set or empty",
		},
		{
			name:    "replay without its package",
			file:    "replay: {source: routellm, benchmark: gsm8k}\nmodels:\n  - {name: a, provider: sim}\n  - {name: r, provider: replay}\n",
			opts:    agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": stubProvider}},
			want:    "pool.yaml:4: models[1].provider: provider not available: provider replay needs package agents/replay: pass replay.PoolProvider",
			wantErr: agents.ErrProviderUnavailable,
		},
		{
			name:    "sim without its package",
			file:    "models:\n  - {name: a, provider: sim}\n",
			want:    "pool.yaml:2: models[0].provider: provider not available: provider sim needs package agents/sim",
			wantErr: agents.ErrProviderUnavailable,
		},
		{
			name: "sim unknown catalog model",
			file: "sim: {benchmarks: [gsm8k]}\nmodels:\n  - name: a\n    provider: sim\n    model: gpt-5\n",
			opts: agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": sim.PoolProvider(sim.Config{})}},
			want: `pool.yaml:5: models[0].model: sim: unknown model "gpt-5" (catalog has gemini-1.5-flash, gpt-4o-mini`,
		},
		{
			name: "sim unknown benchmark",
			file: "sim:\n  benchmarks: [gsm8k, gsm9k]\nmodels:\n  - name: a\n    provider: sim\n",
			opts: agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": sim.PoolProvider(sim.Config{})}},
			want: `pool.yaml:2: sim.benchmarks[1]: "gsm9k" cannot be simulated (want one of gsm8k,`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := agents.ParsePoolFile("pool.yaml", []byte(tt.file))
			require.NoError(t, err)
			_, err = f.Build(context.Background(), tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

// stubProvider answers every sim entry with the canned model.
func stubProvider(context.Context, *agents.PoolFile) (agents.Provider, error) {
	return agents.ProviderFunc(func(context.Context, agents.ModelSpec) (*agents.Model, error) {
		return &agents.Model{LLM: canned, Price: agents.Price{InputPerMillion: 1, OutputPerMillion: 1}}, nil
	}), nil
}

// TestPoolFileKeyNeverInErrors puts a key into every place a user might
// paste one and checks no error repeats it.
func TestPoolFileKeyNeverInErrors(t *testing.T) {
	const key = "sk-live-0123456789abcdefABCDEF"
	files := []string{
		"models:\n  - name: m\n    provider: openai\n    api_key: " + key + "\n",
		"models:\n  - name: m\n    provider: openai\n    api_key_env: " + key + "\n",
		"models:\n  - name: m\n    provider: " + key + "\n",
		"models:\n  - name: m\n    provider: openai\n    base_url: https://" + key + "@api.example.com\n",
		"models:\n  - name: m\n    provider: openai\n    price: {input_per_million: " + key + ", output_per_million: 1}\n",
		"models:\n  - name: m\n    provider: openai\n    timeout: " + key + "\n",
		"models:\n  - name: m\n    provider: openai\n    fallback: " + key + "\n",
		key + ": 1\nmodels: []\n",
	}
	for i, file := range files {
		_, err := agents.ParsePoolFile("pool.yaml", []byte(file))
		require.Error(t, err, i)
		assert.NotContains(t, err.Error(), key, "file %d", i)
		assert.NotContains(t, err.Error(), "0123456789abcdef", "file %d", i)
	}
}

func TestExamplePoolFiles(t *testing.T) {
	t.Run("openai", func(t *testing.T) {
		for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"} {
			t.Setenv(k, "test-"+strings.ToLower(k))
		}
		t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1")
		pool, err := agents.LoadPoolFile(context.Background(), "../examples/pool.openai.yaml", agents.PoolFileOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"gpt-4o-mini", "gpt-4o", "claude-3.5-sonnet", "llama-3.1-8b-local", "llama-3.1-70b", "qwen2.5-7b-ollama"}, pool.Names())
		for _, m := range pool.Models() {
			assert.NotEmpty(t, m.Description+strings.Join(keys(m.Skills), ""), m.Name)
		}
	})
	t.Run("openai without keys", func(t *testing.T) {
		for _, k := range []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"} {
			t.Setenv(k, "")
		}
		_, err := agents.LoadPoolFile(context.Background(), "../examples/pool.openai.yaml", agents.PoolFileOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "../examples/pool.openai.yaml:")
		assert.Contains(t, err.Error(), "api_key_env: environment variable OPENAI_API_KEY is not set or empty")
	})
	t.Run("sim", func(t *testing.T) {
		data, err := os.ReadFile("../examples/pool.sim.yaml")
		require.NoError(t, err)
		f, err := agents.ParsePoolFile("pool.sim.yaml", data)
		require.NoError(t, err)
		assert.Equal(t, []string{"gsm8k", "math", "mmlu"}, f.Sim.Benchmarks)
		// Build on one benchmark only, to keep the test fast; the file's
		// models and fallbacks are what is checked.
		f.Sim.Benchmarks = []string{"gsm8k"}
		pool, err := f.Build(context.Background(), agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": sim.PoolProvider(sim.Config{})}})
		require.NoError(t, err)
		cat, err := sim.DefaultCatalog()
		require.NoError(t, err)
		require.Equal(t, len(cat.Models), pool.Len())
		for _, p := range cat.Models {
			m, err := pool.Get(p.Name)
			require.NoError(t, err)
			assert.Equal(t, "sim", m.Provider)
			assert.Equal(t, p.Price.InputPerMillion, m.Price.InputPerMillion, "price from the catalog")
			assert.Equal(t, p.Description, m.Description)
			assert.NotEmpty(t, m.Skills)
		}
		sonnet, err := pool.Get("claude-3.5-sonnet")
		require.NoError(t, err)
		assert.Len(t, sonnet.Fallbacks(), 3, "claude → gpt-4o → gpt-4o-mini → gemini")
	})
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPoolFileOverridesProviderDefaults(t *testing.T) {
	file := "sim: {benchmarks: [gsm8k]}\nmodels:\n  - name: cheap-4o\n    provider: sim\n    model: gpt-4o\n    price: {input_per_million: 0.5, output_per_million: 1}\n    description: discounted\n    skills: {math: 0.5}\n    max_tokens: 64\n"
	f, err := agents.ParsePoolFile("pool.yaml", []byte(file))
	require.NoError(t, err)
	pool, err := f.Build(context.Background(), agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": sim.PoolProvider(sim.Config{})}})
	require.NoError(t, err)
	m, err := pool.Get("cheap-4o")
	require.NoError(t, err)
	assert.Equal(t, agents.Price{InputPerMillion: 0.5, OutputPerMillion: 1}, m.Price)
	assert.Equal(t, "discounted", m.Description)
	assert.Equal(t, map[string]float64{"math": 0.5}, m.Skills)
	assert.Equal(t, 64, m.MaxTokens)
	rep, err := agents.Agent{Role: mathSolver, Model: m}.Run(context.Background(), providerRequest)
	require.NoError(t, err)
	assert.Equal(t, m.Price.Cost(rep.Usage), rep.Dollars)
	require.Len(t, rep.Attempts, 1)
	assert.Equal(t, "cheap-4o", rep.Attempts[0].Model)
}

func TestLoadPoolFileMissing(t *testing.T) {
	_, err := agents.LoadPoolFile(context.Background(), "testdata/no-such-pool.yaml", agents.PoolFileOptions{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}
