package topology_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// nodeByID returns the trace of node id.
func nodeByID(t *testing.T, tr *topology.Trace, id string) topology.NodeTrace {
	t.Helper()
	for _, n := range tr.Nodes {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("trace has no node %s", id)
	return topology.NodeTrace{}
}

// guard bounds a test that would otherwise hang on a scheduling bug; it is a
// deadlock guard, not a timing assertion.
func guard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewExecutorErrors(t *testing.T) {
	pool := testPool(t, &fakeModel{})
	reg := testRegistry(t)
	tests := []struct {
		name string
		cfg  topology.Config
		want string
	}{
		{"no pool", topology.Config{Roles: reg}, "field Pool"},
		{"negative budget", topology.Config{Pool: pool, Roles: reg, Budget: -1}, "field Budget"},
		{"negative max tokens", topology.Config{Pool: pool, Roles: reg, MaxTokens: -1}, "field MaxTokens"},
		{"negative expected", topology.Config{Pool: pool, Roles: reg, ExpectedCompletion: -5}, "field ExpectedCompletion"},
		{"negative concurrency", topology.Config{Pool: pool, Roles: reg, MaxConcurrency: -2}, "field MaxConcurrency"},
		{"negative temperature", topology.Config{Pool: pool, Roles: reg, Temperature: -0.1}, "field Temperature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := topology.NewExecutor(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("defaults", func(t *testing.T) {
		e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
		require.NoError(t, err)
		cfg := e.Config()
		assert.Equal(t, topology.DefaultMaxTokens, cfg.MaxTokens)
		assert.Equal(t, topology.DefaultExpectedCompletion, cfg.ExpectedCompletion)
		assert.NotEmpty(t, cfg.NewID())
		e, err = topology.NewExecutor(topology.Config{Pool: pool, Roles: reg, MaxTokens: 100})
		require.NoError(t, err)
		assert.Equal(t, 100, e.Config().ExpectedCompletion)
	})
}

func TestRunRejectsBadInput(t *testing.T) {
	e := testExecutor(t, &fakeModel{}, nil)
	tests := []struct {
		name string
		plan topology.Plan
		task *tasks.Task
		want []string
	}{
		{"nil task", plan(topology.ModeIO, solver), nil, []string{"nil task"}},
		{"bad shape", plan(topology.ModeChain, solver), testTask(), []string{"field agents"}},
		{"unknown role", plan(topology.ModeIO, "Juggler"), testTask(), []string{"agent 0", "field role", "Juggler"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := e.Run(context.Background(), tt.plan, tt.task)
			require.Error(t, err)
			require.NotNil(t, tr)
			assert.Equal(t, "trace-0001", tr.ID)
			assert.Equal(t, err.Error(), tr.Err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	tr, err := e.RunDAG(context.Background(), nil, testTask())
	require.Error(t, err)
	require.NotNil(t, tr)
}

func TestRunEveryMode(t *testing.T) {
	for _, p := range goldenPlans() {
		t.Run(string(p.Mode), func(t *testing.T) {
			f := &fakeModel{}
			e := testExecutor(t, f, nil)
			tr, err := e.Run(context.Background(), p, testTask())
			require.NoError(t, err)
			d, err := topology.Build(p)
			require.NoError(t, err)
			require.Len(t, tr.Nodes, d.Len())
			calls := 0
			var in, out int
			var dollars float64
			for i, n := range tr.Nodes {
				assert.Equal(t, d.Nodes()[i].ID, n.ID, "trace nodes follow stable order")
				assert.Empty(t, n.Error, n.ID)
				assert.False(t, n.Skipped, n.ID)
				if n.Model != "" {
					calls++
					assert.Positive(t, n.PromptTokens, n.ID)
					assert.Positive(t, n.CompletionTokens, n.ID)
					assert.Positive(t, n.Dollars, n.ID)
					assert.NotEmpty(t, n.Prompt, n.ID)
				}
				assert.Equal(t, d.Inputs(n.ID), n.Inputs, n.ID)
				in += n.PromptTokens
				out += n.CompletionTokens
				dollars += n.Dollars
			}
			assert.Len(t, f.recorded(), calls)
			assert.Equal(t, calls, tr.Agents())
			assert.Equal(t, in, tr.PromptTokens)
			assert.Equal(t, out, tr.CompletionTokens)
			assert.InDelta(t, dollars, tr.Dollars, 1e-15)
			assert.Equal(t, "42", tr.Answer)
			assert.Contains(t, tr.Final, `\boxed{42}`)
			assert.Equal(t, 1.0, tr.Score)
			assert.Equal(t, "t/1", tr.TaskID)
			assert.Empty(t, tr.Err)
		})
	}
}

func TestSiblingsRunConcurrently(t *testing.T) {
	tests := []struct {
		name    string
		plan    topology.Plan
		barrier *barrier
	}{
		// Each barrier holds its calls until all of them are in flight at
		// once, so the run only finishes if the siblings really overlap.
		{"Debate round 0", plan(topology.ModeDebate, solver, critic, checker), newBarrier(3, solver, critic, checker)},
		{"Tree children", plan(topology.ModeTree, planner, solver, critic, checker), newBarrier(3, solver, critic, checker)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeModel{barrier: tt.barrier}
			e := testExecutor(t, f, nil)
			tr, err := e.Run(guard(t), tt.plan, testTask())
			require.NoError(t, err, "siblings did not overlap")
			assert.Empty(t, tr.Err)
			f.mu.Lock()
			defer f.mu.Unlock()
			assert.GreaterOrEqual(t, f.maxInFlight, 3)
		})
	}
}

func TestMaxConcurrency(t *testing.T) {
	for _, limit := range []int{1, 2} {
		f := &fakeModel{}
		var starts []string
		e := testExecutor(t, f, func(c *topology.Config) {
			c.MaxConcurrency = limit
			c.Hooks.OnNodeStart = func(n topology.NodeTrace) { starts = append(starts, n.ID) }
		})
		p := plan(topology.ModeDebate, solver, critic, checker, planner)
		tr, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err)
		assert.Empty(t, tr.Err)
		f.mu.Lock()
		assert.LessOrEqual(t, f.maxInFlight, limit)
		f.mu.Unlock()
		d, err := topology.Build(p)
		require.NoError(t, err)
		var want []string
		for _, n := range d.Nodes() {
			want = append(want, n.ID)
		}
		assert.Equal(t, want, starts, "limit %d", limit)
	}
}

func TestLaunchOrderIsStable(t *testing.T) {
	for _, p := range goldenPlans() {
		t.Run(string(p.Mode), func(t *testing.T) {
			d, err := topology.Build(p)
			require.NoError(t, err)
			var want []string
			for _, n := range d.Nodes() {
				want = append(want, n.ID)
			}
			for range 20 {
				var starts []string
				e := testExecutor(t, &fakeModel{}, func(c *topology.Config) {
					c.Hooks.OnNodeStart = func(n topology.NodeTrace) { starts = append(starts, n.ID) }
				})
				_, err := e.RunDAG(context.Background(), d, testTask())
				require.NoError(t, err)
				require.Equal(t, want, starts)
			}
		})
	}
}

func TestPromptsCarryInputsInOrder(t *testing.T) {
	tests := []struct {
		name   string
		plan   topology.Plan
		node   string
		inputs []string // "node id (role)" in the order they must appear
	}{
		{"Graph last agent", plan(topology.ModeGraph, solver, critic, checker), "a2", []string{"a0 (Solver)", "a1 (Critic)"}},
		{"Chain reads predecessor only", plan(topology.ModeChain, solver, critic, checker), "a2", []string{"a1 (Critic)"}},
		{"Debate round 1", plan(topology.ModeDebate, solver, critic, checker), "a1.r1", []string{"a0 (Solver)", "a1 (Critic)", "a2 (Checker)"}},
		{"Tree child reads plan", plan(topology.ModeTree, planner, solver, critic), "a2", []string{"a0 (Planner)"}},
		{"Tree decider reads all", plan(topology.ModeTree, planner, solver, critic), "decision", []string{"a0 (Planner)", "a1 (Solver)", "a2 (Critic)"}},
		{"Reflection reads own reply", plan(topology.ModeReflection, solver), "a0.reflect", []string{"a0 (Solver)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testExecutor(t, &fakeModel{}, nil)
			tr, err := e.Run(context.Background(), tt.plan, testTask())
			require.NoError(t, err)
			n := nodeByID(t, tr, tt.node)
			assert.Equal(t, strings.Count(n.Prompt, agents.ReplyOpen), len(tt.inputs))
			at := -1
			for _, in := range tt.inputs {
				k := strings.Index(n.Prompt, agents.ReplyOpen+in+" ===")
				require.GreaterOrEqual(t, k, 0, "prompt of %s lacks %s:\n%s", tt.node, in, n.Prompt)
				assert.Greater(t, k, at, "%s out of order", in)
				at = k
				// The block carries the author's actual reply.
				id := strings.SplitN(in, " ", 2)[0]
				assert.Contains(t, n.Prompt[k:], nodeByID(t, tr, id).Reply)
			}
			assert.Contains(t, n.Prompt, "What is 6 * 7?")
		})
	}
}

func TestDecisions(t *testing.T) {
	debate := func(d topology.DecisionMethod) topology.Plan {
		p := plan(topology.ModeDebate, solver, critic, checker)
		p.Rounds = 1
		p.Decision = d
		return p
	}
	tests := []struct {
		name   string
		plan   topology.Plan
		answer map[string]string
		want   string
		// from is the node whose reply the decision passes through; empty
		// for a decision that calls a model.
		from string
	}{
		{"vote majority", debate(topology.DecideVote), map[string]string{solver: "1", critic: "2", checker: " 2"}, "2", "a1"},
		{"vote tie goes to earliest", debate(topology.DecideVote), map[string]string{solver: "1", critic: "2", checker: "3"}, "1", "a0"},
		{"vote unanimous", debate(topology.DecideVote), map[string]string{solver: "7", critic: "7", checker: "7"}, "7", "a0"},
		{"last", debate(topology.DecideLast), map[string]string{solver: "1", critic: "2", checker: "3"}, "3", "a2"},
		{"last of reflection", plan(topology.ModeReflection, solver), map[string]string{solver: "5"}, "5", "a0.reflect"},
		{"refer", debate(topology.DecideRefer), map[string]string{solver: "1", critic: "2", checker: "3"}, "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testExecutor(t, &fakeModel{answer: tt.answer}, nil)
			tr, err := e.Run(context.Background(), tt.plan, testTask())
			require.NoError(t, err)
			dec := tr.Nodes[len(tr.Nodes)-1]
			assert.Equal(t, tt.want, tr.Answer)
			assert.Equal(t, tt.want, dec.Answer)
			assert.Equal(t, dec.Reply, tr.Final)
			if tt.from != "" {
				assert.Equal(t, nodeByID(t, tr, tt.from).Reply, tr.Final)
				assert.Zero(t, dec.PromptTokens+dec.CompletionTokens)
				assert.Zero(t, dec.Dollars)
				assert.Empty(t, dec.Model)
				assert.Empty(t, dec.Prompt)
				return
			}
			assert.Equal(t, agents.StepDecide, dec.Step)
			assert.Equal(t, solver, dec.Role)
			assert.Equal(t, "small", dec.Model)
			assert.Positive(t, dec.Dollars)
			assert.Contains(t, dec.Prompt, agents.Instructions[agents.StepDecide])
			assert.Contains(t, tr.Final, "Solver decide from 3 replies")
		})
	}
}

func TestDegradeOnFailingNode(t *testing.T) {
	boom := errors.New("provider exploded")
	tests := []struct {
		name     string
		plan     topology.Plan
		fail     []string
		failStep agents.Step // fail the first call of this step
		failed   []string    // nodes that ran and failed
		skipped  []string    // nodes skipped with "no input arrived"
		alone    []string    // nodes no reply reached, which answered on their own
		inputs   map[string][]string
		runErr   bool
	}{
		{
			name: "Graph middle agent", plan: plan(topology.ModeGraph, solver, critic, checker), fail: []string{critic},
			failed: []string{"a1"}, inputs: map[string][]string{"a2": {"a0"}, "decision": {"a0", "a2"}},
		},
		{
			name: "Debate one agent", plan: plan(topology.ModeDebate, solver, critic, checker), fail: []string{checker},
			failed: []string{"a2", "a2.r1"}, inputs: map[string][]string{"a0.r1": {"a0", "a1"}, "decision": {"a0.r1", "a1.r1"}},
		},
		{
			name: "Tree child", plan: plan(topology.ModeTree, planner, solver, critic), fail: []string{solver},
			failed: []string{"a1"}, inputs: map[string][]string{"decision": {"a0", "a2"}},
		},
		{
			name: "Chain middle agent: the next reads the one before", plan: plan(topology.ModeChain, solver, critic, checker), fail: []string{critic},
			failed: []string{"a1"}, inputs: map[string][]string{"a2": {"a0"}, "decision": {"a2"}},
		},
		{
			name: "Chain tail: the decision takes the last reply that arrived", plan: plan(topology.ModeChain, solver, critic, checker), fail: []string{checker},
			failed: []string{"a2"}, inputs: map[string][]string{"decision": {"a1"}},
		},
		{
			name: "Chain head: the next agent answers on its own", plan: plan(topology.ModeChain, solver, critic, checker), fail: []string{solver},
			failed: []string{"a0"}, alone: []string{"a1"}, inputs: map[string][]string{"a2": {"a1"}, "decision": {"a2"}},
		},
		{
			name: "Tree root: the children solve without a plan", plan: plan(topology.ModeTree, planner, solver, critic), fail: []string{planner},
			failed: []string{"a0"}, alone: []string{"a1", "a2"}, inputs: map[string][]string{"decision": {"a1", "a2"}},
		},
		{
			name: "Reflection whose first answer failed answers afresh", plan: plan(topology.ModeReflection, solver),
			failStep: agents.StepReason, failed: []string{"a0"}, alone: []string{"a0.reflect"}, inputs: map[string][]string{"decision": {"a0.reflect"}},
		},
		{
			name: "every agent down: no reply reaches the decision", plan: plan(topology.ModeChain, solver, critic), fail: []string{solver, critic},
			failed: []string{"a0", "a1"}, skipped: []string{"decision"}, runErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeModel{fail: map[string]error{}}
			for _, r := range tt.fail {
				f.fail[r] = boom
			}
			var model llms.Model = f
			if tt.failStep != "" {
				model = &failFirstStep{fakeModel: f, step: tt.failStep, err: boom}
			}
			e := testExecutor(t, model, nil)
			tr, err := e.Run(context.Background(), tt.plan, testTask())
			require.NotNil(t, tr)
			for _, id := range tt.failed {
				n := nodeByID(t, tr, id)
				assert.Contains(t, n.Error, "provider exploded", id)
				assert.False(t, n.Skipped, id)
				assert.Empty(t, n.Reply, id)
				assert.NotEmpty(t, n.Prompt, id)
			}
			for _, id := range tt.skipped {
				n := nodeByID(t, tr, id)
				assert.True(t, n.Skipped, id)
				assert.Equal(t, "no input arrived", n.Error, id)
			}
			for id, want := range tt.inputs {
				assert.Equal(t, want, nodeByID(t, tr, id).Inputs, id)
			}
			for _, id := range tt.alone {
				n := nodeByID(t, tr, id)
				assert.False(t, n.Skipped, id)
				assert.Empty(t, n.Error, id)
				assert.Empty(t, n.Inputs, id)
				assert.Equal(t, agents.StepReason, n.Step, id)
				assert.NotContains(t, n.Prompt, agents.RepliesHeader, id)
				assert.Contains(t, n.Reply, "reason from 0 replies", id)
			}
			if tt.runErr {
				require.Error(t, err)
				assert.ErrorIs(t, err, boom)
				assert.Contains(t, err.Error(), "no reply reached the decision node")
				assert.Equal(t, err.Error(), tr.Err)
				assert.Empty(t, tr.Final)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, tr.Err)
			assert.Equal(t, "42", tr.Answer)
			assert.Equal(t, 1.0, tr.Score)
		})
	}
}

// failFirstStep fails the first call of one step, then behaves like its
// fakeModel.
type failFirstStep struct {
	*fakeModel
	step agents.Step
	err  error

	mu     sync.Mutex
	failed bool
}

func (f *failFirstStep) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if len(msgs) == 2 && stepByInstruction[strings.SplitN(partText(msgs[1]), "\n", 2)[0]] == f.step {
		f.mu.Lock()
		first := !f.failed
		f.failed = true
		f.mu.Unlock()
		if first {
			return nil, f.err
		}
	}
	return f.fakeModel.GenerateContent(ctx, msgs, options...)
}

