package topology_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with the file at path, rewriting it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./topology -update")
	assert.Equal(t, string(want), string(got), "golden %s differs; run go test ./topology -update if the change is intended", path)
}

func edgeStrings(d *topology.DAG) []string {
	var out []string
	for _, e := range d.Edges() {
		out = append(out, e.From+"->"+e.To)
	}
	return out
}

func TestBuildShapes(t *testing.T) {
	withDecider := plan(topology.ModeTree, planner, solver, critic)
	withDecider.Decider = "large"
	debate3 := plan(topology.ModeDebate, solver, critic)
	debate3.Rounds = 3
	graphRefer := plan(topology.ModeGraph, solver, critic)
	graphRefer.Decision = topology.DecideRefer

	tests := []struct {
		name  string
		plan  topology.Plan
		ids   []string
		steps []agents.Step
		edges []string
		// decider is the decision node's "role@model", empty when it makes no call.
		decider string
	}{
		{
			name: "IO", plan: plan(topology.ModeIO, solver),
			ids:   []string{"a0", "decision"},
			steps: []agents.Step{agents.StepAnswer, ""},
			edges: []string{"a0->decision"},
		},
		{
			name: "CoT", plan: plan(topology.ModeCoT, solver),
			ids:   []string{"a0", "decision"},
			steps: []agents.Step{agents.StepReason, ""},
			edges: []string{"a0->decision"},
		},
		{
			name: "Reflection", plan: plan(topology.ModeReflection, solver),
			ids:   []string{"a0", "a0.reflect", "decision"},
			steps: []agents.Step{agents.StepReason, agents.StepReflect, ""},
			edges: []string{"a0->a0.reflect", "a0.reflect->decision"},
		},
		{
			name: "Chain", plan: plan(topology.ModeChain, solver, critic, checker),
			ids:   []string{"a0", "a1", "a2", "decision"},
			steps: []agents.Step{agents.StepReason, agents.StepCollaborate, agents.StepCollaborate, ""},
			edges: []string{"a0->a1", "a1->a2", "a2->decision"},
		},
		{
			name: "Tree", plan: plan(topology.ModeTree, planner, solver, critic),
			ids:     []string{"a0", "a1", "a2", "decision"},
			steps:   []agents.Step{agents.StepPlan, agents.StepCollaborate, agents.StepCollaborate, agents.StepDecide},
			edges:   []string{"a0->a1", "a0->a2", "a0->decision", "a1->decision", "a2->decision"},
			decider: "Planner@small",
		},
		{
			name: "TreeDecider", plan: withDecider,
			ids:     []string{"a0", "a1", "a2", "decision"},
			steps:   []agents.Step{agents.StepPlan, agents.StepCollaborate, agents.StepCollaborate, agents.StepDecide},
			edges:   []string{"a0->a1", "a0->a2", "a0->decision", "a1->decision", "a2->decision"},
			decider: "Planner@large",
		},
		{
			name: "Graph", plan: plan(topology.ModeGraph, solver, critic, checker),
			ids:   []string{"a0", "a1", "a2", "decision"},
			steps: []agents.Step{agents.StepReason, agents.StepCollaborate, agents.StepCollaborate, ""},
			edges: []string{"a0->a1", "a0->a2", "a0->decision", "a1->a2", "a1->decision", "a2->decision"},
		},
		{
			name: "GraphRefer", plan: graphRefer,
			ids:     []string{"a0", "a1", "decision"},
			steps:   []agents.Step{agents.StepReason, agents.StepCollaborate, agents.StepDecide},
			edges:   []string{"a0->a1", "a0->decision", "a1->decision"},
			decider: "Solver@small",
		},
		{
			name: "Debate", plan: plan(topology.ModeDebate, solver, critic, checker),
			ids: []string{"a0", "a1", "a2", "a0.r1", "a1.r1", "a2.r1", "decision"},
			steps: []agents.Step{agents.StepReason, agents.StepReason, agents.StepReason,
				agents.StepCollaborate, agents.StepCollaborate, agents.StepCollaborate, ""},
			edges: []string{
				"a0->a0.r1", "a0->a1.r1", "a0->a2.r1",
				"a1->a0.r1", "a1->a1.r1", "a1->a2.r1",
				"a2->a0.r1", "a2->a1.r1", "a2->a2.r1",
				"a0.r1->decision", "a1.r1->decision", "a2.r1->decision",
			},
		},
		{
			name: "Debate3Rounds", plan: debate3,
			ids:   []string{"a0", "a1", "a0.r1", "a1.r1", "a0.r2", "a1.r2", "decision"},
			steps: []agents.Step{agents.StepReason, agents.StepReason, agents.StepCollaborate, agents.StepCollaborate, agents.StepCollaborate, agents.StepCollaborate, ""},
			edges: []string{
				"a0->a0.r1", "a0->a1.r1", "a1->a0.r1", "a1->a1.r1",
				"a0.r1->a0.r2", "a0.r1->a1.r2", "a1.r1->a0.r2", "a1.r1->a1.r2",
				"a0.r2->decision", "a1.r2->decision",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := topology.Build(tt.plan)
			require.NoError(t, err)
			nodes := d.Nodes()
			require.Len(t, nodes, len(tt.ids))
			var ids []string
			var steps []agents.Step
			for _, n := range nodes {
				ids = append(ids, n.ID)
				steps = append(steps, n.Step)
			}
			assert.Equal(t, tt.ids, ids)
			assert.Equal(t, tt.steps, steps)
			assert.Equal(t, tt.edges, edgeStrings(d))
			assert.Equal(t, len(tt.ids), d.Len())

			// Exactly one sink, and it is the decision node.
			readers := map[string]int{}
			for _, e := range d.Edges() {
				readers[e.From]++
			}
			var sinks []string
			for _, n := range nodes {
				if readers[n.ID] == 0 {
					sinks = append(sinks, n.ID)
				}
			}
			assert.Equal(t, []string{topology.DecisionID}, sinks)

			dec := nodes[len(nodes)-1]
			assert.Equal(t, topology.NodeDecision, dec.Kind)
			assert.Equal(t, -1, dec.Slot)
			if tt.decider == "" {
				assert.False(t, dec.Calls())
			} else {
				assert.Equal(t, tt.decider, dec.Role+"@"+dec.Model)
			}

			// Inputs agree with the edges and are in stable order.
			pos := map[string]int{}
			for i, n := range nodes {
				pos[n.ID] = i
			}
			for _, n := range nodes {
				in := d.Inputs(n.ID)
				for k, id := range in {
					assert.Contains(t, tt.edges, id+"->"+n.ID)
					assert.Less(t, pos[id], pos[n.ID], "input %s of %s comes later in stable order", id, n.ID)
					if k > 0 {
						assert.Less(t, pos[in[k-1]], pos[id])
					}
				}
			}
			// Every agent node carries its slot's role and model.
			for _, n := range nodes[:len(nodes)-1] {
				assert.Equal(t, tt.plan.Agents[n.Slot].Role, n.Role, n.ID)
				assert.Equal(t, tt.plan.Agents[n.Slot].Model, n.Model, n.ID)
			}
		})
	}
}

