package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/server"
	"github.com/masrouter/masrouter/tasks"
)

// simPool builds examples/pool.sim.yaml on GSM8K only (fast to build): the
// shipped example, with its resilience wrappers and fallbacks. The pool is
// immutable, so tests share one.
func simPool(t testing.TB) *agents.Pool {
	t.Helper()
	pool, err := sharedSimPool()
	require.NoError(t, err)
	return pool
}

var sharedSimPool = sync.OnceValues(func() (*agents.Pool, error) {
	data, err := os.ReadFile("../examples/pool.sim.yaml")
	if err != nil {
		return nil, err
	}
	f, err := agents.ParsePoolFile("pool.sim.yaml", data)
	if err != nil {
		return nil, err
	}
	f.Sim.Benchmarks = []string{"gsm8k"}
	return f.Build(context.Background(), agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{"sim": sim.PoolProvider(sim.Config{})}})
})

func controller(t testing.TB, pool *agents.Pool, seed int64) *routing.Controller {
	t.Helper()
	reg, err := roles.Default()
	require.NoError(t, err)
	c, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Greedy: true, Seed: seed})
	require.NoError(t, err)
	return c
}

// idCounter returns sequential trace ids.
func idCounter() func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("trace-%04d", n.Add(1)) }
}

// newServer returns a server on pool with an untrained policy at λ = 0,
// after mod adjusts its config.
func newServer(t testing.TB, pool *agents.Pool, mod func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{
		Pool:     pool,
		Policies: []server.Policy{{Name: "untrained", Lambda: 0, Controller: controller(t, pool, 1)}},
		NewID:    idCounter(),
		Now:      func() time.Time { return time.Unix(1720000000, 0) },
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := server.New(cfg)
	require.NoError(t, err)
	return s
}

// gsm8k returns the first n GSM8K test questions.
func gsm8k(t testing.TB, n int) []*tasks.Task {
	t.Helper()
	ts, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	return ts[:n]
}

// completion mirrors the response, refusing fields it does not know.
type completion struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string  `json:"role"`
			Content string  `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
		Logprobs     any    `json:"logprobs"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Masrouter server.Info `json:"masrouter"`
}

// errorBody mirrors an OpenAI error response.
type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
	Masrouter *server.Info `json:"masrouter"`
}

func chatBody(model, query string, extra map[string]any) []byte {
	body := map[string]any{
		"model":    model,
		"messages": []any{map[string]any{"role": "system", "content": "You are helpful."}, map[string]any{"role": "user", "content": query}},
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	return b
}

// post sends a chat completion to h and returns the recorder.
func post(t testing.TB, h http.Handler, body []byte, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeStrict(t testing.TB, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "%s", data)
}

// sseEvent is one server-sent event: a data line or a comment.
type sseEvent struct {
	data    string
	comment string
}

// readSSE splits an event stream into events, failing on a malformed line.
func readSSE(t testing.TB, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "data: "):
			out = append(out, sseEvent{data: strings.TrimPrefix(line, "data: ")})
		case strings.HasPrefix(line, ": "):
			out = append(out, sseEvent{comment: strings.TrimPrefix(line, ": ")})
		default:
			t.Fatalf("malformed event-stream line %q", line)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// gate is an llms.Model whose calls wait until it is opened; started
// receives one value per call that has begun.
type gate struct {
	started chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{started: make(chan struct{}, 64), open: make(chan struct{})} }

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, g, prompt, options...)
}

func (g *gate) GenerateContent(ctx context.Context, _ []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	g.started <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        "The answer is \\boxed{18}.",
		StopReason:     "stop",
		GenerationInfo: map[string]any{"PromptTokens": 100, "CompletionTokens": 10},
	}}}, nil
}

// gatePool is a one-model pool on g.
func gatePool(t testing.TB, g *gate) *agents.Pool {
	t.Helper()
	pool, err := agents.NewPool(&agents.Model{Name: "gated", Provider: "test", LLM: g, Price: agents.Price{InputPerMillion: 1, OutputPerMillion: 2}})
	require.NoError(t, err)
	return pool
}

// taskFor is a math task of query q, as a greedy controller sees it.
func taskFor(q string) *tasks.Task {
	return &tasks.Task{ID: "q", Domain: tasks.DomainMath, Query: q}
}
