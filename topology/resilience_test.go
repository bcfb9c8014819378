package topology_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/internal/providertest"
	"github.com/masrouter/masrouter/topology"
)

// instantClock never waits, so backoffs cost no test time.
type instantClock struct{}

func (instantClock) Now() time.Time { return time.Unix(1700000000, 0) }
func (instantClock) Sleep(ctx context.Context, _ time.Duration) error {
	return ctx.Err()
}

// wireModel is a priced pool model reached through langchaingo's OpenAI
// client and a fake server answered by llm, with the given faults,
// wrapped for resilience.
func wireModel(t *testing.T, name string, price agents.Price, fake *fakeModel, fault func(int64) providertest.Fault, fallback *agents.Model) (*agents.Model, *providertest.Server) {
	t.Helper()
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(fake), Fault: fault})
	t.Cleanup(srv.Close)
	client, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithModel(name),
		openai.WithHTTPClient(&http.Client{Transport: agents.StatusTransport(nil)}))
	require.NoError(t, err)
	r, err := agents.NewResilient(agents.ResilientConfig{Name: name, LLM: client, Fallback: fallback, Clock: instantClock{},
		Policy: agents.RetryPolicy{Timeout: 5 * time.Second, MaxRetries: 2}})
	require.NoError(t, err)
	return &agents.Model{Name: name, Provider: "openai", LLM: r, Price: price}, srv
}

func always(f providertest.Fault) func(int64) providertest.Fault {
	return func(int64) providertest.Fault { return f }
}

func TestResilientNodesInTheTrace(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1")
	fake := &fakeModel{answer: map[string]string{solver: "42", checker: "42"}}
	small := agents.Price{InputPerMillion: 1, OutputPerMillion: 2}
	large := agents.Price{InputPerMillion: 10, OutputPerMillion: 30}

	t.Run("a failed node degrades the plan", func(t *testing.T) {
		good, _ := wireModel(t, "small", small, fake, nil, nil)
		flaky, flakySrv := wireModel(t, "flaky", small, fake, always(providertest.ServerError), nil)
		pool, err := agents.NewPool(good, flaky)
		require.NoError(t, err)
		e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: testRegistry(t)})
		require.NoError(t, err)
		p := topology.Plan{Mode: topology.ModeChain, Domain: "math", Agents: []topology.AgentSpec{{Role: solver, Model: "small"}, {Role: critic, Model: "flaky"}, {Role: checker, Model: "small"}}}
		tr, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err)
		assert.Equal(t, "42", tr.Answer)
		assert.Equal(t, 1.0, tr.Score)
		byID := map[string]topology.NodeTrace{}
		for _, n := range tr.Nodes {
			byID[n.ID] = n
		}
		failed := tr.Nodes[1]
		assert.Equal(t, "flaky", failed.Model)
		assert.Contains(t, failed.Error, "3 attempt(s) failed")
		require.Len(t, failed.Attempts, 3, "every attempt is in the trace")
		for _, a := range failed.Attempts {
			assert.Equal(t, 500, a.Status)
			assert.Equal(t, "flaky", a.Model)
		}
		n, _, _ := flakySrv.Count()
		assert.Equal(t, 3, n)
		assert.Equal(t, []string{tr.Nodes[0].ID}, tr.Nodes[2].Inputs, "the checker reads the solver instead")
		require.Len(t, tr.Nodes[0].Attempts, 1)
		assert.True(t, tr.Nodes[0].Attempts[0].OK())
	})

	t.Run("a fallback answers and is priced", func(t *testing.T) {
		fb, _ := wireModel(t, "large", large, fake, nil, nil)
		flaky, _ := wireModel(t, "flaky", small, fake, always(providertest.Drop), fb)
		pool, err := agents.NewPool(flaky, fb)
		require.NoError(t, err)
		e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: testRegistry(t)})
		require.NoError(t, err)
		p := topology.Plan{Mode: topology.ModeCoT, Domain: "math", Agents: []topology.AgentSpec{{Role: solver, Model: "flaky"}}}
		tr, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err)
		nd := tr.Nodes[0]
		assert.Equal(t, "flaky", nd.Model)
		assert.Equal(t, "large", nd.AnsweredBy)
		assert.Empty(t, nd.Error)
		require.Len(t, nd.Attempts, 4)
		assert.Equal(t, "large", nd.Attempts[3].Model)
		assert.InDelta(t, large.Cost(agents.Usage{PromptTokens: nd.PromptTokens, CompletionTokens: nd.CompletionTokens}), nd.Dollars, 1e-15)
		assert.Equal(t, "42", tr.Answer)
	})

	t.Run("the budget assumes the dearest fallback", func(t *testing.T) {
		huge, hugeSrv := wireModel(t, "huge", agents.Price{InputPerMillion: 1e4, OutputPerMillion: 1e4}, fake, nil, nil)
		flaky, _ := wireModel(t, "flaky", small, fake, always(providertest.ServerError), huge)
		good, _ := wireModel(t, "small", small, fake, nil, nil)
		pool, err := agents.NewPool(good, flaky, huge)
		require.NoError(t, err)
		const budget = 0.01 // a few thousand tokens at $1–2/M; nothing at $10k/M
		e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: testRegistry(t), Budget: budget})
		require.NoError(t, err)
		p := topology.Plan{Mode: topology.ModeChain, Domain: "math", Agents: []topology.AgentSpec{{Role: solver, Model: "small"}, {Role: critic, Model: "flaky"}}}
		tr, err := e.Run(context.Background(), p, testTask())
		require.NoError(t, err)
		assert.True(t, tr.Nodes[1].Skipped)
		assert.Contains(t, tr.Nodes[1].Error, topology.ErrBudget.Error())
		assert.Empty(t, tr.Nodes[1].Attempts, "a skipped node makes no call")
		n, _, _ := hugeSrv.Count()
		assert.Zero(t, n)
		assert.LessOrEqual(t, tr.Dollars, budget)
		assert.Equal(t, "42", tr.Answer, "the decision uses the solver's reply")
	})

	t.Run("every model down fails the run with its cause", func(t *testing.T) {
		down, _ := wireModel(t, "down", small, fake, always(providertest.Unavailable), nil)
		pool, err := agents.NewPool(down)
		require.NoError(t, err)
		e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: testRegistry(t)})
		require.NoError(t, err)
		p := topology.Plan{Mode: topology.ModeIO, Domain: "math", Agents: []topology.AgentSpec{{Role: solver, Model: "down"}}}
		tr, err := e.Run(context.Background(), p, testTask())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no reply reached the decision node")
		assert.Contains(t, err.Error(), "503")
		assert.Len(t, tr.Nodes[0].Attempts, 3)
		assert.False(t, errors.Is(err, context.Canceled))
	})
}