func TestBuildDOTGolden(t *testing.T) {
	plans := map[string]topology.Plan{
		"io":         plan(topology.ModeIO, solver),
		"cot":        plan(topology.ModeCoT, solver),
		"reflection": plan(topology.ModeReflection, solver),
		"chain":      plan(topology.ModeChain, solver, critic, checker),
		"tree":       plan(topology.ModeTree, planner, solver, critic),
		"graph":      plan(topology.ModeGraph, solver, critic, checker),
		"debate":     plan(topology.ModeDebate, solver, critic, checker),
	}
	for _, m := range topology.Modes() {
		name := strings.ToLower(string(m))
		t.Run(name, func(t *testing.T) {
			p := plans[name]
			d, err := topology.Build(p)
			require.NoError(t, err)
			first := d.DOT()
			assert.Contains(t, first, "shape=doubleoctagon")
			for range 20 {
				again, err := topology.Build(p)
				require.NoError(t, err)
				require.Equal(t, first, again.DOT(), "DOT differs between builds")
				require.Equal(t, d.Nodes(), again.Nodes(), "node order differs between builds")
			}
			golden(t, filepath.Join("testdata", "dot", name+".dot"), []byte(first))
		})
	}
}

func TestDOTEscapes(t *testing.T) {
	p := topology.Plan{Mode: topology.ModeIO, Agents: []topology.AgentSpec{{Role: `Say "hi" \ bye`, Model: "m"}}}
	d, err := topology.Build(p)
	require.NoError(t, err)
	assert.Contains(t, d.DOT(), `label="a0 (answer)\nSay \"hi\" \\ bye\nm"`)
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		plan topology.Plan
		want []string
	}{
		{"unknown mode", topology.Plan{Mode: "Star", Agents: []topology.AgentSpec{{Role: solver, Model: "small"}}}, []string{"field mode", `"Star"`}},
		{"mode misspelt", topology.Plan{Mode: "chain", Agents: []topology.AgentSpec{{Role: solver, Model: "small"}, {Role: critic, Model: "small"}}}, []string{"field mode", `"chain"`}},
		{"single with two", plan(topology.ModeCoT, solver, critic), []string{"field agents", "CoT", "exactly 1", "got 2"}},
		{"single with none", plan(topology.ModeIO), []string{"field agents", "exactly 1", "got 0"}},
		{"multi with one", plan(topology.ModeChain, solver), []string{"field agents", "Chain", "2..8", "got 1"}},
		{"multi with nine", plan(topology.ModeGraph, solver, solver, solver, solver, solver, solver, solver, solver, solver), []string{"field agents", "2..8", "got 9"}},
		{"rounds too many", func() topology.Plan { p := plan(topology.ModeDebate, solver, critic); p.Rounds = 6; return p }(), []string{"field rounds", "6", "1..5"}},
		{"rounds negative", func() topology.Plan { p := plan(topology.ModeDebate, solver, critic); p.Rounds = -1; return p }(), []string{"field rounds", "-1"}},
		{"decision unknown", func() topology.Plan { p := plan(topology.ModeChain, solver, critic); p.Decision = "coin"; return p }(), []string{"field decision", `"coin"`}},
		{"empty role", topology.Plan{Mode: topology.ModeChain, Agents: []topology.AgentSpec{{Role: solver, Model: "small"}, {Role: " ", Model: "small"}}}, []string{"agent 1", "field role", "empty"}},
		{"empty model", topology.Plan{Mode: topology.ModeTree, Agents: []topology.AgentSpec{{Role: solver, Model: "small"}, {Role: solver, Model: "small"}, {Role: critic}}}, []string{"agent 2", "field model", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := topology.Build(tt.plan)
			require.Error(t, err)
			assert.Nil(t, d)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	reg := testRegistry(t)
	pool := testPool(t, &fakeModel{})
	mod := func(f func(*topology.Plan)) topology.Plan {
		p := plan(topology.ModeChain, solver, critic)
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		plan   topology.Plan
		is     error
		want   []string
		wantOK bool
	}{
		{name: "ok", plan: plan(topology.ModeChain, solver, critic), wantOK: true},
		{name: "ok with decider", plan: mod(func(p *topology.Plan) { p.Decider = "large"; p.Decision = topology.DecideRefer }), wantOK: true},
		{name: "unknown role", plan: mod(func(p *topology.Plan) { p.Agents[1].Role = "Juggler" }), is: roles.ErrUnknownRole, want: []string{"agent 1", "field role", `"Juggler"`}},
		{name: "role of another domain", plan: mod(func(p *topology.Plan) { p.Domain = tasks.DomainCode }), is: roles.ErrUnknownRole, want: []string{"agent 0", "field role", `"Solver"`, `"code"`}},
		{name: "unknown model", plan: mod(func(p *topology.Plan) { p.Agents[1].Model = "gpt-9" }), is: agents.ErrUnknownModel, want: []string{"agent 1", "field model", `"gpt-9"`}},
		{name: "unknown decider", plan: mod(func(p *topology.Plan) { p.Decider = "oracle" }), is: agents.ErrUnknownModel, want: []string{"field decider", `"oracle"`}},
		{name: "empty domain", plan: mod(func(p *topology.Plan) { p.Domain = "" }), want: []string{"field domain", "empty"}},
		{name: "shape checked too", plan: mod(func(p *topology.Plan) { p.Agents = p.Agents[:1] }), want: []string{"field agents", "got 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.plan.Validate(reg, pool)
			if tt.wantOK {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tt.is != nil {
				assert.True(t, errors.Is(err, tt.is), "error %v does not wrap %v", err, tt.is)
			}
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	assert.Error(t, plan(topology.ModeIO, solver).Validate(nil, pool))
	assert.Error(t, plan(topology.ModeIO, solver).Validate(reg, nil))
}

func TestDAGAccessorsCopy(t *testing.T) {
	p := plan(topology.ModeChain, solver, critic)
	d, err := topology.Build(p)
	require.NoError(t, err)
	p.Agents[0].Role = "changed"
	assert.Equal(t, solver, d.Plan().Agents[0].Role, "Build must copy the plan")
	nodes := d.Nodes()
	nodes[0].ID = "x"
	assert.Equal(t, "a0", d.Nodes()[0].ID, "Nodes must return a copy")
	got := d.Plan()
	got.Agents[0].Role = "changed"
	assert.Equal(t, solver, d.Plan().Agents[0].Role, "Plan must return a copy")
	n, ok := d.Node("a1")
	assert.True(t, ok)
	assert.Equal(t, critic, n.Role)
	_, ok = d.Node("zz")
	assert.False(t, ok)
	assert.Nil(t, d.Inputs("a0"))
	assert.Nil(t, d.Inputs("zz"))
}

func FuzzBuild(f *testing.F) {
	for _, m := range topology.Modes() {
		f.Add(string(m), 3, 2, "", "Solver", "small")
	}
	f.Add("Debate", 8, 5, "refer", "R", "m")
	f.Add("Tree", 0, 0, "vote", "", "")
	f.Fuzz(func(t *testing.T, mode string, n, rounds int, decision, role, model string) {
		if n < 0 || n > 64 {
			return
		}
		p := topology.Plan{Mode: topology.Mode(mode), Rounds: rounds, Decision: topology.DecisionMethod(decision)}
		for i := 0; i < n; i++ {
			p.Agents = append(p.Agents, topology.AgentSpec{Role: role, Model: model})
		}
		d, err := topology.Build(p)
		if err != nil {
			if d != nil {
				t.Fatalf("Build returned a DAG with error %v", err)
			}
			return
		}
		nodes := d.Nodes()
		if nodes[len(nodes)-1].ID != topology.DecisionID {
			t.Fatalf("last node %q is not the decision", nodes[len(nodes)-1].ID)
		}
		pos := map[string]int{}
		for i, nd := range nodes {
			pos[nd.ID] = i
		}
		readers := map[string]int{}
		for _, e := range d.Edges() {
			if pos[e.From] >= pos[e.To] {
				t.Fatalf("edge %s->%s goes backwards", e.From, e.To)
			}
			readers[e.From]++
		}
		for _, nd := range nodes[:len(nodes)-1] {
			if readers[nd.ID] == 0 {
				t.Fatalf("node %s is a second sink", nd.ID)
			}
		}
		if d.DOT() != d.DOT() {
			t.Fatal("DOT is not deterministic")
		}
	})
}
