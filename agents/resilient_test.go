package agents_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/internal/providertest"
)

// fakeClock advances only when slept on, and records every sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

const cannedText = "48 + 24 = 72. The answer is 72."

var canned = providertest.Canned{Text: cannedText, PromptTokens: 1000, CompletionTokens: 200}

// wireClient builds langchaingo's real client for a fake server of wire w,
// with StatusTransport so statuses and Retry-After reach Resilient.
func wireClient(t *testing.T, w providertest.Wire, srv *providertest.Server) llms.Model {
	t.Helper()
	hc := &http.Client{Transport: agents.StatusTransport(nil)}
	var (
		llm llms.Model
		err error
	)
	switch w {
	case providertest.OpenAI:
		llm, err = openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithModel("gpt-4o-mini"), openai.WithHTTPClient(hc))
	case providertest.Anthropic:
		llm, err = anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithToken("test"), anthropic.WithModel("claude-3-5-sonnet-20240620"), anthropic.WithHTTPClient(hc))
	}
	require.NoError(t, err)
	return llm
}

// faultOnce injects f into the first request only.
func faultOnce(f providertest.Fault) func(int64) providertest.Fault {
	return func(n int64) providertest.Fault {
		if n == 0 {
			return f
		}
		return providertest.None
	}
}

func userMessage(text string) []llms.MessageContent {
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, "Role: Math Solver"),
		llms.TextParts(llms.ChatMessageTypeHuman, text),
	}
}

// TestResilientRecoversFromEachFault injects each fault into the first
// request, through langchaingo's real OpenAI and Anthropic clients, and
// checks the retry answers, the first attempt is recorded with the status
// the transport saw, and Retry-After sets the wait.
func TestResilientRecoversFromEachFault(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	tests := []struct {
		fault      providertest.Fault
		wantStatus int
		wantErr    string
		wantWait   time.Duration // 0: the jittered backoff
	}{
		{providertest.RateLimit, 429, "429", 7 * time.Second},
		{providertest.ServerError, 500, "500", 0},
		{providertest.Unavailable, 503, "503", 7 * time.Second},
		{providertest.Slow, 0, "timed out after 150ms", 0},
		{providertest.Malformed, 200, "", 0},
		{providertest.Drop, 0, "", 0},
		{providertest.Cut, 200, "", 0},
	}
	for _, w := range []providertest.Wire{providertest.OpenAI, providertest.Anthropic} {
		for _, tt := range tests {
			t.Run(string(w)+"/"+string(tt.fault), func(t *testing.T) {
				t.Parallel()
				srv := providertest.New(providertest.Config{Wire: w, Backend: providertest.Static(canned), Fault: faultOnce(tt.fault), RetryAfter: "7"})
				defer srv.Close()
				clock := newFakeClock()
				timeout := 10 * time.Second
				if tt.fault == providertest.Slow {
					timeout = 150 * time.Millisecond
				}
				r, err := agents.NewResilient(agents.ResilientConfig{
					Name: "m", LLM: wireClient(t, w, srv), Clock: clock, Jitter: func() float64 { return 0.5 },
					Policy: agents.RetryPolicy{Timeout: timeout, MaxRetries: 2, BaseDelay: 100 * time.Millisecond},
				})
				require.NoError(t, err)
				ctx, attempts := agents.RecordAttempts(context.Background())
				resp, err := r.GenerateContent(ctx, userMessage("Natalia sold clips..."))
				require.NoError(t, err)
				assert.Equal(t, cannedText, resp.Choices[0].Content)
				u, ok := agents.UsageFromGenerationInfo(resp.Choices[0].GenerationInfo)
				require.True(t, ok)
				assert.Equal(t, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, u)

				got := attempts()
				require.Len(t, got, 2)
				assert.Equal(t, "m", got[0].Model)
				assert.Equal(t, tt.wantStatus, got[0].Status)
				assert.NotEmpty(t, got[0].Error)
				assert.Contains(t, got[0].Error, tt.wantErr)
				assert.Equal(t, got[0].Start.Add(got[0].Latency+got[0].Wait), got[1].Start, "the retry starts after the wait")
				wantWait := 50 * time.Millisecond // jitter 0.5 of the 100ms base
				if tt.wantWait > 0 {
					wantWait = tt.wantWait
				}
				assert.Equal(t, wantWait, got[0].Wait)
				assert.Equal(t, []time.Duration{wantWait}, clock.slept())
				assert.True(t, got[1].OK())
				assert.Equal(t, 200, got[1].Status)

				reqs, faulted, answered := srv.Count()
				assert.Equal(t, 2, reqs)
				assert.Equal(t, 1, faulted)
				assert.Equal(t, 1, answered)
			})
		}
	}
}

