package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// RestartResult is one run of a multi-start training.
type RestartResult struct {
	Seed    int64        `json:"seed"`
	History []EpochStats `json:"history"`
	// Selection is the greedy policy's result on the selection tasks, and
	// Reward its accuracy − λ·dollars per query there.
	Selection MethodResult `json:"selection"`
	Reward    float64      `json:"reward"`
}

// OnlineRestarts trains one controller per seed with Online (cfg.Seed is
// replaced by each seed) and keeps the one whose greedy policy earns the
// highest reward on the selection tasks. Policy gradient on noisy rewards
// can settle in different local optima from different starts; selecting on
// tasks the policy may see (the training part, never the held-out part)
// removes most of that variance. build makes a freshly initialised
// controller for a seed. It returns the chosen controller and every run.
func OnlineRestarts(ctx context.Context, build func(seed int64) (*routing.Controller, error), exec *topology.Executor,
	trainTasks, selectTasks []*tasks.Task, cfg Config, seeds []int64) (*routing.Controller, []RestartResult, error) {
	if len(seeds) == 0 {
		return nil, nil, errors.New("train: restarts: no seeds")
	}
	if len(selectTasks) == 0 {
		return nil, nil, errors.New("train: restarts: no selection tasks")
	}
	var best *routing.Controller
	var runs []RestartResult
	bestAt := -1
	for _, seed := range seeds {
		ctrl, err := build(seed)
		if err != nil {
			return nil, runs, err
		}
		c := cfg
		c.Seed = seed
		tr, err := NewTrainer(ctrl, c)
		if err != nil {
			return nil, runs, err
		}
		hist, err := tr.Online(ctx, exec, trainTasks, nil)
		if err != nil {
			return nil, runs, fmt.Errorf("train: restart with seed %d: %w", seed, err)
		}
		res, err := Evaluate(ctx, exec, []routing.Router{ctrl.Greedily()}, selectTasks, EvalOptions{Workers: c.Workers})
		if err != nil {
			return nil, runs, err
		}
		r := RestartResult{Seed: seed, History: hist, Selection: res[0], Reward: res[0].Accuracy - tr.Config().Lambda*res[0].DollarsPerQuery}
		runs = append(runs, r)
		if bestAt < 0 || r.Reward > runs[bestAt].Reward {
			bestAt, best = len(runs)-1, ctrl
		}
	}
	return best, runs, nil
}
