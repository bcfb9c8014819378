package routing

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func TestParamsVectorOps(t *testing.T) {
	c := testController(t, func(cfg *ControllerConfig) { cfg.Hidden = 4 })
	p := c.Params()
	n := p.NumParams()
	total := 0
	for _, tn := range p.Tensors() {
		r, cols := tn.Value.Dims()
		total += r * cols
	}
	assert.Equal(t, n, total, "NumParams is the sum of the tensor sizes")

	v := p.Vector()
	require.Len(t, v, n)
	v[0] = 42
	assert.NotEqual(t, 42.0, p.Vector()[0], "Vector returns a copy")
	require.NoError(t, p.SetVector(v))
	assert.Equal(t, 42.0, p.Vector()[0])
	assert.ErrorContains(t, p.SetVector(v[1:]), "want")

	q := p.Clone()
	q.Scale(2)
	for i, x := range p.Vector() {
		require.Equal(t, 2*x, q.Vector()[i])
	}
	require.NoError(t, q.AddScaled(-2, p))
	assert.Zero(t, q.Norm(), "2p − 2p = 0")
	require.NoError(t, q.Add(p))
	assert.Equal(t, p.Vector(), q.Vector())
	q.Zero()
	assert.Zero(t, q.Norm())
	assert.NotZero(t, p.Norm(), "the clone is independent")

	other := testController(t, func(cfg *ControllerConfig) { cfg.Hidden = 5 }).Params()
	assert.ErrorContains(t, p.Add(other), "does not match")
	assert.ErrorContains(t, p.AddScaled(1, nil), "nil")
	assert.ErrorContains(t, c.SetParams(other), "does not match")
	assert.ErrorContains(t, c.SetParams(nil), "nil")

	// Tensors are copies in storage order.
	tensors := p.Tensors()
	first := tensors[0].Value.(*mat.Dense)
	assert.Equal(t, "query", tensors[0].Name)
	assert.Equal(t, 42.0, first.At(0, 0))
	first.Set(0, 0, -1)
	assert.Equal(t, 42.0, p.Vector()[0], "changing a returned tensor leaves the params alone")
	_, isVec := tensors[1].Value.(*mat.VecDense)
	assert.True(t, isVec, "biases are vectors")

	_, err := NewParams(Shape{})
	assert.ErrorContains(t, err, "input dim")
}

// TestChangedParamsReachTheCache changes the parameters through each method
// and checks routing sees the change (the role and model embedding cache is
// invalidated).
func TestChangedParamsReachTheCache(t *testing.T) {
	c := testController(t, nil)
	f := encode(t, c, gsm8kQuestion)
	plan := topology.Plan{Mode: topology.ModeChain, Agents: []topology.AgentSpec{{Role: "Math Planner", Model: "gpt-4o"}, {Role: "Math Solver", Model: "llama-3.1-8b"}}}
	score := func() float64 {
		lp, _, err := c.LogProbFeatures(f, tasks.DomainMath, plan)
		require.NoError(t, err)
		return lp
	}
	fresh := func() float64 {
		// A second controller with a copy of the parameters and a cold cache.
		d := testController(t, nil)
		require.NoError(t, d.SetParams(c.Params()))
		lp, _, err := d.LogProbFeatures(f, tasks.DomainMath, plan)
		require.NoError(t, err)
		return lp
	}
	base := score()
	g := c.Params().Clone()
	g.Scale(0.7)
	for _, tc := range []struct {
		name   string
		change func()
	}{
		{"Scale", func() { c.Params().Scale(1.5) }},
		{"AddScaled", func() { require.NoError(t, c.Params().AddScaled(0.1, g)) }},
		{"SetVector", func() {
			v := c.Params().Vector()
			for i := range v {
				v[i] *= -1
			}
			require.NoError(t, c.Params().SetVector(v))
		}},
		{"SetParams", func() { require.NoError(t, c.SetParams(g)) }},
		{"Gradient into own params", func() {
			_, _, err := c.Gradient(f, tasks.DomainMath, plan, 1, 0, c.Params())
			require.NoError(t, err)
		}},
		{"Zero", func() { c.Params().Zero() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.change()
			assert.Equal(t, fresh(), score())
			assert.NotEqual(t, base, score())
		})
	}
}

