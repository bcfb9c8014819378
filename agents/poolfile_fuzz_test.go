package agents_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/masrouter/masrouter/agents"
)

// fuzzKey is planted in seeds; no error may ever repeat it.
const fuzzKey = "sk-fuzz-9f8e7d6c5b4a39281706"

func FuzzParsePoolFile(f *testing.F) {
	for _, path := range []string{"../examples/pool.sim.yaml", "../examples/pool.openai.yaml", "../examples/pool.replay.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		fullPool,
		"",
		"models: []",
		"models:\n  - {name: a, provider: sim, fallback: b}\n  - {name: b, provider: sim, fallback: a}\n",
		"models:\n  - name: m\n    provider: openai\n    api_key: " + fuzzKey + "\n",
		"models:\n  - name: m\n    provider: openai\n    api_key_env: " + fuzzKey + "\n",
		"x: &a [*a]\nmodels: *a\n",
		"base: &b {name: a, provider: sim}\nmodels: [*b, *b]\n",
		"models:\n  - name: m\n    provider: openai\n    price: {input_per_million: 1e400, output_per_million: .nan}\n",
		"sim: {seed: 99999999999999999999}\nmodels:\n  - {name: a, provider: sim}\n",
		"replay: {source: llmrouter}\nmodels:\n  - {name: a, provider: replay, model: qwen2.5-7b-instruct}\n",
		"replay: {source: routellm, benchmark: mmlu, api_key: " + fuzzKey + "}\nmodels:\n  - {name: a, provider: replay}\n",
		"replay: &r {source: routellm}\nmodels:\n  - {name: a, provider: replay, fallback: *r}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := agents.ParsePoolFile("pool.yaml", data)
		if err != nil {
			if pf != nil {
				t.Fatal("a file with errors was returned")
			}
			var pe *agents.PoolFileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %q is not a PoolFileError", err)
			}
			if pe.Line < 1 {
				t.Fatalf("error %q has line %d", err, pe.Line)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "pool.yaml:") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			if strings.Contains(err.Error(), fuzzKey) {
				t.Fatalf("error repeats the key: %q", err)
			}
			return
		}
		switch r := pf.Replay; {
		case r.Source == agents.ReplaySourceRouteLLM && r.Benchmark != "gsm8k" && r.Benchmark != "mmlu",
			r.Source == agents.ReplaySourceLLMRouter && r.Benchmark != "",
			r.Source == "" && r.Benchmark != "",
			r.Source != "" && r.Source != agents.ReplaySourceRouteLLM && r.Source != agents.ReplaySourceLLMRouter:
			t.Fatalf("impossible replay block accepted: %+v", r)
		}
		names := map[string]bool{}
		for i, m := range pf.Models {
			if m.Name == "" || m.Provider == "" || m.Model == "" {
				t.Fatalf("model %d lacks name, provider or model: %+v", i, m)
			}
			if names[m.Name] {
				t.Fatalf("name %q twice", m.Name)
			}
			names[m.Name] = true
			if m.Timeout <= 0 || m.MaxRetries < 0 || m.MaxRetries > agents.MaxRetriesLimit || m.MaxTokens < 0 {
				t.Fatalf("model %d has impossible limits: %+v", i, m)
			}
			if m.Price != nil && (m.Price.InputPerMillion < 0 || m.Price.OutputPerMillion < 0) {
				t.Fatalf("model %d has a negative price", i)
			}
			switch m.Provider {
			case agents.ProviderOpenAI, agents.ProviderAnthropic, agents.ProviderOllama:
				if m.Price == nil || m.BaseURL == "" {
					t.Fatalf("HTTP model %d lacks a price or URL", i)
				}
			case agents.ProviderReplay:
				if pf.Replay.Source == "" {
					t.Fatalf("replay model %d accepted without a replay source", i)
				}
			}
		}
		for _, m := range pf.Models {
			// Following fallbacks always ends.
			seen := map[string]bool{}
			for cur := m.Name; cur != ""; {
				if seen[cur] {
					t.Fatalf("fallback loop through %q accepted", cur)
				}
				seen[cur] = true
				next := ""
				for _, x := range pf.Models {
					if x.Name == cur {
						next = x.Fallback
					}
				}
				if next != "" && !names[next] {
					t.Fatalf("fallback %q names no model", next)
				}
				cur = next
			}
		}
	})
}
