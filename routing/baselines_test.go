package routing

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func agentRoles(p topology.Plan) []string {
	var out []string
	for _, a := range p.Agents {
		out = append(out, a.Role)
	}
	return out
}

func TestStatic(t *testing.T) {
	ctx := context.Background()
	pool, reg := testPool(t), testRegistry(t)
	s, err := NewStatic(StaticConfig{Pool: pool, Roles: reg})
	require.NoError(t, err)
	assert.Equal(t, "static-delegation", s.Name())
	for _, tc := range []struct {
		name   string
		domain tasks.Domain
		roles  []string
	}{
		// Registry order is Solver, Planner, Algebra, Critic, Geometry,
		// Verifier: the chain is re-ordered to the SOP kinds.
		{"every kind present", tasks.DomainMath, []string{"Math Planner", "Math Solver", "Math Critic", "Math Verifier"}},
		// No planner, and every role is taken by its own kind: the planner
		// slot repeats the first role.
		{"missing kind", tasks.DomainCode, []string{"Programmer", "Programmer", "Code Reviewer", "Test Writer"}},
		{"one role", tasks.DomainCommonsense, []string{"Knowledgeable Expert", "Knowledgeable Expert", "Knowledgeable Expert", "Knowledgeable Expert"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.Route(ctx, testTask(tc.domain, "q"))
			require.NoError(t, err)
			assert.Equal(t, topology.ModeChain, p.Mode)
			assert.Equal(t, tc.domain, p.Domain)
			assert.Equal(t, tc.roles, agentRoles(p))
			for _, a := range p.Agents {
				assert.Equal(t, "gpt-4o", a.Model)
			}
			require.Len(t, p.Choices, 2+2*StaticAgents)
			assert.Equal(t, topology.Choice{Stage: "count", Value: "4"}, p.Choices[1])
			assert.Zero(t, p.LogProb(), "deterministic")
		})
	}

	cheap, err := NewStatic(StaticConfig{Pool: pool, Roles: reg, Model: "gpt-4o-mini"})
	require.NoError(t, err)
	p, err := cheap.Route(ctx, testTask(tasks.DomainMath, "q"))
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o-mini", p.Agents[3].Model)

	_, err = NewStatic(StaticConfig{Pool: pool, Roles: reg, Model: "gpt-5"})
	assert.ErrorContains(t, err, `config field Model: unknown model "gpt-5"`)
	_, err = NewStatic(StaticConfig{Roles: reg})
	assert.ErrorContains(t, err, "Pool is nil")
	withDefault, err := NewStatic(StaticConfig{Pool: pool})
	require.NoError(t, err, "nil Roles means the built-in roles")
	assert.Equal(t, "static-delegation", withDefault.Name())
	_, err = s.Route(ctx, testTask("law", "q"))
	assert.ErrorContains(t, err, `domain "law" has no roles`)
	_, err = s.Route(ctx, nil)
	assert.ErrorContains(t, err, "task is nil")
}

// TestStaticRepeatsWhenRolesRunOut covers a domain with two roles of kinds
// outside the SOP order's first two.
func TestStaticRepeatsWhenRolesRunOut(t *testing.T) {
	reg := &roles.Registry{}
	require.NoError(t, reg.Add(testRole(tasks.DomainMath, "Checker", roles.KindVerifier, "Checks.")))
	require.NoError(t, reg.Add(testRole(tasks.DomainMath, "Doer", roles.KindSolver, "Does.")))
	s, err := NewStatic(StaticConfig{Pool: testPool(t), Roles: reg})
	require.NoError(t, err)
	p, err := s.Route(context.Background(), testTask(tasks.DomainMath, "q"))
	require.NoError(t, err)
	// planner: none left after solver and verifier took theirs → repeat Checker;
	// critic → repeat Doer.
	assert.Equal(t, []string{"Checker", "Doer", "Doer", "Checker"}, agentRoles(p))
}

func TestSingle(t *testing.T) {
	ctx := context.Background()
	reg := testRegistry(t)
	for _, tc := range []struct {
		model string
		mode  topology.Mode
		name  string
	}{
		{"gpt-4o-mini", topology.ModeCoT, "single/gpt-4o-mini/CoT"},
		{"gpt-4o", topology.ModeIO, "single/gpt-4o/IO"},
		{"llama-3.1-8b", topology.ModeReflection, "single/llama-3.1-8b/Reflection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSingle(tc.model, tc.mode, reg)
			require.NoError(t, err)
			assert.Equal(t, tc.name, s.Name())
			p, err := s.Route(ctx, testTask(tasks.DomainCode, "q"))
			require.NoError(t, err)
			assert.Equal(t, topology.Plan{
				Mode: tc.mode, Domain: tasks.DomainCode,
				Agents: []topology.AgentSpec{{Role: "Programmer", Model: tc.model}},
				Choices: []topology.Choice{
					{Stage: "mode", Value: string(tc.mode)},
					{Stage: "role", Value: "Programmer"},
					{Stage: "model", Value: tc.model},
				},
			}, p)
		})
	}
	// The first solver, not the first role.
	s, err := NewSingle("gpt-4o", topology.ModeCoT, reg)
	require.NoError(t, err)
	p, err := s.Route(ctx, testTask(tasks.DomainMath, "q"))
	require.NoError(t, err)
	assert.Equal(t, "Math Solver", p.Agents[0].Role)

	noSolver := &roles.Registry{}
	require.NoError(t, noSolver.Add(testRole(tasks.DomainMath, "Checker", roles.KindVerifier, "Checks.")))
	s, err = NewSingle("gpt-4o", topology.ModeCoT, noSolver)
	require.NoError(t, err)
	p, err = s.Route(ctx, testTask(tasks.DomainMath, "q"))
	require.NoError(t, err)
	assert.Equal(t, "Checker", p.Agents[0].Role, "falls back to the first role")

	for _, tc := range []struct {
		model string
		mode  topology.Mode
		reg   *roles.Registry
		want  string
	}{
		{"", topology.ModeIO, reg, "model name is empty"},
		{"gpt-4o", topology.ModeDebate, reg, "runs several agents"},
		{"gpt-4o", "Swarm", reg, `unknown mode "Swarm"`},
	} {
		_, err := NewSingle(tc.model, tc.mode, tc.reg)
		assert.ErrorContains(t, err, tc.want)
	}
	_, err = s.Route(ctx, testTask("law", "q"))
	assert.ErrorContains(t, err, `domain "law" has no roles`)
}

