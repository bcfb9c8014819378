package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/masrouter/masrouter/agents"
)

// PoolProvider returns the factory that builds a pool file's replay entries
// (agents.PoolFileOptions.Providers["replay"]). The file's replay block
// names the recording (source, and benchmark for RouteLLM), which is loaded
// once for all the file's replay entries. An entry's model names a recorded
// model of that source (default: its name). Its price defaults to the
// source's price list, its description to the recorded model's, and its
// skills to its mean recorded score per domain over every recorded
// question of the benchmark.
//
// The models answer as Model does: a recorded question (sent verbatim)
// gets the recorded reply, and any other question a reply saying that it
// is not in the recording, not an error.
func PoolProvider() agents.ProviderFactory {
	return func(_ context.Context, f *agents.PoolFile) (agents.Provider, error) {
		d, err := loadSettings(f.Replay)
		if err != nil {
			return nil, err
		}
		skills, err := d.skills(d.Tasks())
		if err != nil {
			return nil, f.Replay.Error("source", err)
		}
		return agents.ProviderFunc(func(_ context.Context, s agents.ModelSpec) (*agents.Model, error) {
			i, err := d.ModelIndex(s.Model)
			if err != nil {
				return nil, s.Error("model", err)
			}
			info := d.Models[i]
			return &agents.Model{
				LLM:         &Model{data: d, index: i},
				Price:       info.Price,
				Description: info.Description,
				Skills:      maps.Clone(skills[i]),
			}, nil
		}), nil
	}
}

// loadSettings loads the recording a pool file's replay block names.
func loadSettings(s agents.ReplaySettings) (*Dataset, error) {
	switch s.Source {
	case "":
		return nil, errors.New("provider replay needs a top-level replay block naming the recording, e.g. replay: {source: routellm, benchmark: gsm8k}")
	case SourceRouteLLM:
		d, err := LoadRouteLLM(s.Benchmark)
		if err != nil {
			return nil, s.Error("benchmark", err)
		}
		return d, nil
	case SourceLLMRouter:
		if s.Benchmark != "" {
			return nil, s.Error("benchmark", fmt.Errorf("does not apply to source %s", SourceLLMRouter))
		}
		d, err := LoadLLMRouter()
		if err != nil {
			return nil, s.Error("source", err)
		}
		return d, nil
	}
	return nil, s.Error("source", fmt.Errorf("%q is not a recorded source (want %s or %s)", s.Source, SourceRouteLLM, SourceLLMRouter))
}