// TestResilientStreamingUsage streams through both wire formats and checks
// the chunks and the usage the clients report.
func TestResilientStreamingUsage(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	for _, w := range []providertest.Wire{providertest.OpenAI, providertest.Anthropic} {
		t.Run(string(w), func(t *testing.T) {
			srv := providertest.New(providertest.Config{Wire: w, Backend: providertest.Static(canned)})
			defer srv.Close()
			r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: wireClient(t, w, srv), Policy: agents.RetryPolicy{MaxRetries: 1}})
			require.NoError(t, err)
			var streamed strings.Builder
			resp, err := r.GenerateContent(context.Background(), userMessage("q"), llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
				streamed.Write(chunk)
				return nil
			}))
			require.NoError(t, err)
			assert.Equal(t, cannedText, streamed.String())
			assert.Equal(t, cannedText, resp.Choices[0].Content)
			u, ok := agents.UsageFromGenerationInfo(resp.Choices[0].GenerationInfo)
			require.True(t, ok, "usage of a streamed reply: %v", resp.Choices[0].GenerationInfo)
			assert.Equal(t, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, u)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.True(t, reqs[0].Stream)
		})
	}
}

// TestResilientStreamBrokenOff cuts a stream inside an event. One that
// delivered chunks to the caller (OpenAI's, here) is not retried, and is an
// error rather than a truncated answer; one that delivered none (Anthropic's
// is cut before its first text delta) is retried.
func TestResilientStreamBrokenOff(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	for _, w := range []providertest.Wire{providertest.OpenAI, providertest.Anthropic} {
		t.Run(string(w), func(t *testing.T) {
			srv := providertest.New(providertest.Config{Wire: w, Backend: providertest.Static(canned), Fault: faultOnce(providertest.Malformed)})
			defer srv.Close()
			r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: wireClient(t, w, srv), Clock: newFakeClock(), Policy: agents.RetryPolicy{MaxRetries: 3}})
			require.NoError(t, err)
			ctx, attempts := agents.RecordAttempts(context.Background())
			var chunks []string
			resp, err := r.GenerateContent(ctx, userMessage("q"), llms.WithStreamingFunc(func(_ context.Context, c []byte) error {
				if len(c) > 0 {
					chunks = append(chunks, string(c))
				}
				return nil
			}))
			n, _, _ := srv.Count()
			if w == providertest.OpenAI {
				require.NotEmpty(t, chunks)
				require.Error(t, err)
				assert.Equal(t, 1, n, "a stream that delivered chunks is not retried")
				require.Len(t, attempts(), 1)
				assert.False(t, attempts()[0].OK())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, cannedText, resp.Choices[0].Content)
			assert.Equal(t, cannedText, strings.Join(chunks, ""))
			assert.Equal(t, 2, n)
			require.Len(t, attempts(), 2)
		})
	}
}

// TestResilientFallback exhausts the primary's retries and lets the
// fallback answer; Agent.Run prices the reply at the fallback's price.
func TestResilientFallback(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	always := func(f providertest.Fault) func(int64) providertest.Fault {
		return func(int64) providertest.Fault { return f }
	}
	primarySrv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned), Fault: always(providertest.ServerError)})
	defer primarySrv.Close()
	fallbackSrv := providertest.New(providertest.Config{Wire: providertest.Anthropic, Backend: providertest.Static(canned)})
	defer fallbackSrv.Close()
	clock := newFakeClock()
	fbLLM, err := agents.NewResilient(agents.ResilientConfig{Name: "claude", LLM: wireClient(t, providertest.Anthropic, fallbackSrv), Clock: clock, Policy: agents.RetryPolicy{MaxRetries: 1}})
	require.NoError(t, err)
	fallback := &agents.Model{Name: "claude", Provider: "anthropic", LLM: fbLLM, Price: agents.Price{InputPerMillion: 3, OutputPerMillion: 15}}
	primLLM, err := agents.NewResilient(agents.ResilientConfig{Name: "gpt-4o-mini", LLM: wireClient(t, providertest.OpenAI, primarySrv), Clock: clock, Fallback: fallback, Jitter: func() float64 { return 0.99 }, Policy: agents.RetryPolicy{MaxRetries: 3, BaseDelay: time.Second, MaxDelay: 3 * time.Second}})
	require.NoError(t, err)
	primary := &agents.Model{Name: "gpt-4o-mini", Provider: "openai", LLM: primLLM, Price: agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.6}}

	assert.Equal(t, []*agents.Model{fallback}, primary.Fallbacks())
	assert.Equal(t, agents.Price{InputPerMillion: 3, OutputPerMillion: 15}, primary.PriceCeiling())

	rep, err := agents.Agent{Role: mathSolver, Model: primary}.Run(context.Background(), providerRequest)
	require.NoError(t, err)
	assert.Equal(t, cannedText, rep.Text)
	assert.Equal(t, "gpt-4o-mini", rep.Model)
	assert.Equal(t, "claude", rep.AnsweredBy)
	assert.InDelta(t, 0.006, rep.Dollars, 1e-12, "1000 × $3/M + 200 × $15/M: the fallback's price")
	require.Len(t, rep.Attempts, 5)
	for i, a := range rep.Attempts[:4] {
		assert.Equal(t, "gpt-4o-mini", a.Model, i)
		assert.Equal(t, 500, a.Status, i)
		assert.False(t, a.OK(), i)
	}
	assert.Equal(t, "claude", rep.Attempts[4].Model)
	assert.True(t, rep.Attempts[4].OK())
	// Backoff with full jitter (draw 0.99): 1s, 2s, then capped at 3s.
	assert.Equal(t, []time.Duration{990 * time.Millisecond, 1980 * time.Millisecond, 2970 * time.Millisecond}, clock.slept())
	assert.Equal(t, time.Duration(0), rep.Attempts[3].Wait, "no wait after the last attempt")
}