func TestReferFallsBack(t *testing.T) {
	tests := []struct {
		name   string
		model  *fakeModel
		budget float64
		want   string // in the decision node's error
	}{
		{"decider call fails", &fakeModel{failStep: map[agents.Step]error{agents.StepDecide: errors.New("decider down")}}, 0, "decider down"},
		{"decider unaffordable", &fakeModel{}, 0.05, "budget exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.model.answer = map[string]string{planner: "1", solver: "2", critic: "3"}
			p := plan(topology.ModeTree, planner, solver, critic)
			p.Decider = "huge"
			e := testExecutor(t, tt.model, func(c *topology.Config) { c.Budget = tt.budget })
			tr, err := e.Run(context.Background(), p, testTask())
			require.NoError(t, err)
			dec := tr.Nodes[len(tr.Nodes)-1]
			assert.Contains(t, dec.Error, tt.want)
			assert.Contains(t, dec.Error, "used the last reply")
			assert.False(t, dec.Skipped)
			assert.Equal(t, nodeByID(t, tr, "a2").Reply, tr.Final)
			assert.Equal(t, "3", tr.Answer)
			assert.Equal(t, 0.0, tr.Score)
			if tt.budget > 0 {
				assert.LessOrEqual(t, tr.Dollars, tt.budget)
				assert.Zero(t, dec.Dollars)
			}
		})
	}
}

