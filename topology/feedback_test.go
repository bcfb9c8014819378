package topology_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/tasks/sandbox"
	"github.com/masrouter/masrouter/topology"
)

// feedbackScorer is boxedScorer with visible tests: a reply passes when its
// boxed answer is the gold. It can be told to fail to run the tests.
type feedbackScorer struct {
	boxedScorer
	err error
}

func (s feedbackScorer) Feedback(_ context.Context, t *tasks.Task, reply string) (bool, string, error) {
	if s.err != nil {
		return false, "", s.err
	}
	a, ok := s.Extract(reply)
	switch {
	case !ok:
		return false, "no answer found", nil
	case a == t.Gold:
		return true, "all visible tests pass", nil
	}
	return false, fmt.Sprintf("assert f() == %s (got %s)", t.Gold, a), nil
}

func feedbackTask(s feedbackScorer) *tasks.Task {
	t := testTask()
	t.Scorer = s
	return t
}

func TestFeedbackChainStopsWhenCodePasses(t *testing.T) {
	tests := []struct {
		name     string
		answers  map[string]string
		decision topology.DecisionMethod
		calls    []string // roles called, in order
		skipped  []string // node ids skipped
		answer   string
	}{
		{"the second agent fixes it", map[string]string{solver: "41", critic: "42", checker: "42"}, "", []string{solver, critic}, []string{"a2"}, "42"},
		{"the first agent passes", map[string]string{solver: "42"}, "", []string{solver}, []string{"a1", "a2"}, "42"},
		{"nobody passes", map[string]string{solver: "1", critic: "2", checker: "3"}, "", []string{solver, critic, checker}, nil, "3"},
		{"a referring decision takes the passing reply without a call", map[string]string{solver: "41", critic: "42"}, topology.DecideRefer, []string{solver, critic}, []string{"a2"}, "42"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			llm := &fakeModel{answer: tc.answers}
			var ends []topology.NodeTrace
			var mu sync.Mutex
			e := testExecutor(t, llm, func(c *topology.Config) {
				c.Hooks.OnNodeEnd = func(n topology.NodeTrace) {
					mu.Lock()
					defer mu.Unlock()
					ends = append(ends, n)
				}
			})
			p := plan(topology.ModeChain, solver, critic, checker)
			p.Decision = tc.decision
			tr, err := e.Run(context.Background(), p, feedbackTask(feedbackScorer{}))
			require.NoError(t, err)
			var called []string
			for _, c := range llm.recorded() {
				called = append(called, c.Role)
			}
			assert.Equal(t, tc.calls, called)
			assert.Equal(t, tc.answer, tr.Answer)
			assert.Equal(t, len(tc.calls), tr.Agents())
			var skipped []string
			for _, n := range tr.Nodes {
				if n.Skipped {
					skipped = append(skipped, n.ID)
					assert.Equal(t, "chain stopped early: "+tr.Nodes[len(tc.calls)-1].ID+"'s code already passes the visible tests", n.Error)
					assert.Zero(t, n.Dollars)
				}
			}
			assert.Equal(t, tc.skipped, skipped)
			assert.Equal(t, tr.Nodes, ends, "hooks see the feedback too")

			a0 := tr.Nodes[0]
			if tc.answers[solver] == "42" {
				assert.Equal(t, "[visible tests] all pass", a0.Feedback)
				assert.True(t, a0.FeedbackPassed)
			} else {
				assert.Equal(t, "[visible tests] failed: assert f() == 42 (got "+tc.answers[solver]+")", a0.Feedback)
				assert.False(t, a0.FeedbackPassed)
			}
			assert.Empty(t, tr.Nodes[len(tr.Nodes)-1].Feedback, "the decision node is not tested")
			if len(tc.calls) > 1 {
				// The second agent read the first one's reply with its result.
				user := llm.recorded()[1].User
				assert.Contains(t, user, a0.Reply+"\n\n"+a0.Feedback+"\n"+agents.ReplyClose)
			}
		})
	}
}

