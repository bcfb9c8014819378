package agents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/masrouter/masrouter/agents"
)

// These tests run agents on langchaingo's real OpenAI and Anthropic clients
// against httptest servers that speak each provider's wire format, so the
// usage normalisation is proven on what the clients really produce.

// wireRequest is what a fake provider server saw of one request.
type wireRequest struct {
	path    string
	header  http.Header
	body    map[string]any
	system  string
	user    string
	decoded error
}

// wireServer is an httptest server that records requests and answers each
// with handle.
type wireServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []wireRequest
}

func newWireServer(t *testing.T, parse func(body []byte) wireRequest, handle func(w http.ResponseWriter, r *http.Request)) *wireServer {
	t.Helper()
	s := &wireServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		wr := wireRequest{decoded: err}
		if err == nil {
			wr = parse(body)
		}
		wr.path = r.URL.Path
		wr.header = r.Header.Clone()
		s.mu.Lock()
		s.reqs = append(s.reqs, wr)
		s.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *wireServer) requests() []wireRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wireRequest(nil), s.reqs...)
}

// messageText reads a message's content, either a plain string or a list of
// {"type": "text", "text": ...} blocks.
func messageText(content any) (string, error) {
	switch c := content.(type) {
	case string:
		return c, nil
	case []any:
		var out string
		for _, block := range c {
			m, ok := block.(map[string]any)
			if !ok || m["type"] != "text" {
				return "", fmt.Errorf("content block %v is not text", block)
			}
			text, _ := m["text"].(string)
			out += text
		}
		return out, nil
	}
	return "", fmt.Errorf("content %T is neither a string nor a list of blocks", content)
}

// parseOpenAI reads a chat-completions request: the system prompt is the
// message with role "system".
func parseOpenAI(body []byte) wireRequest {
	var wr wireRequest
	if wr.decoded = json.Unmarshal(body, &wr.body); wr.decoded != nil {
		return wr
	}
	msgs, _ := wr.body["messages"].([]any)
	for _, m := range msgs {
		msg, _ := m.(map[string]any)
		text, err := messageText(msg["content"])
		if err != nil {
			wr.decoded = err
			return wr
		}
		switch msg["role"] {
		case "system":
			wr.system += text
		case "user":
			wr.user += text
		default:
			wr.decoded = fmt.Errorf("unexpected role %v", msg["role"])
		}
	}
	return wr
}

// parseAnthropic reads a Messages API request: the system prompt is a
// top-level field.
func parseAnthropic(body []byte) wireRequest {
	var wr wireRequest
	if wr.decoded = json.Unmarshal(body, &wr.body); wr.decoded != nil {
		return wr
	}
	wr.system, _ = wr.body["system"].(string)
	msgs, _ := wr.body["messages"].([]any)
	for _, m := range msgs {
		msg, _ := m.(map[string]any)
		if msg["role"] != "user" {
			wr.decoded = fmt.Errorf("unexpected role %v", msg["role"])
			return wr
		}
		text, err := messageText(msg["content"])
		if err != nil {
			wr.decoded = err
			return wr
		}
		wr.user += text
	}
	return wr
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pinProviderEnv makes sure no client falls back to a real endpoint or key.
func pinProviderEnv(t *testing.T, baseURL string) {
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("OPENAI_BASE_URL", baseURL)
	t.Setenv("OPENAI_API_BASE", baseURL)
	t.Setenv("OPENAI_ORGANIZATION", "")
	t.Setenv("OPENAI_MODEL", "")
	t.Setenv("ANTHROPIC_API_KEY", "test")
}

var providerRequest = agents.Request{
	Step:  agents.StepCollaborate,
	Query: "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether?",
	Inputs: []agents.Message{
		{From: "a0", Role: "Math Solver", Content: "48 + 24 = 72. The answer is 72."},
	},
	MaxTokens: 256,
}

func openAICompletion(usage map[string]any) map[string]any {
	resp := map[string]any{
		"id":      "chatcmpl-test",
		"object":  "chat.completion",
		"created": 1720000000,
		"model":   "gpt-4o-mini-2024-07-18",
		"choices": []any{map[string]any{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": "In May she sold 24. 48 + 24 = 72. The answer is 72."},
			"finish_reason": "stop",
			"logprobs":      nil,
		}},
		"system_fingerprint": "fp_test",
	}
	if usage != nil {
		resp["usage"] = usage
	}
	return resp
}

func TestOpenAIClientUsage(t *testing.T) {
	tests := []struct {
		name          string
		usage         map[string]any
		wantUsage     agents.Usage // zero: estimated
		wantDollars   float64
		wantEstimated bool
	}{
		{
			name:        "usage reported",
			usage:       map[string]any{"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
			wantUsage:   agents.Usage{PromptTokens: 1000, CompletionTokens: 200},
			wantDollars: 0.0045,
		},
		{
			name: "usage with details",
			usage: map[string]any{
				"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
				"prompt_tokens_details":     map[string]any{"cached_tokens": 0, "audio_tokens": 0},
				"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
			},
			wantUsage:   agents.Usage{PromptTokens: 1000, CompletionTokens: 200},
			wantDollars: 0.0045,
		},
		{
			// Some OpenAI-compatible servers send no usage; the client then
			// reports zeros, which must not be priced as a free call.
			name:          "usage missing",
			usage:         nil,
			wantEstimated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newWireServer(t, parseOpenAI, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, openAICompletion(tt.usage))
			})
			pinProviderEnv(t, srv.URL)
			llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithModel("gpt-4o-mini"), openai.WithHTTPClient(srv.Client()))
			require.NoError(t, err)
			a := agents.Agent{Role: mathSolver, Model: &agents.Model{
				Name: "gpt-4o", Provider: "openai", LLM: llm,
				Price: agents.Price{InputPerMillion: 2.50, OutputPerMillion: 10},
			}}

			rep, err := a.Run(context.Background(), providerRequest)
			require.NoError(t, err)
			assert.Equal(t, "In May she sold 24. 48 + 24 = 72. The answer is 72.", rep.Text)
			assert.Equal(t, tt.wantEstimated, rep.UsageEstimated)
			want := tt.wantUsage
			if tt.wantEstimated {
				want = agents.Usage{PromptTokens: agents.EstimateTokens(rep.Prompt), CompletionTokens: agents.EstimateTokens(rep.Text)}
				tt.wantDollars = a.Model.Price.Cost(want)
				assert.Positive(t, tt.wantDollars)
			}
			assert.Equal(t, want, rep.Usage)
			assert.InDelta(t, tt.wantDollars, rep.Dollars, 1e-12)

			reqs := srv.requests()
			require.Len(t, reqs, 1)
			got := reqs[0]
			require.NoError(t, got.decoded)
			assert.Equal(t, "/chat/completions", got.path)
			assert.Equal(t, "Bearer test", got.header.Get("Authorization"))
			assert.Equal(t, "gpt-4o-mini", got.body["model"])
			assert.Equal(t, agents.SystemPrompt(mathSolver), got.system)
			assert.Equal(t, agents.UserPrompt(providerRequest), got.user)
			assert.InDelta(t, 256, got.body["max_completion_tokens"], 0)
			assert.NotContains(t, got.body, "seed", "no seed was set")
		})
	}
}