func TestBudget(t *testing.T) {
	p := plan(topology.ModeDebate, solver, critic, checker)
	// With an expected completion above the fake's longest reply the
	// estimates bound the real costs, so the budget is never overrun.
	expect := func(c *topology.Config) { c.ExpectedCompletion = 20 }
	free, err := testExecutor(t, &fakeModel{}, expect).Run(context.Background(), p, testTask())
	require.NoError(t, err)
	// Afford the first round and one and a half second-round calls: one
	// second-round agent runs, the other two are stopped.
	var round0, round1 float64
	for _, n := range free.Nodes {
		if n.Round == 0 {
			round0 += n.Dollars
		} else {
			round1 = max(round1, n.Dollars)
		}
	}
	budget := round0 + 1.5*round1
	require.Less(t, budget, free.Dollars)

	for _, limit := range []int{0, 1} {
		e := testExecutor(t, &fakeModel{}, func(c *topology.Config) {
			expect(c)
			c.Budget = budget
			c.MaxConcurrency = limit
		})
		tr, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err, "one second-round reply reaches the vote")
		assert.LessOrEqual(t, tr.Dollars, budget, "spent more than the budget (limit %d)", limit)
		var ran, stopped int
		for _, n := range tr.Nodes {
			switch {
			case n.Skipped && strings.Contains(n.Error, "budget exceeded"):
				stopped++
				assert.Zero(t, n.Dollars)
			case n.Model != "" && !n.Skipped:
				ran++
			}
		}
		assert.Equal(t, 2, stopped, "limit %d", limit)
		assert.Equal(t, 4, ran, "limit %d", limit)
		assert.Equal(t, []string{"a0.r1"}, nodeByID(t, tr, topology.DecisionID).Inputs)
		assert.Equal(t, "42", tr.Answer)
	}

	t.Run("a chain cut short answers with what arrived", func(t *testing.T) {
		cp := plan(topology.ModeChain, solver, critic, checker)
		full, err := testExecutor(t, &fakeModel{}, expect).Run(context.Background(), cp, testTask())
		require.NoError(t, err)
		first := full.Nodes[0].Dollars
		e := testExecutor(t, &fakeModel{}, func(c *topology.Config) {
			expect(c)
			c.Budget = first * 1.6 // the head (estimated a little above its cost), not its successor
		})
		tr, err := e.Run(context.Background(), cp, testTask())
		require.NoError(t, err, "the head's reply reaches the decision")
		assert.LessOrEqual(t, tr.Dollars, first*1.6)
		assert.Contains(t, nodeByID(t, tr, "a1").Error, "budget exceeded")
		assert.Equal(t, []string{"a0"}, nodeByID(t, tr, topology.DecisionID).Inputs)
		assert.Equal(t, "42", tr.Answer)
		assert.Equal(t, 1.0, tr.Score)
	})

	t.Run("nothing affordable", func(t *testing.T) {
		e := testExecutor(t, &fakeModel{}, func(c *topology.Config) { c.Budget = 1e-9 })
		tr, err := e.Run(context.Background(), plan(topology.ModeChain, solver, critic), testTask())
		require.Error(t, err)
		assert.ErrorIs(t, err, topology.ErrBudget)
		require.NotNil(t, tr)
		assert.Zero(t, tr.Dollars)
		assert.True(t, tr.Nodes[0].Skipped)
		assert.Contains(t, tr.Nodes[0].Error, "budget exceeded")
	})
}