func saveParams(t testing.TB, c *Controller) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.SaveParams(&buf))
	return buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	a := testController(t, func(cfg *ControllerConfig) { cfg.Seed = 1 })
	b := testController(t, func(cfg *ControllerConfig) { cfg.Seed = 2 })
	task := testTask(tasks.DomainMath, gsm8kQuestion)
	plan, err := a.Greedy(t.Context(), task)
	require.NoError(t, err)
	lpA, _, err := a.LogProb(t.Context(), task, plan)
	require.NoError(t, err)
	lpB, _, err := b.LogProb(t.Context(), task, plan)
	require.NoError(t, err)
	require.NotEqual(t, lpA, lpB)

	data := saveParams(t, a)
	require.NoError(t, b.LoadParams(bytes.NewReader(data)))
	assert.Equal(t, a.Params().Vector(), b.Params().Vector(), "bit-exact")
	lpB, _, err = b.LogProb(t.Context(), task, plan)
	require.NoError(t, err)
	assert.Equal(t, lpA, lpB)
	assert.Equal(t, data, saveParams(t, b), "saving again gives the same bytes")
}

func TestLoadParamsRefusesOtherShapes(t *testing.T) {
	small := func(buckets, hidden, maxAgents int) *Controller {
		enc, err := NewHashEncoder(buckets)
		require.NoError(t, err)
		return testController(t, func(cfg *ControllerConfig) {
			cfg.Encoder, cfg.Hidden, cfg.MaxAgents = enc, hidden, maxAgents
		})
	}
	c := small(16, 4, 4)
	good := saveParams(t, c)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		f(m)
		out, err := json.Marshal(m)
		require.NoError(t, err)
		return out
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"other hidden", saveParams(t, small(16, 5, 4)), "field shape.hidden: checkpoint 5, controller 4"},
		{"other max agents", saveParams(t, small(16, 4, 5)), "field shape.max_agents: checkpoint 5, controller 4"},
		{"other encoder", saveParams(t, small(32, 4, 4)), `field features_version: checkpoint "hash-v2/32", controller encoder "hash-v2/16"`},
		{"other format", edit(func(m map[string]any) { m["format"] = "v0" }), `field format: "v0"`},
		{"other role features", edit(func(m map[string]any) { m["role_features"] = "role-v0/9" }), "field role_features"},
		{"other model features", edit(func(m map[string]any) { m["model_features"] = "model-v0/9" }), "field model_features"},
		{"other modes", edit(func(m map[string]any) { m["modes"] = []string{"IO"} }), "field modes"},
		{"missing tensor", edit(func(m map[string]any) { m["tensors"] = m["tensors"].([]any)[1:] }), "field tensors: 15 tensors, want 16"},
		{"renamed tensor", edit(func(m map[string]any) { m["tensors"].([]any)[2].(map[string]any)["name"] = "mode_weights" }), `field tensors[2].name: "mode_weights", want "mode_score"`},
		{"short tensor", edit(func(m map[string]any) {
			tn := m["tensors"].([]any)[1].(map[string]any)
			tn["data"] = tn["data"].([]any)[1:]
		}), "tensor query_bias: field data has 3 values, want 4"},
		{"reshaped tensor", edit(func(m map[string]any) { m["tensors"].([]any)[8].(map[string]any)["rows"] = 2.0 }), "tensor role_ctx: shape 2×4, want 4×4"},
		{"unknown field", edit(func(m map[string]any) { m["learning_rate"] = 0.1 }), `unknown field "learning_rate"`},
		{"not json", []byte("{"), "unexpected EOF"},
		{"trailing data", append(append([]byte(nil), good...), []byte("{}")...), "trailing data"},
		{"wrong type", []byte(`{"format": 3}`), "format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Params().Vector()
			err := c.LoadParams(bytes.NewReader(tc.data))
			assert.ErrorContains(t, err, tc.want)
			assert.Equal(t, before, c.Params().Vector(), "a refused checkpoint changes nothing")
		})
	}
}

func FuzzLoadParams(f *testing.F) {
	enc, err := NewHashEncoder(1)
	require.NoError(f, err)
	c := testController(f, func(cfg *ControllerConfig) { cfg.Encoder = enc; cfg.Hidden = 1; cfg.MaxAgents = 2 })
	good := saveParams(f, c)
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), `"hidden":1`, `"hidden":3`, 1)))
	f.Add([]byte(`{"format":"masrouter-routing-params/v1"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := c.Params().Vector()
		if err := c.LoadParams(bytes.NewReader(data)); err != nil {
			if !assert.ObjectsAreEqual(before, c.Params().Vector()) {
				t.Fatal("failed load changed the parameters")
			}
			return
		}
		// Extreme but finite values may overflow to NaN: that must be the
		// clear error, never a panic or a silent NaN plan.
		if _, err := c.GreedyFeatures(Features{Dim: c.Params().Shape().InputDim}, tasks.DomainMath); err != nil && !errors.Is(err, errNaN) {
			t.Fatal(err)
		}
	})
}