func TestOpenAIClientErrors(t *testing.T) {
	t.Run("server error", func(t *testing.T) {
		srv := newWireServer(t, parseOpenAI, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{"message": "the engine is overloaded", "type": "server_error"}})
		})
		pinProviderEnv(t, srv.URL)
		llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithModel("gpt-4o-mini"), openai.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		a := agents.Agent{Role: mathSolver, Model: &agents.Model{Name: "gpt-4o-mini", LLM: llm}}
		_, err = a.Run(context.Background(), providerRequest)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "agent Math Solver on gpt-4o-mini: ")
		assert.Contains(t, err.Error(), "503")
		assert.Contains(t, err.Error(), "the engine is overloaded")
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		arrived := make(chan struct{})
		srv := newWireServer(t, parseOpenAI, func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done()
		})
		pinProviderEnv(t, srv.URL)
		llm, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("test"), openai.WithModel("gpt-4o-mini"), openai.WithHTTPClient(srv.Client()))
		require.NoError(t, err)
		a := agents.Agent{Role: mathSolver, Model: &agents.Model{Name: "gpt-4o-mini", LLM: llm}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-arrived
			cancel()
		}()
		_, err = a.Run(ctx, providerRequest)
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestAnthropicClientUsage(t *testing.T) {
	const model = "claude-3-5-sonnet-20240620"
	srv := newWireServer(t, parseAnthropic, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"id":            "msg_test",
			"type":          "message",
			"role":          "assistant",
			"model":         model,
			"content":       []any{map[string]any{"type": "text", "text": "48 / 2 = 24 and 48 + 24 = 72. The answer is 72."}},
			"stop_reason":   "end_turn",
			"stop_sequence": nil,
			"usage":         map[string]any{"input_tokens": 1000, "output_tokens": 200},
		})
	})
	pinProviderEnv(t, srv.URL)
	llm, err := anthropic.New(anthropic.WithBaseURL(srv.URL), anthropic.WithToken("test"), anthropic.WithModel(model), anthropic.WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	a := agents.Agent{Role: mathSolver, Model: &agents.Model{
		Name: "claude-3.5-sonnet", Provider: "anthropic", LLM: llm,
		Price:     agents.Price{InputPerMillion: 3, OutputPerMillion: 15},
		MaxTokens: 128,
	}}

	rep, err := a.Run(context.Background(), providerRequest)
	require.NoError(t, err)
	assert.Equal(t, "48 / 2 = 24 and 48 + 24 = 72. The answer is 72.", rep.Text)
	assert.False(t, rep.UsageEstimated)
	assert.Equal(t, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, rep.Usage)
	assert.InDelta(t, 0.006, rep.Dollars, 1e-12) // 1000 × $3/M + 200 × $15/M
	assert.Equal(t, "claude-3.5-sonnet", rep.Model)

	reqs := srv.requests()
	require.Len(t, reqs, 1)
	got := reqs[0]
	require.NoError(t, got.decoded)
	assert.Equal(t, "/messages", got.path)
	assert.Equal(t, "test", got.header.Get("X-Api-Key"))
	assert.NotEmpty(t, got.header.Get("Anthropic-Version"))
	assert.Equal(t, model, got.body["model"])
	assert.Equal(t, agents.SystemPrompt(mathSolver), got.system)
	assert.Equal(t, agents.UserPrompt(providerRequest), got.user)
	assert.InDelta(t, 128, got.body["max_tokens"], 0, "the model's cap is below the request's 256")
}