func TestCancellation(t *testing.T) {
	f := &fakeModel{block: map[string]bool{checker: true}, blocked: make(chan string, 1)}
	ended := make(chan string, 16)
	e := testExecutor(t, f, func(c *topology.Config) {
		c.Hooks.OnNodeEnd = func(n topology.NodeTrace) { ended <- n.ID }
	})
	ctx, cancel := context.WithCancel(guard(t))
	type outcome struct {
		tr  *topology.Trace
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		tr, err := e.Run(ctx, plan(topology.ModeDebate, solver, critic, checker), testTask())
		done <- outcome{tr, err}
	}()
	// Cancel once a0 and a1 have finished and a2 is blocked in its call.
	require.Equal(t, checker, <-f.blocked)
	got := map[string]bool{}
	for !got["a0"] || !got["a1"] {
		got[<-ended] = true
	}
	cancel()
	out := <-done

	require.Error(t, out.err)
	assert.ErrorIs(t, out.err, context.Canceled)
	tr := out.tr
	require.NotNil(t, tr)
	require.Len(t, tr.Nodes, 7, "every node is in the partial trace")
	assert.Equal(t, out.err.Error(), tr.Err)
	for _, id := range []string{"a0", "a1"} {
		n := nodeByID(t, tr, id)
		assert.Empty(t, n.Error, id)
		assert.Contains(t, n.Reply, `\boxed{42}`, id)
	}
	a2 := nodeByID(t, tr, "a2")
	assert.False(t, a2.Skipped)
	assert.Contains(t, a2.Error, context.Canceled.Error())
	for _, id := range []string{"a0.r1", "a1.r1", "a2.r1", "decision"} {
		n := nodeByID(t, tr, id)
		assert.True(t, n.Skipped, id)
		assert.Contains(t, n.Error, context.Canceled.Error(), id)
	}
	assert.Empty(t, tr.Final)
	assert.Len(t, f.recorded(), 3)
}