// TestFeedbackOtherModes checks that other modes pass the results on but run
// every agent.
func TestFeedbackOtherModes(t *testing.T) {
	llm := &fakeModel{answer: map[string]string{solver: "42", critic: "41", checker: "42"}}
	e := testExecutor(t, llm, nil)
	tr, err := e.Run(context.Background(), plan(topology.ModeGraph, solver, critic, checker), feedbackTask(feedbackScorer{}))
	require.NoError(t, err)
	assert.Len(t, llm.recorded(), 3)
	last := llm.recorded()[2].User
	assert.Contains(t, last, "[visible tests] all pass")
	assert.Contains(t, last, "[visible tests] failed: assert f() == 42 (got 41)")
	for _, n := range tr.Nodes[:3] {
		assert.NotEmpty(t, n.Feedback, n.ID)
		assert.False(t, n.Skipped)
	}
}

// TestFeedbackNotRun checks that tests that cannot run are recorded but not
// shown to readers, and do not stop a chain.
func TestFeedbackNotRun(t *testing.T) {
	llm := &fakeModel{}
	e := testExecutor(t, llm, nil)
	tr, err := e.Run(context.Background(), plan(topology.ModeChain, solver, critic), feedbackTask(feedbackScorer{err: errors.New("python3 not available")}))
	require.NoError(t, err)
	assert.Len(t, llm.recorded(), 2)
	assert.Equal(t, "[visible tests] not run: python3 not available", tr.Nodes[0].Feedback)
	assert.NotContains(t, llm.recorded()[1].User, "[visible tests]")

	// A scorer without feedback leaves the trace as it was.
	llm = &fakeModel{}
	tr, err = testExecutor(t, llm, nil).Run(context.Background(), plan(topology.ModeChain, solver, critic), testTask())
	require.NoError(t, err)
	for _, n := range tr.Nodes {
		assert.Empty(t, n.Feedback)
	}
	assert.Len(t, llm.recorded(), 2)
}

// codeModel answers with a fixed fenced program per role.
type codeModel struct {
	code  map[string]string
	mu    sync.Mutex
	users []string
}

func (m *codeModel) GenerateContent(_ context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	system, user := partText(msgs[0]), partText(msgs[1])
	role := strings.TrimPrefix(strings.SplitN(system, "\n", 2)[0], agents.RolePrefix)
	m.mu.Lock()
	m.users = append(m.users, user)
	m.mu.Unlock()
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "Here it is:\n```python\n" + m.code[role] + "```\n"}}}, nil
}

func (m *codeModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// TestFeedbackOnRealCode runs a chain of built-in code roles on an MBPP
// problem with the real scorer: the first agent's off-by-one fails the
// visible tests, the fixer reads the failing assertion and passes, and the
// verifier is skipped.
func TestFeedbackOnRealCode(t *testing.T) {
	if _, err := tasks.DefaultRunner(); errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
	ts, err := tasks.Load("mbpp", "prompt")
	require.NoError(t, err)
	task := ts[1] // similar_elements
	require.Equal(t, "similar_elements", task.Meta[tasks.MetaEntryPoint])
	reg, err := roles.Default()
	require.NoError(t, err)
	llm := &codeModel{code: map[string]string{
		"Algorithm Designer": "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b)))[1:]\n",
		"Bug Fixer":          task.Gold + "\n",
		"Test Analyst":       "def similar_elements(a, b):\n    return ()\n",
	}}
	pool, err := agents.NewPool(&agents.Model{Name: "m", LLM: llm, Price: agents.Price{InputPerMillion: 1, OutputPerMillion: 1}})
	require.NoError(t, err)
	e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	require.NoError(t, err)
	p := topology.Plan{Mode: topology.ModeChain, Domain: tasks.DomainCode, Agents: []topology.AgentSpec{
		{Role: "Algorithm Designer", Model: "m"}, {Role: "Bug Fixer", Model: "m"}, {Role: "Test Analyst", Model: "m"},
	}}
	tr, err := e.Run(context.Background(), p, task)
	require.NoError(t, err)
	assert.Equal(t, 1.0, tr.Score)
	assert.Equal(t, "[visible tests] failed: assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5) (got (5,))", tr.Nodes[0].Feedback)
	assert.Equal(t, "[visible tests] all pass", tr.Nodes[1].Feedback)
	assert.True(t, tr.Nodes[2].Skipped)
	require.Len(t, llm.users, 2)
	assert.Contains(t, llm.users[1], "[visible tests] failed: assert similar_elements")
	assert.Equal(t, 2, tr.Agents())
}
