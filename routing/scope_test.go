package routing

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// TestScopeSkillDecidesModel prices two models alike and gives each the
// better skill in one scope: a query of that benchmark prefers its model,
// a query of no listed benchmark goes by the domain's skill.
func TestScopeSkillDecidesModel(t *testing.T) {
	pool, err := agents.NewPool(
		testModel("a", 1, 1, "", map[string]float64{"math": 0.5, "gsm8k": 0.95}),
		testModel("b", 1, 1, "", map[string]float64{"math": 0.9, "gsm8k": 0.40}),
	)
	require.NoError(t, err)
	c, err := NewController(ControllerConfig{Pool: pool, Roles: testRegistry(t), Seed: 7, Modes: []topology.Mode{topology.ModeIO}})
	require.NoError(t, err)
	c.Params().Scale(4) // away from the near-uniform start, signs stay fixed
	probs := func(bench string) []float64 {
		task := testTask(tasks.DomainMath, gsm8kQuestion)
		task.Benchmark = bench
		f, err := c.Encode(context.Background(), task)
		require.NoError(t, err)
		assert.Equal(t, task.SkillKey(), f.Scope)
		p, err := c.FirstModelProbs(f, tasks.DomainMath)
		require.NoError(t, err)
		return p
	}
	g, other := probs("gsm8k"), probs("user-set")
	assert.Greater(t, g[0], g[1], "gsm8k: model a has the gsm8k skill")
	assert.Greater(t, other[1], other[0], "unlisted benchmark: the math skill decides")

	// Tables are built once per scope a model lists, and shared otherwise.
	f := encode(t, c, gsm8kQuestion)
	f.Scope = "gsm8k"
	t1, err := c.check(f, tasks.DomainMath)
	require.NoError(t, err)
	t2, err := c.check(f, tasks.DomainMath)
	require.NoError(t, err)
	assert.Same(t, t1, t2)
	f.Scope = "nobody-lists-this"
	t3, err := c.check(f, tasks.DomainMath)
	require.NoError(t, err)
	assert.Same(t, c.domains[tasks.DomainMath], t3)
}

func TestSkillKey(t *testing.T) {
	for _, tc := range []struct {
		task tasks.Task
		want string
	}{
		{tasks.Task{Benchmark: "gsm8k"}, "gsm8k"},
		{tasks.Task{Benchmark: "math500"}, "math"},
		{tasks.Task{Benchmark: "llmrouter", Meta: map[string]string{tasks.MetaSkill: "llmrouter/mmlu"}}, "llmrouter/mmlu"},
		{tasks.Task{}, ""},
	} {
		assert.Equal(t, tc.want, tc.task.SkillKey())
	}
}