func TestHooksOncePerNode(t *testing.T) {
	tests := []struct {
		name    string
		plan    topology.Plan
		fail    map[string]error
		skipped int
	}{
		{"Debate", plan(topology.ModeDebate, solver, critic, checker), nil, 0},
		{"Tree refer", plan(topology.ModeTree, planner, solver, critic), nil, 0},
		{"Chain with failing head", plan(topology.ModeChain, solver, critic, checker), map[string]error{solver: errors.New("down")}, 0},
		{"Chain with every agent down", plan(topology.ModeChain, solver, critic, checker), map[string]error{solver: errors.New("down"), critic: errors.New("down"), checker: errors.New("down")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			starts := map[string]int{}
			ends := map[string]topology.NodeTrace{}
			endCount := map[string]int{}
			e := testExecutor(t, &fakeModel{fail: tt.fail}, func(c *topology.Config) {
				c.Hooks.OnNodeStart = func(n topology.NodeTrace) {
					assert.Zero(t, endCount[n.ID], "%s started after it ended", n.ID)
					starts[n.ID]++
				}
				c.Hooks.OnNodeEnd = func(n topology.NodeTrace) {
					endCount[n.ID]++
					ends[n.ID] = n
				}
			})
			tr, _ := e.Run(context.Background(), tt.plan, testTask())
			require.NotNil(t, tr)
			skipped := 0
			for _, n := range tr.Nodes {
				assert.Equal(t, 1, endCount[n.ID], "OnNodeEnd calls for %s", n.ID)
				assert.Equal(t, n, ends[n.ID], "OnNodeEnd saw a different record for %s", n.ID)
				if n.Skipped {
					skipped++
					assert.Zero(t, starts[n.ID], "skipped %s was started", n.ID)
				} else {
					assert.Equal(t, 1, starts[n.ID], "OnNodeStart calls for %s", n.ID)
				}
			}
			assert.Equal(t, tt.skipped, skipped)
		})
	}
}

