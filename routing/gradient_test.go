package routing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// randomPlan draws a plan of the given mode uniformly from c's choices.
func randomPlan(c *Controller, d tasks.Domain, mode topology.Mode, rng *rand.Rand) topology.Plan {
	dt := c.domains[d]
	n := 1
	if !mode.SingleAgent() {
		n = 2 + rng.IntN(c.cfg.MaxAgents-1)
	}
	p := topology.Plan{Mode: mode, Domain: d}
	for range n {
		p.Agents = append(p.Agents, topology.AgentSpec{
			Role:  dt.roles[rng.IntN(len(dt.roles))].Name,
			Model: c.models[rng.IntN(len(c.models))].Name,
		})
	}
	return p
}

// scorePath is log π(p | f) and the path entropy under c's current
// parameters: the objective the finite differences differentiate.
func scorePath(t *testing.T, c *Controller, f Features, d tasks.Domain, p topology.Plan) (lp, ent float64) {
	dt, err := c.check(f, d)
	require.NoError(t, err)
	ws := c.newWorkspace()
	require.NoError(t, c.setPath(ws, dt, p))
	return c.forward(ws, f, dt, decideFixed, nil)
}

// TestGradientFiniteDifferences checks the hand-written gradient against
// central finite differences (gonum diff/fd) on small random controllers and
// random plans of every mode, for log π, for the entropy and for a mix. The
// error is norm-wise:
// ‖analytic − numeric‖₂ / max(1e-8, ‖analytic‖₂ + ‖numeric‖₂) ≤ 1e-6.
func TestGradientFiniteDifferences(t *testing.T) {
	coefs := []struct{ lp, ent float64 }{{1, 0}, {0, 1}, {0.7, -1.3}}
	// The third query names two math roles' expertise, so the role_match
	// term is differentiated too.
	queries := []string{gsm8kQuestion, "Solve $x^2 = 9$.\nA. 3\nB. -3\nC. both\nD. neither", "A geometry question with algebra: the equations of two lines..."}
	domains := []tasks.Domain{tasks.DomainMath, tasks.DomainCode, tasks.DomainMath}
	worst := 0.0
	for seed := int64(1); seed <= 2; seed++ {
		enc, err := NewHashEncoder(16)
		require.NoError(t, err)
		c := testController(t, func(cfg *ControllerConfig) {
			cfg.Encoder = enc
			cfg.Hidden = 3
			cfg.MaxAgents = 4
			cfg.Seed = seed
		})
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		theta := c.Params().Vector()
		// Perturb every parameter so no term is trivially zero.
		for i := range theta {
			theta[i] += 0.3 * rng.NormFloat64()
		}
		require.NoError(t, c.Params().SetVector(theta))
		for _, mode := range topology.Modes() {
			for qi, q := range queries {
				d := domains[qi]
				f, err := c.Encode(t.Context(), testTask(d, q))
				require.NoError(t, err)
				if qi == 2 {
					require.Contains(t, f.roleMatch, 1.0, "the query names a role's expertise")
				}
				plan := randomPlan(c, d, mode, rng)
				// One Jacobian of (log π, H) serves every coefficient pair.
				jac := mat.NewDense(2, len(theta), nil)
				fd.Jacobian(jac, func(y, x []float64) {
					require.NoError(t, c.Params().SetVector(x))
					y[0], y[1] = scorePath(t, c, f, d, plan)
				}, theta, &fd.JacobianSettings{Formula: fd.Central, Step: 1e-5})
				require.NoError(t, c.Params().SetVector(theta))
				for _, co := range coefs {
					name := fmt.Sprintf("seed%d/%s/n%d/q%d/lp%g/ent%g", seed, mode, len(plan.Agents), qi, co.lp, co.ent)
					t.Run(name, func(t *testing.T) {
						g := c.Params().Clone()
						g.Zero()
						lp, ent, err := c.Gradient(f, d, plan, co.lp, co.ent, g)
						require.NoError(t, err)
						wantLP, wantEnt := scorePath(t, c, f, d, plan)
						require.Equal(t, wantLP, lp)
						require.Equal(t, wantEnt, ent)
						analytic := g.Vector()
						numeric := make([]float64, len(theta))
						floats.AddScaled(numeric, co.lp, jac.RawRowView(0))
						floats.AddScaled(numeric, co.ent, jac.RawRowView(1))

						diff := make([]float64, len(analytic))
						floats.SubTo(diff, analytic, numeric)
						rel := floats.Norm(diff, 2) / math.Max(1e-8, floats.Norm(analytic, 2)+floats.Norm(numeric, 2))
						worst = math.Max(worst, rel)
						assert.LessOrEqual(t, rel, 1e-6, "norm-wise relative error")
						assert.Greater(t, floats.Norm(analytic, 2), 1e-3, "the gradient is not trivially zero")
					})
				}
			}
		}
	}
	t.Logf("worst norm-wise relative error: %.3g", worst)
}

