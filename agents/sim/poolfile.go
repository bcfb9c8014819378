package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/masrouter/masrouter/agents"
)

// PoolProvider returns the factory that builds a pool file's sim entries
// (agents.PoolFileOptions.Providers["sim"]). The file's entries share one
// World, made from base with the file's sim block applied (seed,
// benchmarks, time_scale). An entry's model names a catalog model (default:
// its name); its price, description and skills default to the catalog's.
func PoolProvider(base Config) agents.ProviderFactory {
	return func(_ context.Context, f *agents.PoolFile) (agents.Provider, error) {
		cfg := base
		cfg.Seed = f.Sim.Seed
		if len(f.Sim.Benchmarks) > 0 {
			cfg.Benchmarks = append([]string(nil), f.Sim.Benchmarks...)
		}
		cfg.TimeScale = f.Sim.TimeScale
		for i, b := range cfg.Benchmarks {
			if _, ok := indexSplits[b]; !ok {
				known := slices.Sorted(maps.Keys(indexSplits))
				return nil, f.Sim.Error(fmt.Sprintf("benchmarks[%d]", i), fmt.Errorf("%q cannot be simulated (want one of %s)", b, strings.Join(known, ", ")))
			}
		}
		w, err := NewWorld(cfg)
		if err != nil {
			return nil, f.Sim.Error("benchmarks", err)
		}
		return agents.ProviderFunc(func(_ context.Context, s agents.ModelSpec) (*agents.Model, error) {
			llm, err := w.Model(s.Model)
			if err != nil {
				return nil, s.Error("model", err)
			}
			p := llm.profile
			return &agents.Model{
				LLM:         llm,
				Price:       agents.Price{InputPerMillion: p.Price.InputPerMillion, OutputPerMillion: p.Price.OutputPerMillion},
				Description: p.Description,
				Skills:      domainSkills(*p),
			}, nil
		}), nil
	}
}