func TestCriticalPath(t *testing.T) {
	lat := map[string]int{planner: 100, solver: 200, critic: 300, checker: 50}
	tests := []struct {
		name string
		plan topology.Plan
		want time.Duration
	}{
		{"Chain adds up", plan(topology.ModeChain, solver, critic, checker), 550 * time.Millisecond},
		// root, slowest child, then the decider (root's role).
		{"Tree takes the slowest child", plan(topology.ModeTree, planner, solver, critic), 500 * time.Millisecond},
		// two rounds of the slowest agent; the vote costs nothing.
		{"Debate rounds", plan(topology.ModeDebate, solver, critic, checker), 600 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testExecutor(t, &fakeModel{latencyMs: lat}, nil)
			tr, err := e.Run(context.Background(), tt.plan, testTask())
			require.NoError(t, err)
			assert.Equal(t, tt.want, tr.CriticalPath)
			for _, n := range tr.Nodes {
				if n.Model != "" {
					assert.Equal(t, time.Duration(lat[n.Role])*time.Millisecond, n.ReportedLatency, n.ID)
					assert.Positive(t, n.Latency, n.ID)
				}
			}
		})
	}
}

func TestRequestOptions(t *testing.T) {
	p := plan(topology.ModeDebate, solver, critic, checker)
	seeds := func(seed int) []int {
		f := &fakeModel{}
		e := testExecutor(t, f, func(c *topology.Config) { c.Seed = seed; c.MaxTokens = 256 })
		_, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err)
		byRoleStep := map[string]int{}
		for _, c := range f.recorded() {
			assert.Equal(t, 256, c.MaxTok)
			byRoleStep[c.Role+"/"+string(c.Step)] = c.Seed
		}
		var out []int
		for _, k := range []string{"Solver/reason", "Critic/reason", "Checker/reason", "Solver/collaborate", "Critic/collaborate", "Checker/collaborate"} {
			s, ok := byRoleStep[k]
			require.True(t, ok, k)
			out = append(out, s)
		}
		return out
	}
	first := seeds(7)
	seen := map[int]bool{}
	for _, s := range first {
		assert.NotZero(t, s)
		assert.False(t, seen[s], "seed %d reused across nodes", s)
		seen[s] = true
	}
	assert.Equal(t, first, seeds(7), "seeds are reproducible")
	assert.NotEqual(t, first, seeds(8))
	assert.Equal(t, []int{0, 0, 0, 0, 0, 0}, seeds(0), "no seed is sent unless configured")
}

