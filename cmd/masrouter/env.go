package main

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
	"github.com/masrouter/masrouter/train"
)

// envFlags are the flags every command that runs plans shares.
type envFlags struct {
	seed      int64
	budget    float64
	rolesDir  string
	premium   string
	maxAgents int
	policy    string
	allowNew  bool
}

func (f *envFlags) register(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "seed for sampling, the simulator's draws and the router's initialisation")
	cmd.Flags().Float64Var(&f.budget, "budget", 0, "per-query dollar budget; 0 means none")
	cmd.Flags().StringVar(&f.rolesDir, "roles", "", "folder of extra role profiles (*.yaml) to add to the built-in ones")
	cmd.Flags().StringVar(&f.premium, "premium", "gpt-4o", "premium model of the static-delegation baseline")
	cmd.Flags().IntVar(&f.maxAgents, "max-agents", routing.DefaultMaxAgents, "most agents a routed multi-agent plan may use")
	cmd.Flags().StringVar(&f.policy, "policy", "", "trained policy checkpoint (from masrouter train) for the masrouter router; default untrained")
	cmd.Flags().BoolVar(&f.allowNew, "allow-new-models", false, "load --policy into a pool that adds or drops models (scored from their descriptions, no retraining)")
}

// validate checks the flags' values before any work starts.
func (f *envFlags) validate() error {
	if f.budget < 0 || math.IsNaN(f.budget) || math.IsInf(f.budget, 0) {
		return fmt.Errorf("--budget %g: want a dollar amount ≥ 0 (0 means no budget)", f.budget)
	}
	if f.maxAgents < 2 || f.maxAgents > routing.MaxAgentsLimit {
		return fmt.Errorf("--max-agents %d: want 2..%d", f.maxAgents, routing.MaxAgentsLimit)
	}
	if f.allowNew && f.policy == "" {
		return fmt.Errorf("--allow-new-models applies only with --policy")
	}
	return nil
}

// env is what a command needs to route and run plans.
type env struct {
	roles *roles.Registry
	world *sim.World
	pool  *agents.Pool
	exec  *topology.Executor
}

// loadRoles returns the built-in roles plus those of --roles. Commands call
// it before loading tasks, so a bad role file is reported at once.
func (f *envFlags) loadRoles() (*roles.Registry, error) {
	reg, err := roles.Default()
	if err != nil {
		return nil, err
	}
	if f.rolesDir != "" {
		if err := reg.LoadDir(f.rolesDir); err != nil {
			return nil, fmt.Errorf("--roles: %w", err)
		}
	}
	return reg, nil
}

// newEnv builds the simulated pool (which must know the tasks it will be
// asked) and an executor around the role registry reg.
func newEnv(f *envFlags, reg *roles.Registry, ts []*tasks.Task) (*env, error) {
	benches := map[string]bool{}
	var extra []*tasks.Task
	for _, t := range ts {
		switch t.Benchmark {
		case "gsm8k", "mmlu", "math", "math500", "humaneval", "mbpp":
			b := t.Benchmark
			if b == "math500" {
				b = "math"
			}
			benches[b] = true
			if !strings.Contains(t.ID, "/test/") {
				extra = append(extra, t) // e.g. GSM8K train, MMLU dev, MBPP train
			}
		case "cli":
			// A question typed on the command line is in the simulator's
			// answer key only when the user gave its gold answer; without
			// one the simulator says honestly that it cannot answer.
			if strings.TrimSpace(t.Gold) != "" {
				extra = append(extra, t)
			}
		default:
			extra = append(extra, t)
		}
	}
	var list []string
	for _, b := range []string{"gsm8k", "math", "mmlu", "humaneval", "mbpp"} {
		if benches[b] {
			list = append(list, b)
		}
	}
	if len(list) == 0 {
		list = []string{"gsm8k"}
	}
	world, err := sim.NewWorld(sim.Config{Seed: f.seed, Benchmarks: list, Tasks: extra, Roles: reg})
	if err != nil {
		return nil, err
	}
	pool, err := world.Pool()
	if err != nil {
		return nil, err
	}
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg, Budget: f.budget, Seed: int(f.seed)})
	if err != nil {
		return nil, err
	}
	return &env{roles: reg, world: world, pool: pool, exec: exec}, nil
}

// controller returns the cascaded controller: the --policy checkpoint when
// one is given, else untrained (random initialisation).
func (e *env) controller(f *envFlags, greedy bool) (*routing.Controller, error) {
	if f.policy != "" {
		ctrl, _, err := train.LoadPolicy(f.policy, e.pool, e.roles, train.LoadOptions{AllowPoolChange: f.allowNew, Greedy: greedy, Seed: f.seed})
		if errors.Is(err, train.ErrPoolChanged) {
			return nil, fmt.Errorf("--policy: %w; pass --allow-new-models to load it into this pool anyway", err)
		}
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err) // err names the file
		}
		return ctrl, nil
	}
	return routing.NewController(routing.ControllerConfig{
		Pool: e.pool, Roles: e.roles, Seed: f.seed, Greedy: greedy, MaxAgents: f.maxAgents,
	})
}

// policyLabel describes the masrouter router's parameters for reports.
func (f *envFlags) policyLabel() string {
	if f.policy == "" {
		return "untrained (random initialisation)"
	}
	return "trained (" + f.policy + ")"
}

// baselines returns static delegation, the random router, and every model
// alone with IO and with CoT.
func (e *env) baselines(f *envFlags) ([]routing.Router, error) {
	static, err := routing.NewStatic(routing.StaticConfig{Pool: e.pool, Roles: e.roles, Model: f.premium})
	if err != nil {
		return nil, fmt.Errorf("--premium %s: %w", f.premium, err)
	}
	random, err := routing.NewRandom(e.pool, e.roles, f.seed, f.maxAgents)
	if err != nil {
		return nil, err
	}
	out := []routing.Router{static, random}
	for _, m := range e.pool.Names() {
		for _, mode := range []topology.Mode{topology.ModeIO, topology.ModeCoT} {
			s, err := routing.NewSingle(m, mode, e.roles)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// loadTasks loads a benchmark split, or a user JSONL file when task names
// one. A task file has no splits, so any split but the default is refused.
func loadTasks(task, split string) ([]*tasks.Task, error) {
	if isTaskFile(task) {
		if split != "test" {
			return nil, fmt.Errorf("--split %s: --task %s is a task file, which has no splits", split, task)
		}
		ts, err := tasks.LoadJSONL(task)
		if err != nil {
			return nil, fmt.Errorf("--task %s: %w", task, err)
		}
		return ts, nil
	}
	ts, err := tasks.Load(task, split)
	if err != nil {
		return nil, fmt.Errorf("--task %s --split %s: %w", task, split, err)
	}
	return ts, nil
}

// isTaskFile reports whether --task names a user JSONL file rather than a
// shipped benchmark.
func isTaskFile(task string) bool { return strings.HasSuffix(task, ".jsonl") }

// taskLabel names the tasks --task and --split select: "gsm8k/test", or the
// file for a user JSONL file (which has no splits).
func taskLabel(task, split string) string {
	if isTaskFile(task) {
		return task
	}
	return task + "/" + split
}
