package train

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// TestNewModelGetsTrafficWithoutRetraining trains a policy on the simulated
// pool without one model, then adds a model that is cheaper than every
// model and as strong as the best: the trained controller, scoring
// models by their description features (price, skills) rather than by
// index, must route a real share of traffic to it with no retraining — and
// the traffic must pay off.
func TestNewModelGetsTrafficWithoutRetraining(t *testing.T) {
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	newcomer := cat.Models[len(cat.Models)-1] // copy a premium model's shape
	newcomer.Name = "frugal-genius"
	newcomer.Description = "A new model: as strong as the best premium models at math, cheaper than any."
	newcomer.Price.InputPerMillion, newcomer.Price.OutputPerMillion = 0.06, 0.12
	newcomer.Targets = map[string]sim.Target{
		"gsm8k": {Value: 96.5, Source: "simple-evals"}, "math": {Value: 76, Source: "simple-evals"}, "mmlu": {Value: 88.5, Source: "simple-evals"},
	}
	cat.Models = append(cat.Models, newcomer)
	reg, err := roles.Default()
	require.NoError(t, err)
	world, err := sim.NewWorld(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}, Catalog: &cat, Roles: reg})
	require.NoError(t, err)
	full, err := world.Pool()
	require.NoError(t, err)
	var old []*agents.Model
	for _, m := range full.Models() {
		if m.Name != newcomer.Name {
			old = append(old, m)
		}
	}
	pool, err := agents.NewPool(old...)
	require.NoError(t, err)

	all, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	trainSet, testSet := tasks.SplitByID(all, 0.8, 1)
	trainSet, testSet = tasks.Sample(trainSet, 240, 1), tasks.Sample(testSet, 300, 1)

	ctrl, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: 1, Greedy: true})
	require.NoError(t, err)
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg, Seed: 1})
	require.NoError(t, err)
	tr, err := NewTrainer(ctrl, Config{Lambda: 20, Epochs: 6, Seed: 1})
	require.NoError(t, err)
	_, err = tr.Online(context.Background(), exec, trainSet, nil)
	require.NoError(t, err)

	// Add the model to the trained policy's pool: no retraining.
	widened, err := ctrl.WithPool(full)
	require.NoError(t, err)
	fullExec, err := topology.NewExecutor(topology.Config{Pool: full, Roles: reg, Seed: 1})
	require.NoError(t, err)
	res, err := Evaluate(context.Background(), fullExec, []routing.Router{ctrl, widened}, testSet, EvalOptions{})
	require.NoError(t, err)
	before, after := res[0], res[1]
	var agentsAfter int
	for _, n := range after.Models {
		agentsAfter += n
	}
	share := float64(after.Models[newcomer.Name]) / float64(agentsAfter)
	t.Logf("before: acc %.3f $/q %.6f models %v", before.Accuracy, before.DollarsPerQuery, before.Models)
	t.Logf("after:  acc %.3f $/q %.6f models %v (new model share %.2f)", after.Accuracy, after.DollarsPerQuery, after.Models, share)
	assert.Greater(t, share, 0.25, "the new cheap, strong model gets traffic")
	assert.Less(t, after.DollarsPerQuery, before.DollarsPerQuery, "and the bill drops")
	assert.GreaterOrEqual(t, after.Accuracy, before.Accuracy-0.02, "without losing accuracy")
}