func TestEstimatedUsage(t *testing.T) {
	e := testExecutor(t, &fakeModel{noUsage: true}, nil)
	tr, err := e.Run(context.Background(), plan(topology.ModeCoT, solver), testTask())
	require.NoError(t, err)
	n := tr.Nodes[0]
	assert.True(t, n.TokensEstimated)
	assert.Positive(t, n.PromptTokens)
	assert.Positive(t, tr.Dollars)
}

func TestNoScorer(t *testing.T) {
	task := testTask()
	task.Scorer = nil
	p := plan(topology.ModeDebate, solver, critic)
	e := testExecutor(t, &fakeModel{answer: map[string]string{solver: "1", critic: "2"}}, nil)
	tr, err := e.Run(context.Background(), p, task)
	require.NoError(t, err)
	assert.Empty(t, tr.Answer)
	assert.Zero(t, tr.Score)
	assert.Equal(t, nodeByID(t, tr, "a0.r1").Reply, tr.Final, "a vote without answers takes the earliest reply")
}

func TestExecutorIsSafeForConcurrentRuns(t *testing.T) {
	f := &fakeModel{}
	e := testExecutor(t, f, nil)
	d, err := topology.Build(plan(topology.ModeGraph, solver, critic, checker))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := e.RunDAG(context.Background(), d, testTask())
			if err == nil && tr.Answer != "42" {
				err = errors.New("wrong answer " + tr.Answer)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Len(t, f.recorded(), 8*3)
}

func TestAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeModel{}
	e := testExecutor(t, f, nil)
	tr, err := e.Run(ctx, plan(topology.ModeTree, planner, solver), testTask())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, tr)
	require.Len(t, tr.Nodes, 3)
	for _, n := range tr.Nodes {
		assert.True(t, n.Skipped, n.ID)
		assert.Equal(t, context.Canceled.Error(), n.Error, n.ID)
	}
	assert.Empty(t, f.recorded())
}

func TestNilRolesMeansBuiltInRoles(t *testing.T) {
	e, err := topology.NewExecutor(topology.Config{Pool: testPool(t, &fakeModel{})})
	require.NoError(t, err)
	def, err := roles.Default()
	require.NoError(t, err)
	assert.Equal(t, def.Names(tasks.DomainCode), e.Config().Roles.Names(tasks.DomainCode))
}
