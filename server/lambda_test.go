package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/server"
)

// routed posts q at model and returns the decoded completion.
func routed(t *testing.T, s http.Handler, model, q string) completion {
	t.Helper()
	w := post(t, s, chatBody(model, q, nil), nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var c completion
	decodeStrict(t, w.Body.Bytes(), &c)
	return c
}

// cheapest is the model a very large λ must choose: the lowest estimated
// cost of a call (price ceiling, fallbacks included).
func cheapest(t *testing.T, pool *agents.Pool) string {
	t.Helper()
	best, bestCost := "", 0.0
	for _, m := range pool.Models() {
		c := m.PriceCeiling().Cost(agents.Usage{PromptTokens: 250, CompletionTokens: 400})
		if best == "" || c < bestCost {
			best, bestCost = m.Name, c
		}
	}
	return best
}

// TestLambdaChangesThePlan: the cost weight of a request really changes the
// models the plan runs on, and what it costs, for the same policy: below
// the policy's λ plans get dearer, above it cheaper, and at its λ they are
// the controller's own.
func TestLambdaChangesThePlan(t *testing.T) {
	pool := simPool(t)
	ctrl := controller(t, pool, 1)
	s := newServer(t, pool, func(c *server.Config) {
		c.Policies = []server.Policy{{Name: "untrained", Lambda: 30, Controller: ctrl}}
	})
	cheap := cheapest(t, pool)
	require.Equal(t, "llama-3.1-8b", cheap, "the pool's cheapest call at these lengths")
	var dollars [3]float64
	changed := 0
	lambdas := []float64{0, 30, 1e5}
	for _, q := range gsm8k(t, 20) {
		var models [3][]string
		for i, l := range lambdas {
			c := routed(t, s, "masrouter:"+strconv.FormatFloat(l, 'g', -1, 64), q.Query)
			assert.Equal(t, l, c.Masrouter.Lambda)
			assert.Equal(t, "untrained", c.Masrouter.Policy, "one policy: every λ uses it")
			models[i] = c.Masrouter.Models
			dollars[i] += c.Masrouter.Dollars
		}
		for _, m := range models[2] {
			assert.Equal(t, cheap, m, "at a very large λ every agent runs on the cheapest model")
		}
		own, err := ctrl.Route(t.Context(), taskFor(q.Query))
		require.NoError(t, err)
		var ownModels []string
		for _, a := range own.Agents {
			ownModels = append(ownModels, a.Model)
		}
		assert.Equal(t, ownModels, models[1], "at the policy's λ the plan is the controller's")
		if !assert.ObjectsAreEqual(models[0], models[1]) {
			changed++
		}
	}
	assert.Positive(t, changed, "λ changes some plans")
	assert.Greater(t, dollars[0], dollars[1], "λ=0 spends more than the policy's λ=30 over 20 questions")
	assert.LessOrEqual(t, dollars[2], dollars[1], "a very large λ spends least")
	t.Logf("dollars over 20 GSM8K questions at λ = %v: %v", lambdas, dollars)
}

// TestNearestPolicy: with a policy per λ, a request is routed by the one
// whose λ is nearest its own.
func TestNearestPolicy(t *testing.T) {
	pool := simPool(t)
	def := 45.0
	s := newServer(t, pool, func(c *server.Config) {
		c.Policies = []server.Policy{
			{Name: "p50", Lambda: 50, Controller: controller(t, pool, 2)},
			{Name: "p0", Lambda: 0, Controller: controller(t, pool, 1)},
			{Name: "p10", Lambda: 10, Controller: controller(t, pool, 3)},
		}
		c.DefaultLambda = &def
	})
	q := gsm8k(t, 1)[0].Query
	tests := []struct {
		model      string
		wantPolicy string
		wantLambda float64
	}{
		{"masrouter:0", "p0", 0},
		{"masrouter:4", "p0", 4},
		{"masrouter:5", "p0", 5}, // a tie goes to the smaller λ
		{"masrouter:6", "p10", 6},
		{"masrouter:31", "p50", 31},
		{"masrouter:1000", "p50", 1000},
		{"masrouter", "p50", 45},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			c := routed(t, s, tt.model, q)
			assert.Equal(t, tt.wantPolicy, c.Masrouter.Policy)
			assert.Equal(t, tt.wantLambda, c.Masrouter.Lambda)
		})
	}
	// At a policy's own λ its plan is the controller's, unchanged.
	ctrl := controller(t, pool, 3)
	want, err := ctrl.Route(t.Context(), taskFor(q))
	require.NoError(t, err)
	c := routed(t, s, "masrouter:10", q)
	var models []string
	for _, a := range want.Agents {
		models = append(models, a.Model)
	}
	assert.Equal(t, models, c.Masrouter.Models)
	assert.Equal(t, string(want.Mode), c.Masrouter.Mode)
}

// TestBudgetHolds runs questions under a per-query budget and checks none
// spends more, while some plans are cut short.
func TestBudgetHolds(t *testing.T) {
	pool := simPool(t)
	const budget = 0.0005
	s := newServer(t, pool, func(c *server.Config) { c.Budget = budget })
	skipped := 0
	for _, q := range gsm8k(t, 20) {
		w := post(t, s, chatBody("masrouter:0", q.Query, nil), nil)
		var info server.Info
		switch w.Code {
		case http.StatusOK:
			var c completion
			decodeStrict(t, w.Body.Bytes(), &c)
			info = c.Masrouter
		case http.StatusBadRequest:
			var e errorBody
			decodeStrict(t, w.Body.Bytes(), &e)
			require.NotNil(t, e.Error.Code)
			assert.Equal(t, "budget_exceeded", *e.Error.Code)
			require.NotNil(t, e.Masrouter)
			info = *e.Masrouter
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
		assert.LessOrEqual(t, info.Dollars, budget)
		assert.Equal(t, budget, info.Budget)
		for _, n := range info.Nodes {
			if n.Skipped {
				skipped++
			}
		}
	}
	assert.Positive(t, skipped, "the budget cut some nodes")
}
