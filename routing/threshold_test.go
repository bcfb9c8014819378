package routing

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// TestFirstModelProbsMatchesEnumeration checks FirstModelProbs against the
// sum of exp(log π(plan)) over every plan, grouped by the first agent's
// model, for a single-agent controller and for one with every mode.
func TestFirstModelProbsMatchesEnumeration(t *testing.T) {
	cases := []struct {
		name  string
		modes []topology.Mode
	}{
		{"IO", []topology.Mode{topology.ModeIO}},
		{"IO and CoT", []topology.Mode{topology.ModeIO, topology.ModeCoT}},
		{"all modes", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testController(t, func(cfg *ControllerConfig) { cfg.Modes = tc.modes; cfg.MaxAgents = 2; cfg.Hidden = 8 })
			// Move away from the near-uniform initialisation.
			v := c.Params().Vector()
			for i := range v {
				v[i] *= 6
			}
			require.NoError(t, c.Params().SetVector(v))
			for _, d := range []tasks.Domain{tasks.DomainMath, tasks.DomainCode} {
				f := encode(t, c, gsm8kQuestion)
				got, err := c.FirstModelProbs(f, d)
				require.NoError(t, err)
				want := make([]float64, len(c.models))
				for _, p := range enumeratePlans(c, d) {
					lp, _, err := c.LogProbFeatures(f, d, p)
					require.NoError(t, err)
					want[c.modelIndex[p.Agents[0].Model]] += math.Exp(lp)
				}
				var sum float64
				for j := range want {
					assert.InDelta(t, want[j], got[j], 1e-9, "%s: model %s", d, c.models[j].Name)
					sum += got[j]
				}
				assert.InDelta(t, 1, sum, 1e-9)
			}
		})
	}
}

func TestModelProbability(t *testing.T) {
	c := testController(t, func(cfg *ControllerConfig) { cfg.Modes = []topology.Mode{topology.ModeIO} })
	sc, err := ModelProbability(c, "gpt-4o")
	require.NoError(t, err)
	task := testTask(tasks.DomainMath, gsm8kQuestion)
	got, err := sc.ScoreQuery(context.Background(), task)
	require.NoError(t, err)
	f := encode(t, c, gsm8kQuestion)
	ps, err := c.FirstModelProbs(f, tasks.DomainMath)
	require.NoError(t, err)
	assert.Equal(t, ps[0], got)

	_, err = ModelProbability(c, "gpt-5")
	assert.ErrorContains(t, err, `unknown model "gpt-5"`)
	_, err = ModelProbability(nil, "gpt-4o")
	assert.Error(t, err)
	_, err = sc.ScoreQuery(context.Background(), testTask("law", "q"))
	assert.ErrorContains(t, err, `domain "law" has no roles`)
}

func TestThreshold(t *testing.T) {
	ctx := context.Background()
	score := QueryScorerFunc(func(_ context.Context, t *tasks.Task) (float64, error) {
		if t.Query == "broken" {
			return 0, errors.New("no score")
		}
		return float64(len(t.Query)), nil
	})
	r, err := NewThreshold(ThresholdConfig{Scorer: score, Strong: "gpt-4o", Weak: "llama-3.1-8b", Threshold: 5, Roles: testRegistry(t)})
	require.NoError(t, err)
	assert.Equal(t, "threshold", r.Name())
	cases := []struct {
		query, model string
	}{
		{"abcd", "llama-3.1-8b"},
		{"abcde", "gpt-4o"},
		{"a longer query", "gpt-4o"},
	}
	for _, c := range cases {
		p, err := r.Route(ctx, testTask(tasks.DomainMath, c.query))
		require.NoError(t, err)
		assert.Equal(t, topology.ModeIO, p.Mode)
		require.Len(t, p.Agents, 1)
		assert.Equal(t, c.model, p.Agents[0].Model, c.query)
		assert.Equal(t, "Math Solver", p.Agents[0].Role)
	}
	_, err = r.Route(ctx, testTask(tasks.DomainMath, "broken"))
	assert.ErrorContains(t, err, "no score")
	_, err = r.Route(ctx, nil)
	assert.ErrorContains(t, err, "task is nil")

	for _, tc := range []struct {
		cfg  ThresholdConfig
		want string
	}{
		{ThresholdConfig{Strong: "a", Weak: "b"}, "Scorer is nil"},
		{ThresholdConfig{Scorer: score, Strong: "a"}, "Strong and Weak"},
		{ThresholdConfig{Scorer: score, Strong: "a", Weak: "b", Threshold: math.NaN()}, "Threshold is NaN"},
		{ThresholdConfig{Scorer: score, Strong: "a", Weak: "b", Mode: topology.ModeDebate}, "runs several agents"},
	} {
		_, err := NewThreshold(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

// TestThresholdOverControllerScore routes with a threshold on an IO-only
// controller's probability of the strong model: a threshold of 0 sends
// everything to it and one above 1 nothing.
func TestThresholdOverControllerScore(t *testing.T) {
	c := testController(t, func(cfg *ControllerConfig) { cfg.Modes = []topology.Mode{topology.ModeIO} })
	sc, err := ModelProbability(c, "gpt-4o")
	require.NoError(t, err)
	for _, tc := range []struct {
		threshold float64
		want      string
	}{{0, "gpt-4o"}, {1.01, "gpt-4o-mini"}} {
		r, err := NewThreshold(ThresholdConfig{Name: "masrouter-threshold", Scorer: sc, Strong: "gpt-4o", Weak: "gpt-4o-mini", Threshold: tc.threshold, Roles: testRegistry(t)})
		require.NoError(t, err)
		p, err := r.Route(context.Background(), testTask(tasks.DomainCode, "Write a function that reverses a list."))
		require.NoError(t, err)
		assert.Equal(t, tc.want, p.Agents[0].Model)
	}
}

// BenchmarkFirstModelProbs scores one encoded query for a threshold router:
// one forward pass per first-slot role of an IO-only controller.
func BenchmarkFirstModelProbs(b *testing.B) {
	c := testController(b, func(cfg *ControllerConfig) { cfg.Modes = []topology.Mode{topology.ModeIO} })
	f := encode(b, c, gsm8kQuestion)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FirstModelProbs(f, tasks.DomainMath); err != nil {
			b.Fatal(err)
		}
	}
}