func TestGradientAccumulates(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	plan := randomPlan(c, tasks.DomainMath, topology.ModeDebate, rand.New(rand.NewPCG(1, 2)))
	g := c.Params().Clone()
	g.Zero()
	lp1, ent1, err := c.Gradient(f, tasks.DomainMath, plan, 1, 0.1, g)
	require.NoError(t, err)
	once := g.Vector()
	lp2, ent2, err := c.Gradient(f, tasks.DomainMath, plan, 1, 0.1, g)
	require.NoError(t, err)
	assert.Equal(t, lp1, lp2)
	assert.Equal(t, ent1, ent2)
	twice := g.Vector()
	for i := range once {
		require.InDelta(t, 2*once[i], twice[i], 1e-12)
	}
	want, _, err := c.LogProbFeatures(f, tasks.DomainMath, plan)
	require.NoError(t, err)
	assert.InDelta(t, want, lp1, 1e-12, "Gradient returns log π(plan)")
	assert.Greater(t, ent1, 0.0)
}

// TestGradientFuncChoosesCoefficientsAfterTheForwardPass checks that the
// callback sees log π(plan) and the entropy, and that the gradient it yields
// equals Gradient's with the coefficients it returned.
func TestGradientFuncChoosesCoefficientsAfterTheForwardPass(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	plan := randomPlan(c, tasks.DomainMath, topology.ModeChain, rand.New(rand.NewPCG(3, 4)))
	want := c.Params().Clone()
	want.Zero()
	lp, ent, err := c.Gradient(f, tasks.DomainMath, plan, 0.7, -0.2, want)
	require.NoError(t, err)
	got := c.Params().Clone()
	got.Zero()
	var seenLP, seenEnt float64
	lp2, ent2, err := c.GradientFunc(f, tasks.DomainMath, plan, func(l, e float64) (float64, float64) {
		seenLP, seenEnt = l, e
		return 0.7, -0.2
	}, got)
	require.NoError(t, err)
	assert.Equal(t, lp, seenLP)
	assert.Equal(t, ent, seenEnt)
	assert.Equal(t, lp, lp2)
	assert.Equal(t, ent, ent2)
	assert.Equal(t, want.Vector(), got.Vector())
}

func TestParamsUpdateEditsInPlace(t *testing.T) {
	c := testController(t, nil)
	p := c.Params().Clone()
	before := p.Vector()
	p.Update(func(v []float64) {
		for i := range v {
			v[i] *= 2
		}
	})
	after := p.Vector()
	for i := range before {
		require.Equal(t, 2*before[i], after[i])
	}
}

func TestGradientErrors(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, "q")
	plan := randomPlan(c, tasks.DomainMath, topology.ModeChain, rand.New(rand.NewPCG(1, 2)))
	other := testController(t, func(cfg *ControllerConfig) { cfg.Hidden = 8 })
	_, _, err := c.Gradient(f, tasks.DomainMath, plan, 1, 0, nil)
	assert.ErrorContains(t, err, "accumulator")
	_, _, err = c.Gradient(f, tasks.DomainMath, plan, 1, 0, other.Params().Clone())
	assert.ErrorContains(t, err, "another shape")
	bad := plan
	bad.Agents = append([]topology.AgentSpec(nil), plan.Agents...)
	bad.Agents[0].Model = "gpt-9"
	_, _, err = c.Gradient(f, tasks.DomainMath, bad, 1, 0, c.Params().Clone())
	assert.ErrorContains(t, err, `unknown model "gpt-9"`)
}

// TestGradientAscentRaisesProbability takes a few steps along the gradient of
// log π(plan) and checks the plan becomes more likely: the signal the
// trainer relies on.
func TestGradientAscentRaisesProbability(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	plan := topology.Plan{Mode: topology.ModeTree, Domain: tasks.DomainMath, Agents: []topology.AgentSpec{
		{Role: "Math Planner", Model: "gpt-4o"},
		{Role: "Math Solver", Model: "llama-3.1-8b"},
		{Role: "Math Verifier", Model: "gpt-4o-mini"},
	}}
	before, _, err := c.LogProbFeatures(f, tasks.DomainMath, plan)
	require.NoError(t, err)
	g := c.Params().Clone()
	for range 20 {
		g.Zero()
		_, _, err := c.Gradient(f, tasks.DomainMath, plan, 1, 0, g)
		require.NoError(t, err)
		require.NoError(t, c.Params().AddScaled(0.05, g))
	}
	after, _, err := c.LogProbFeatures(f, tasks.DomainMath, plan)
	require.NoError(t, err)
	assert.Greater(t, after, before+1, "log π rose from %.3f to %.3f", before, after)
}