// TestResilientNonRetryable: a 401 is not retried; the fallback answers.
func TestResilientNonRetryable(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error"}})
	}))
	defer srv.Close()
	llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("sk-secret-value"), openai.WithHTTPClient(&http.Client{Transport: agents.StatusTransport(nil)}))
	require.NoError(t, err)
	fallback := &agents.Model{Name: "local", LLM: canned}
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "gpt-4o", LLM: llm, Fallback: fallback, Clock: newFakeClock(), Policy: agents.RetryPolicy{MaxRetries: 3}})
	require.NoError(t, err)
	ctx, attempts := agents.RecordAttempts(context.Background())
	resp, err := r.GenerateContent(ctx, userMessage("q"))
	require.NoError(t, err)
	assert.Equal(t, cannedText, resp.Choices[0].Content)
	assert.Equal(t, 1, calls)
	got := attempts()
	require.Len(t, got, 2)
	assert.Equal(t, 401, got[0].Status)
	assert.NotContains(t, got[0].Error, "sk-secret-value")
	assert.Equal(t, "local", got[1].Model, "a fallback that is not Resilient still gets its attempt recorded")
	assert.True(t, got[1].OK())
}

// TestResilientRetryAfterTooLong sends the call to the fallback at once
// when the server asks for a longer wait than allowed.
func TestResilientRetryAfterTooLong(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned),
		Fault: func(int64) providertest.Fault { return providertest.RateLimit }, RetryAfter: "3600"})
	defer srv.Close()
	clock := newFakeClock()
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: wireClient(t, providertest.OpenAI, srv), Clock: clock,
		Fallback: &agents.Model{Name: "fb", LLM: canned}, Policy: agents.RetryPolicy{MaxRetries: 5}})
	require.NoError(t, err)
	ctx, attempts := agents.RecordAttempts(context.Background())
	_, err = r.GenerateContent(ctx, userMessage("q"))
	require.NoError(t, err)
	assert.Empty(t, clock.slept())
	got := attempts()
	require.Len(t, got, 2)
	assert.Equal(t, 429, got[0].Status)
	assert.Equal(t, "fb", got[1].Model)
}

// TestResilientExhausted reports every attempt and wraps the last error.
func TestResilientExhausted(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned),
		Fault: func(int64) providertest.Fault { return providertest.Drop }})
	defer srv.Close()
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: wireClient(t, providertest.OpenAI, srv), Clock: newFakeClock(), Policy: agents.RetryPolicy{MaxRetries: 2}})
	require.NoError(t, err)
	rep, err := agents.Agent{Role: mathSolver, Model: &agents.Model{Name: "m", LLM: r}}.Run(context.Background(), providerRequest)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "model m: 3 attempt(s) failed")
	assert.Len(t, rep.Attempts, 3, "a failed reply still carries its attempts")
	n, _, _ := srv.Count()
	assert.Equal(t, 3, n)
}

