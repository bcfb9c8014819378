package routing

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func TestNewControllerErrors(t *testing.T) {
	pool, reg := testPool(t), testRegistry(t)
	for _, tc := range []struct {
		name string
		cfg  ControllerConfig
		want string
	}{
		{"no pool", ControllerConfig{Roles: reg}, "field Pool is nil"},
		{"empty registry", ControllerConfig{Pool: pool, Roles: &roles.Registry{}}, "registry has no roles"},
		{"negative hidden", ControllerConfig{Pool: pool, Roles: reg, Hidden: -1}, "field Hidden = -1"},
		{"one agent", ControllerConfig{Pool: pool, Roles: reg, MaxAgents: 1}, "field MaxAgents = 1"},
		{"too many agents", ControllerConfig{Pool: pool, Roles: reg, MaxAgents: 17}, "field MaxAgents = 17"},
		{"unknown mode", ControllerConfig{Pool: pool, Roles: reg, Modes: []topology.Mode{"Swarm"}}, `unknown mode "Swarm"`},
		{"duplicate mode", ControllerConfig{Pool: pool, Roles: reg, Modes: []topology.Mode{topology.ModeIO, topology.ModeIO}}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewController(tc.cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestControllerDefaults(t *testing.T) {
	c := testController(t, nil)
	cfg := c.Config()
	assert.Equal(t, DefaultHidden, cfg.Hidden)
	assert.Equal(t, DefaultMaxAgents, cfg.MaxAgents)
	assert.Equal(t, topology.Modes(), cfg.Modes)
	assert.Equal(t, "hash-v2/1024", c.FeaturesVersion())
	assert.Equal(t, "masrouter", c.Name())
	s := c.Params().Shape()
	assert.Equal(t, Shape{InputDim: 1028, Hidden: 32, MaxAgents: 4, Modes: 7, RoleFeatures: roleFeatureDim, ModelFeatures: modelFeatureDim}, s)
}

// assertValidPlan checks p against the controller's rules and its Choices
// against its Agents.
func assertValidPlan(t *testing.T, c *Controller, reg *roles.Registry, pool *agents.Pool, d tasks.Domain, p topology.Plan) {
	t.Helper()
	require.Contains(t, c.cfg.Modes, p.Mode)
	assert.Equal(t, d, p.Domain)
	assert.Zero(t, p.Rounds)
	assert.Empty(t, p.Decider)
	n := len(p.Agents)
	if p.Mode.SingleAgent() {
		require.Equal(t, 1, n, "single-agent mode %s", p.Mode)
		require.Len(t, p.Choices, 3)
	} else {
		require.GreaterOrEqual(t, n, 2)
		require.LessOrEqual(t, n, c.cfg.MaxAgents)
		require.Len(t, p.Choices, 2+2*n)
		assert.Equal(t, topology.Choice{Stage: "count", Value: strconv.Itoa(n), LogProb: p.Choices[1].LogProb}, p.Choices[1])
	}
	assert.Equal(t, "mode", p.Choices[0].Stage)
	assert.Equal(t, string(p.Mode), p.Choices[0].Value)
	off := len(p.Choices) - 2*n
	for i, a := range p.Agents {
		_, err := reg.Get(d, a.Role)
		assert.NoError(t, err, "role in domain")
		_, err = pool.Get(a.Model)
		assert.NoError(t, err, "model in pool")
		assert.Equal(t, topology.Choice{Stage: "role", Index: i, Value: a.Role, LogProb: p.Choices[off+i].LogProb}, p.Choices[off+i])
		assert.Equal(t, topology.Choice{Stage: "model", Index: i, Value: a.Model, LogProb: p.Choices[off+n+i].LogProb}, p.Choices[off+n+i])
	}
	for _, ch := range p.Choices {
		assert.LessOrEqual(t, ch.LogProb, 0.0)
		assert.False(t, math.IsNaN(ch.LogProb) || math.IsInf(ch.LogProb, 0))
	}
}

func TestNilRolesMeansBuiltInRoles(t *testing.T) {
	c, err := NewController(ControllerConfig{Pool: testPool(t)})
	require.NoError(t, err)
	def, err := roles.Default()
	require.NoError(t, err)
	assert.Equal(t, def.Names(tasks.DomainMath), c.Config().Roles.Names(tasks.DomainMath))
}

func TestSampledPlansAreValid(t *testing.T) {
	ctx := context.Background()
	pool, reg := testPool(t), testRegistry(t)
	for _, mode := range topology.Modes() {
		t.Run(string(mode), func(t *testing.T) {
			c, err := NewController(ControllerConfig{Pool: pool, Roles: reg, Modes: []topology.Mode{mode}, MaxAgents: 5, Seed: 3})
			require.NoError(t, err)
			counts := map[int]int{}
			for i := range 300 {
				d := tasks.Domains()[i%3]
				p, err := c.Route(ctx, testTask(d, fmt.Sprintf("question %d: %s", i, gsm8kQuestion)))
				require.NoError(t, err)
				require.Equal(t, mode, p.Mode)
				assertValidPlan(t, c, reg, pool, d, p)
				counts[len(p.Agents)]++
			}
			if mode.SingleAgent() {
				assert.Equal(t, map[int]int{1: 300}, counts)
			} else {
				assert.Len(t, counts, 4, "every count 2..5 occurs: %v", counts)
			}
		})
	}
}

func TestChoicesSumToRecomputedLogProb(t *testing.T) {
	ctx := context.Background()
	c := testController(t, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		d := tasks.Domains()[i%3]
		task := testTask(d, fmt.Sprintf("Problem %d. %s", i, gsm8kQuestion))
		p, err := c.Sample(ctx, task, rng)
		require.NoError(t, err)
		lp, choices, err := c.LogProb(ctx, task, p)
		require.NoError(t, err)
		assert.InDelta(t, p.LogProb(), lp, 1e-12)
		assert.Equal(t, p.Choices, choices)

		// A hand-written copy without Choices scores the same.
		bare := topology.Plan{Mode: p.Mode, Agents: p.Agents}
		lp2, _, err := c.LogProb(ctx, task, bare)
		require.NoError(t, err)
		assert.Equal(t, lp, lp2)
	}
}

func TestGreedyIsDeterministicAndMostLikely(t *testing.T) {
	ctx := context.Background()
	c := testController(t, func(cfg *ControllerConfig) { cfg.Greedy = true })
	task := testTask(tasks.DomainMath, gsm8kQuestion)
	first, err := c.Route(ctx, task)
	require.NoError(t, err)
	for range 5 {
		p, err := c.Route(ctx, task)
		require.NoError(t, err)
		assert.Equal(t, first, p)
	}
	g, err := c.Greedy(ctx, task)
	require.NoError(t, err)
	assert.Equal(t, first, g)
	// Every greedy choice is at least as likely as any sampled alternative
	// at the same stage with the same history: check the mode stage.
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		s, err := c.Sample(ctx, task, rng)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, first.Choices[0].LogProb, s.Choices[0].LogProb)
	}
}

func TestSameSeedSameSamples(t *testing.T) {
	ctx := context.Background()
	route := func(seed int64) []topology.Plan {
		c := testController(t, func(cfg *ControllerConfig) { cfg.Seed = seed })
		var out []topology.Plan
		for i := range 50 {
			p, err := c.Route(ctx, testTask(tasks.DomainMath, strconv.Itoa(i)+" "+gsm8kQuestion))
			require.NoError(t, err)
			out = append(out, p)
		}
		return out
	}
	a, b, other := route(11), route(11), route(12)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, other)

	c := testController(t, nil)
	task := testTask(tasks.DomainCode, "Write a function.")
	var x, y []topology.Plan
	for _, dst := range []*[]topology.Plan{&x, &y} {
		rng := rand.New(rand.NewPCG(9, 9))
		for range 30 {
			p, err := c.Sample(ctx, task, rng)
			require.NoError(t, err)
			*dst = append(*dst, p)
		}
	}
	assert.Equal(t, x, y, "Sample with equal rngs")
}

// enumeratePlans lists every plan c can produce for domain d.
func enumeratePlans(c *Controller, d tasks.Domain) []topology.Plan {
	dt := c.domains[d]
	var out []topology.Plan
	for _, mode := range c.cfg.Modes {
		lo, hi := 2, c.cfg.MaxAgents
		if mode.SingleAgent() {
			lo, hi = 1, 1
		}
		for n := lo; n <= hi; n++ {
			R, P := len(dt.roles), len(c.models)
			total := 1
			for range n {
				total *= R * P
			}
			for code := range total {
				p := topology.Plan{Mode: mode, Domain: d}
				for range n {
					rm := code % (R * P)
					code /= R * P
					p.Agents = append(p.Agents, topology.AgentSpec{Role: dt.roles[rm/P].Name, Model: c.models[rm%P].Name})
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// TestSamplingMatchesProbabilities enumerates every plan of a small
// controller, checks their probabilities sum to one, then compares the
// frequencies of 20,000 sampled plans (fixed seed) with those probabilities
// by a chi-square test, pooling cells expected fewer than 5 times.
func TestSamplingMatchesProbabilities(t *testing.T) {
	reg := &roles.Registry{}
	for _, r := range []roles.Role{
		testRole(tasks.DomainMath, "Math Solver", roles.KindSolver, "Solves step by step."),
		testRole(tasks.DomainMath, "Math Critic", roles.KindCritic, "Finds mistakes."),
		testRole(tasks.DomainMath, "Math Planner", roles.KindPlanner, "Plans."),
	} {
		require.NoError(t, reg.Add(r))
	}
	pool, err := agents.NewPool(testModels()[:2]...)
	require.NoError(t, err)
	c, err := NewController(ControllerConfig{Pool: pool, Roles: reg, Hidden: 8, MaxAgents: 3, Seed: 1,
		Modes: []topology.Mode{topology.ModeCoT, topology.ModeChain, topology.ModeDebate}})
	require.NoError(t, err)
	// Sharpen the policy so the distribution is far from uniform.
	c.Params().Scale(3)
	f := encode(t, c, gsm8kQuestion)

	plans := enumeratePlans(c, tasks.DomainMath)
	require.Len(t, plans, 3*2+2*(36+216))
	cell := make(map[string]int, len(plans))
	probs := make([]float64, len(plans))
	var total float64
	for i, p := range plans {
		lp, _, err := c.LogProbFeatures(f, tasks.DomainMath, p)
		require.NoError(t, err)
		probs[i] = math.Exp(lp)
		total += probs[i]
		cell[p.String()] = i
	}
	require.InDelta(t, 1, total, 1e-9, "probabilities of all plans sum to one")

	const n = 20000
	obs := make([]float64, len(plans))
	rng := rand.New(rand.NewPCG(2024, 1))
	for range n {
		p, err := c.SampleFeatures(f, tasks.DomainMath, rng)
		require.NoError(t, err)
		i, ok := cell[p.String()]
		require.True(t, ok, "sampled plan %s was enumerated", p)
		obs[i]++
		require.InDelta(t, math.Log(probs[i]), p.LogProb(), 1e-9)
	}
	var o, e []float64
	var poolO, poolE float64
	for i := range plans {
		if exp := n * probs[i]; exp >= 5 {
			o, e = append(o, obs[i]), append(e, exp)
		} else {
			poolO += obs[i]
			poolE += exp
		}
	}
	o, e = append(o, poolO), append(e, poolE)
	chi2 := stat.ChiSquare(o, e)
	df := float64(len(o) - 1)
	pValue := 1 - distuv.ChiSquared{K: df}.CDF(chi2)
	t.Logf("chi-square %.1f on %.0f degrees of freedom, p = %.3f", chi2, df, pValue)
	assert.Greater(t, pValue, 0.001)
	assert.Greater(t, df, 20.0, "the test has cells enough to mean something")
}

// TestNewModelJoinsWithoutRetraining adds a model to the pool of a trained
// controller: the new model gets a real probability from its description
// alone, and the old models' relative scores do not change.
func TestNewModelJoinsWithoutRetraining(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	plan := topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{{Role: "Math Solver", Model: "gpt-4o"}}}
	lpOld := func(c *Controller, model string) float64 {
		p := plan
		p.Agents = []topology.AgentSpec{{Role: "Math Solver", Model: model}}
		_, ch, err := c.LogProbFeatures(f, tasks.DomainMath, p)
		require.NoError(t, err)
		return ch[2].LogProb
	}
	_, _, err := c.LogProbFeatures(f, tasks.DomainMath, topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{{Role: "Math Solver", Model: "qwen-2.5-72b"}}})
	require.ErrorIs(t, err, agents.ErrUnknownModel)

	bigger, err := testPool(t).With(testModel("qwen-2.5-72b", 0.4, 0.4, "Open-weight 72B model, strong at maths and code.", map[string]float64{"math": 0.83, "code": 0.86}))
	require.NoError(t, err)
	c2, err := c.WithPool(bigger)
	require.NoError(t, err)
	assert.Same(t, c.Params(), c2.Params(), "no retraining: the same parameters")

	pNew := math.Exp(lpOld(c2, "qwen-2.5-72b"))
	assert.Greater(t, pNew, 0.01, "the new model has a real probability")
	a1, b1 := lpOld(c, "gpt-4o"), lpOld(c, "llama-3.1-8b")
	a2, b2 := lpOld(c2, "gpt-4o"), lpOld(c2, "llama-3.1-8b")
	assert.InDelta(t, a1-b1, a2-b2, 1e-12, "old models keep their relative scores")

	rng := rand.New(rand.NewPCG(3, 3))
	picked := 0
	for range 2000 {
		p, err := c2.SampleFeatures(f, tasks.DomainMath, rng)
		require.NoError(t, err)
		for _, a := range p.Agents {
			if a.Model == "qwen-2.5-72b" {
				picked++
			}
		}
	}
	assert.Greater(t, picked, 20, "the new model is sampled")

	// A new role is scored the same way.
	reg := testRegistry(t)
	require.NoError(t, reg.Add(testRole(tasks.DomainMath, "Probability Expert", roles.KindSolver, "Counts outcomes and computes probabilities.", "probability")))
	c3, err := c.WithRoles(reg)
	require.NoError(t, err)
	lp, _, err := c3.LogProbFeatures(f, tasks.DomainMath, topology.Plan{Mode: topology.ModeIO, Agents: []topology.AgentSpec{{Role: "Probability Expert", Model: "gpt-4o"}}})
	require.NoError(t, err)
	assert.False(t, math.IsInf(lp, 0))
	_, err = c.WithPool(nil)
	assert.Error(t, err)
	_, err = c.WithRoles(nil)
	assert.Error(t, err)
}

func TestLogProbRejectsImpossiblePlans(t *testing.T) {
	ctx := context.Background()
	c := testController(t, func(cfg *ControllerConfig) {
		cfg.Modes = []topology.Mode{topology.ModeCoT, topology.ModeChain, topology.ModeDebate}
		cfg.MaxAgents = 3
	})
	task := testTask(tasks.DomainMath, "1+1?")
	ok := topology.AgentSpec{Role: "Math Solver", Model: "gpt-4o"}
	for _, tc := range []struct {
		name string
		plan topology.Plan
		want string
	}{
		{"unknown role", topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{{Role: "Poet", Model: "gpt-4o"}}}, `unknown role "Poet" in domain "math"`},
		{"role of another domain", topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{{Role: "Programmer", Model: "gpt-4o"}}}, `unknown role "Programmer"`},
		{"unknown model", topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{{Role: "Math Solver", Model: "gpt-5"}}}, `unknown model "gpt-5"`},
		{"unknown mode", topology.Plan{Mode: "Swarm", Agents: []topology.AgentSpec{ok}}, `mode "Swarm" is unknown`},
		{"mode not allowed", topology.Plan{Mode: topology.ModeIO, Agents: []topology.AgentSpec{ok}}, `mode "IO" is not one the controller may choose`},
		{"single mode with two agents", topology.Plan{Mode: topology.ModeCoT, Agents: []topology.AgentSpec{ok, ok}}, "has 2 agents, want 1"},
		{"chain of one", topology.Plan{Mode: topology.ModeChain, Agents: []topology.AgentSpec{ok}}, "has 1 agents, want 2..3"},
		{"chain too long", topology.Plan{Mode: topology.ModeChain, Agents: []topology.AgentSpec{ok, ok, ok, ok}}, "has 4 agents, want 2..3"},
		{"other domain", topology.Plan{Mode: topology.ModeCoT, Domain: tasks.DomainCode, Agents: []topology.AgentSpec{ok}}, `plan domain "code" differs`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.LogProb(ctx, task, tc.plan)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRouteErrors(t *testing.T) {
	c := testController(t, nil)
	_, err := c.Route(context.Background(), nil)
	assert.ErrorContains(t, err, "task is nil")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Route(ctx, testTask(tasks.DomainMath, "q"))
	assert.ErrorIs(t, err, context.Canceled)
	_, err = c.Route(context.Background(), testTask("law", "q"))
	assert.ErrorContains(t, err, `domain "law" has no roles (the controller has roles for: code, commonsense, math)`)
	_, err = c.SampleFeatures(encode(t, c, "q"), tasks.DomainMath, nil)
	assert.ErrorContains(t, err, "rng is nil")
	_, err = c.GreedyFeatures(Features{Dim: 5}, tasks.DomainMath)
	assert.ErrorContains(t, err, "features have dim 5")
	_, err = c.GreedyFeatures(Features{Dim: 1028, Index: []int{2000}, Value: []float64{1}}, tasks.DomainMath)
	assert.ErrorContains(t, err, "index 2000 out of range")
	_, err = c.GreedyFeatures(Features{Dim: 1028, Index: []int{1}}, tasks.DomainMath)
	assert.ErrorContains(t, err, "1 indices but 0 values")
}

// TestRouteIsSafeForConcurrentUse routes from several goroutines: a task's
// sample depends only on the seed and its ID, never on scheduling, and
// different tasks get different samples.
func TestRouteIsSafeForConcurrentUse(t *testing.T) {
	c := testController(t, nil)
	done := make(chan []string)
	for range 4 {
		go func() {
			var out []string
			for i := range 50 {
				p, err := c.Route(context.Background(), testTask(tasks.DomainMath, fmt.Sprintf("%d %s", i, gsm8kQuestion)))
				if err != nil {
					panic(err)
				}
				out = append(out, p.String())
			}
			done <- out
		}()
	}
	first := <-done
	for range 3 {
		assert.Equal(t, first, <-done, "the same tasks get the same samples whatever the scheduling")
	}
	distinct := slices.Clone(first)
	slices.Sort(distinct)
	assert.Greater(t, len(slices.Compact(distinct)), 1, "samples differ between tasks")
}

func TestNaNParametersAreAnError(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	v := c.Params().Vector()
	for i := range v {
		v[i] = math.NaN()
	}
	require.NoError(t, c.Params().SetVector(v))
	_, err := c.GreedyFeatures(f, tasks.DomainMath)
	assert.ErrorContains(t, err, "NaN")
	_, err = c.SampleFeatures(f, tasks.DomainMath, rand.New(rand.NewPCG(1, 1)))
	assert.ErrorContains(t, err, "NaN")
	plan := topology.Plan{Mode: topology.ModeIO, Agents: []topology.AgentSpec{{Role: "Math Solver", Model: "gpt-4o"}}}
	_, _, err = c.LogProbFeatures(f, tasks.DomainMath, plan)
	assert.ErrorContains(t, err, "NaN")
	_, _, err = c.Gradient(f, tasks.DomainMath, plan, 1, 0, c.Params().Clone())
	assert.ErrorContains(t, err, "NaN")
	var buf bytes.Buffer
	assert.ErrorContains(t, c.SaveParams(&buf), "tensor query element 0 is NaN")
}