// TestGradientPendingSumsReachEveryReader checks the sums Gradient keeps
// pending in an accumulator (the role and model description terms) are in
// whatever reads the accumulator, and gone after whatever overwrites it. The
// reference folds after every call.
func TestGradientPendingSumsReachEveryReader(t *testing.T) {
	c := testController(t, nil)
	// A second controller over other domain tables sharing the parameters.
	other, err := c.WithRoles(testRegistry(t))
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(5, 6))
	type call struct {
		c    *Controller
		d    tasks.Domain
		f    Features
		plan topology.Plan
	}
	var calls []call
	for i, mode := range topology.Modes() {
		d, ctl := tasks.DomainMath, c
		if i%2 == 1 {
			d, ctl = tasks.DomainCode, other
		}
		calls = append(calls, call{ctl, d, encode(t, c, fmt.Sprintf("%s question %d", gsm8kQuestion, i)), randomPlan(ctl, d, mode, rng)})
	}
	accumulate := func(g *Params, foldEach bool) *Params {
		for _, k := range calls {
			_, _, err := k.c.Gradient(k.f, k.d, k.plan, 0.8, 0.05, g)
			require.NoError(t, err)
			if foldEach {
				g.Vector()
			}
		}
		return g
	}
	zero := func() *Params {
		g := c.Params().Clone()
		g.Zero()
		return g
	}
	want := accumulate(zero(), true).Vector()
	require.Greater(t, floats.Norm(want, 2), 1e-3)
	flatten := func(ts []Tensor) []float64 {
		var out []float64
		for _, tn := range ts {
			r, cols := tn.Value.Dims()
			for i := range r {
				for j := range cols {
					out = append(out, tn.Value.At(i, j))
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		read func(g *Params) []float64
	}{
		{"Vector", func(g *Params) []float64 { return g.Vector() }},
		{"Clone", func(g *Params) []float64 {
			cl := g.Clone()
			g.Zero() // the clone must not depend on g's pending sums
			return cl.Vector()
		}},
		{"Tensors", func(g *Params) []float64 { return flatten(g.Tensors()) }},
		{"Norm", func(g *Params) []float64 { return []float64{g.Norm()} }},
		{"AddScaled into another", func(g *Params) []float64 {
			sum := zero()
			require.NoError(t, sum.AddScaled(1, g))
			return sum.Vector()
		}},
		{"AddScaled onto", func(g *Params) []float64 {
			require.NoError(t, g.AddScaled(1, zero()))
			return g.Vector()
		}},
		{"Scale", func(g *Params) []float64 {
			g.Scale(0.5)
			v := g.Vector()
			floats.Scale(2, v)
			return v
		}},
		{"SetParams", func(g *Params) []float64 {
			d := testController(t, nil)
			require.NoError(t, d.SetParams(g))
			return d.Params().Vector()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.read(accumulate(zero(), false))
			exp := want
			if tc.name == "Norm" {
				exp = []float64{floats.Norm(want, 2)}
			}
			require.Len(t, got, len(exp))
			assert.InDeltaSlice(t, exp, got, 1e-12)
		})
	}

	t.Run("Zero and SetVector drop them", func(t *testing.T) {
		g := accumulate(zero(), false)
		g.Zero()
		assert.Zero(t, g.Norm())
		g = accumulate(zero(), false)
		v := c.Params().Vector()
		require.NoError(t, g.SetVector(v))
		assert.Equal(t, v, g.Vector())
		g.Zero()
		assert.InDeltaSlice(t, want, accumulate(g, false).Vector(), 1e-12, "and the accumulator is reusable")
	})

	t.Run("unused domains are let go", func(t *testing.T) {
		g := accumulate(zero(), false)
		g.Vector()
		require.Len(t, g.pending, 2, "one entry per domain table in use")
		k := calls[0]
		_, _, err := k.c.Gradient(k.f, k.d, k.plan, 1, 0, g)
		require.NoError(t, err)
		g.Vector()
		assert.Len(t, g.pending, 1, "the table unused for a whole batch is dropped")
	})
}