// TestResilientContext: a caller that gives up stops the retries; a
// deadline too close for the backoff stops them too.
func TestResilientContext(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned),
		Fault: func(int64) providertest.Fault { return providertest.ServerError }})
	defer srv.Close()
	llm := wireClient(t, providertest.OpenAI, srv)

	t.Run("cancelled during the backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: llm, Clock: cancelOnSleep{cancel}, Policy: agents.RetryPolicy{MaxRetries: 3}})
		require.NoError(t, err)
		_, err = r.GenerateContent(ctx, userMessage("q"))
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("deadline before the retry", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		clock := newFakeClock()
		r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: llm, Clock: clock, Jitter: func() float64 { return 0.99 },
			Policy: agents.RetryPolicy{MaxRetries: 3, BaseDelay: 2 * time.Minute, MaxDelay: 2 * time.Minute}})
		require.NoError(t, err)
		_, err = r.GenerateContent(ctx, userMessage("q"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no time left")
		assert.Empty(t, clock.slept())
	})
}

type cancelOnSleep struct{ cancel context.CancelFunc }

func (c cancelOnSleep) Now() time.Time { return time.Now() }
func (c cancelOnSleep) Sleep(ctx context.Context, _ time.Duration) error {
	c.cancel()
	<-ctx.Done()
	return ctx.Err()
}

// TestResilientStatusWithoutTransport: without StatusTransport the status
// is read from langchaingo's error text, so 5xx is still retried.
func TestResilientStatusWithoutTransport(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := providertest.New(providertest.Config{Wire: providertest.OpenAI, Backend: providertest.Static(canned), Fault: faultOnce(providertest.Unavailable)})
	defer srv.Close()
	llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	clock := newFakeClock()
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: llm, Clock: clock, Jitter: func() float64 { return 0 }, Policy: agents.RetryPolicy{MaxRetries: 1}})
	require.NoError(t, err)
	ctx, attempts := agents.RecordAttempts(context.Background())
	_, err = r.GenerateContent(ctx, userMessage("q"))
	require.NoError(t, err)
	got := attempts()
	require.Len(t, got, 2)
	assert.Equal(t, 503, got[0].Status)
	assert.Equal(t, time.Duration(0), got[0].Wait, "Retry-After is not visible without the transport")
}

func TestNewResilientErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  agents.ResilientConfig
		want string
	}{
		{"no name", agents.ResilientConfig{LLM: canned}, "Name is empty"},
		{"no llm", agents.ResilientConfig{Name: "m"}, "LLM is nil"},
		{"self fallback", agents.ResilientConfig{Name: "m", LLM: canned, Fallback: &agents.Model{Name: "m", LLM: canned}}, "itself"},
		{"fallback without llm", agents.ResilientConfig{Name: "m", LLM: canned, Fallback: &agents.Model{Name: "x"}}, "no LLM"},
		{"negative timeout", agents.ResilientConfig{Name: "m", LLM: canned, Policy: agents.RetryPolicy{Timeout: -1}}, "negative"},
		{"negative retries", agents.ResilientConfig{Name: "m", LLM: canned, Policy: agents.RetryPolicy{MaxRetries: -1}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agents.NewResilient(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestResilientFallbackLoop: a chain assembled by hand into a loop stops.
func TestResilientFallbackLoop(t *testing.T) {
	failing := &fakeLLM{respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
		return nil, errors.New("boom")
	}}
	b := &agents.Model{Name: "b", LLM: failing}
	a, err := agents.NewResilient(agents.ResilientConfig{Name: "a", LLM: failing, Fallback: b})
	require.NoError(t, err)
	am := &agents.Model{Name: "a", LLM: a}
	bl, err := agents.NewResilient(agents.ResilientConfig{Name: "b", LLM: failing, Fallback: am})
	require.NoError(t, err)
	b.LLM = bl
	_, err = a.GenerateContent(context.Background(), userMessage("q"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fallback loop")
	assert.Len(t, am.Fallbacks(), 1, "Fallbacks stops at a loop")
}

// TestResilientStreamWithoutFinish: a stream that ends cleanly between
// events but before a finish reason is an error, not a truncated answer.
func TestResilientStreamWithoutFinish(t *testing.T) {
	pinProviderEnv(t, "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(`data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"48 + "},"finish_reason":null}]}` + "\n\n"))
	}))
	defer srv.Close()
	llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithHTTPClient(&http.Client{Transport: agents.StatusTransport(nil)}))
	require.NoError(t, err)
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: llm, Clock: newFakeClock(), Policy: agents.RetryPolicy{MaxRetries: 2}})
	require.NoError(t, err)
	_, err = r.GenerateContent(context.Background(), userMessage("q"), llms.WithStreamingFunc(func(context.Context, []byte) error { return nil }))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ended before the reply was finished")
}