func TestRandom(t *testing.T) {
	ctx := context.Background()
	pool, reg := testPool(t), testRegistry(t)
	r, err := NewRandom(pool, reg, 1, 5)
	require.NoError(t, err)
	assert.Equal(t, "random", r.Name())
	modes := map[topology.Mode]int{}
	counts := map[int]int{}
	models := map[string]int{}
	rolesSeen := map[string]int{}
	const n = 3000
	for i := range n {
		d := tasks.Domains()[i%3]
		p, err := r.Route(ctx, testTask(d, fmt.Sprintf("q%d", i)))
		require.NoError(t, err)
		modes[p.Mode]++
		if !p.Mode.SingleAgent() {
			counts[len(p.Agents)]++
		}
		// Same structure as the controller's plans.
		k := len(p.Agents)
		if p.Mode.SingleAgent() {
			require.Equal(t, 1, k)
			require.Len(t, p.Choices, 3)
		} else {
			require.True(t, k >= 2 && k <= 5, "count %d", k)
			require.Len(t, p.Choices, 2+2*k)
			assert.Equal(t, topology.Choice{Stage: "count", Value: strconv.Itoa(k), LogProb: -math.Log(4)}, p.Choices[1])
		}
		assert.Equal(t, topology.Choice{Stage: "mode", Value: string(p.Mode), LogProb: -math.Log(7)}, p.Choices[0])
		nr := float64(len(reg.Domain(d)))
		off := len(p.Choices) - 2*k
		for j, a := range p.Agents {
			_, err := reg.Get(d, a.Role)
			require.NoError(t, err)
			assert.Equal(t, topology.Choice{Stage: "role", Index: j, Value: a.Role, LogProb: -math.Log(nr)}, p.Choices[off+j])
			assert.Equal(t, topology.Choice{Stage: "model", Index: j, Value: a.Model, LogProb: -math.Log(4)}, p.Choices[off+k+j])
			models[a.Model]++
			if d == tasks.DomainMath {
				rolesSeen[a.Role]++
			}
		}
	}
	assert.Len(t, modes, 7)
	for m, c := range modes {
		assert.InDelta(t, n/7.0, float64(c), 5*math.Sqrt(n/7.0), "mode %s", m)
	}
	assert.Len(t, counts, 4)
	assert.Len(t, models, 4)
	assert.Len(t, rolesSeen, 6)

	// The same seed gives the same plans.
	a, err := NewRandom(pool, reg, 9, 0)
	require.NoError(t, err)
	b, err := NewRandom(pool, reg, 9, 0)
	require.NoError(t, err)
	for range 20 {
		pa, err := a.Route(ctx, testTask(tasks.DomainMath, "q"))
		require.NoError(t, err)
		pb, err := b.Route(ctx, testTask(tasks.DomainMath, "q"))
		require.NoError(t, err)
		require.Equal(t, pa, pb)
		assert.LessOrEqual(t, len(pa.Agents), DefaultMaxAgents)
	}

	_, err = NewRandom(nil, reg, 1, 0)
	assert.ErrorContains(t, err, "pool is nil")
	_, err = NewRandom(pool, nil, 1, 0)
	assert.NoError(t, err, "nil registry means the built-in roles")
	_, err = NewRandom(pool, reg, 1, 1)
	assert.ErrorContains(t, err, "maxAgents = 1")
	_, err = r.Route(ctx, testTask("law", "q"))
	assert.ErrorContains(t, err, `domain "law" has no roles`)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = r.Route(cancelled, testTask(tasks.DomainMath, "q"))
	assert.ErrorIs(t, err, context.Canceled)
}

// TestBaselinePlansScoreUnderTheController checks that the controller can
// re-score every baseline's plan (for off-policy weights).
func TestBaselinePlansScoreUnderTheController(t *testing.T) {
	ctx := context.Background()
	pool, reg := testPool(t), testRegistry(t)
	c := testController(t, nil)
	static, err := NewStatic(StaticConfig{Pool: pool, Roles: reg})
	require.NoError(t, err)
	single, err := NewSingle("gpt-4o-mini", topology.ModeCoT, reg)
	require.NoError(t, err)
	random, err := NewRandom(pool, reg, 3, 0)
	require.NoError(t, err)
	for _, r := range []Router{static, single, random, c} {
		t.Run(r.Name(), func(t *testing.T) {
			task := testTask(tasks.DomainMath, gsm8kQuestion)
			p, err := r.Route(ctx, task)
			require.NoError(t, err)
			lp, choices, err := c.LogProb(ctx, task, p)
			require.NoError(t, err)
			assert.Less(t, lp, 0.0)
			require.Len(t, choices, len(p.Choices), "the controller records the same decisions")
			for i := range choices {
				assert.Equal(t, p.Choices[i].Stage, choices[i].Stage)
				assert.Equal(t, p.Choices[i].Index, choices[i].Index)
				assert.Equal(t, p.Choices[i].Value, choices[i].Value)
			}
		})
	}
}
