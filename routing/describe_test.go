package routing

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func TestModelFeatures(t *testing.T) {
	dense := func(f Features) []float64 { return f.Dense(nil)[:modelDense] }
	for _, tc := range []struct {
		name   string
		in     float64
		out    float64
		skills map[string]float64
		scope  string
		want   []float64
	}{
		{"priced with domain skill", 2.5, 10, map[string]float64{"math": 0.8, "code": 0.6}, "",
			[]float64{1, math.Log10((2.5+30)/4 + 0.01), 0.8}},
		{"scope's skill first", 2.5, 10, map[string]float64{"math": 0.8, "gsm8k": 0.95}, "gsm8k",
			[]float64{1, math.Log10((2.5+30)/4 + 0.01), 0.95}},
		{"scope not listed: domain skill", 2.5, 10, map[string]float64{"math": 0.8, "gsm8k": 0.95}, "aime",
			[]float64{1, math.Log10((2.5+30)/4 + 0.01), 0.8}},
		{"free local model, other domain's skill", 0, 0, map[string]float64{"code": 0.4}, "",
			[]float64{1, -2, 0.4}},
		{"no skills", 1, 1, nil, "gsm8k",
			[]float64{1, math.Log10(1.01), 0.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel("m", tc.in, tc.out, "", tc.skills)
			f := ModelFeatures(m, tasks.DomainMath, tc.scope)
			require.NoError(t, f.Validate())
			assert.InDeltaSlice(t, tc.want, dense(f), 1e-12)
			assert.Equal(t, modelFeatureDim, f.Dim)
		})
	}
	a := testModel("alpha", 1, 2, "Fast model.", map[string]float64{"math": 0.5})
	b := testModel("beta", 1, 2, "Fast model.", map[string]float64{"math": 0.5})
	assert.Equal(t, ModelFeatures(a, tasks.DomainMath, ""), ModelFeatures(b, tasks.DomainMath, ""), "the name is not a feature")
	c := testModel("alpha", 1, 2, "Slow model.", map[string]float64{"math": 0.5})
	assert.Equal(t, ModelFeatures(a, tasks.DomainMath, ""), ModelFeatures(c, tasks.DomainMath, ""),
		"nor is the description's wording: it would let training memorise identities")
	d := testModel("alpha", 1, 2, "Fast model.", map[string]float64{"math": 0.9})
	assert.NotEqual(t, ModelFeatures(a, tasks.DomainMath, ""), ModelFeatures(d, tasks.DomainMath, ""), "the skill is")
	e := testModel("alpha", 3, 2, "Fast model.", map[string]float64{"math": 0.5})
	assert.NotEqual(t, ModelFeatures(a, tasks.DomainMath, ""), ModelFeatures(e, tasks.DomainMath, ""), "the price is")
}

func TestRoleFeatures(t *testing.T) {
	solver := testRole(tasks.DomainMath, "Math Solver", roles.KindSolver, "Solves the problem.", "algebra")
	f := RoleFeatures(solver)
	require.NoError(t, f.Validate())
	d := f.Dense(nil)
	assert.Equal(t, []float64{1, 1, 0, 0, 0}, d[:roleDense], "bias and kind one-hot")
	var norm float64
	for _, v := range d[roleDense:] {
		norm += v * v
	}
	assert.InDelta(t, 1, norm, 1e-12, "hashed words are L2-normalised")

	critic := solver
	critic.Kind = roles.KindCritic
	assert.Equal(t, []float64{1, 0, 0, 1, 0}, RoleFeatures(critic).Dense(nil)[:roleDense])
	other := solver
	other.Expertise = []string{"geometry"}
	assert.NotEqual(t, f, RoleFeatures(other), "expertise is a feature")
	prompt := solver
	prompt.SystemPrompt = "Something else entirely."
	assert.Equal(t, f, RoleFeatures(prompt), "the system prompt is not")
}
