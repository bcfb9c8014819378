package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/server"
)

func TestChatCompletion(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, nil)
	q := gsm8k(t, 1)[0]
	w := post(t, s, chatBody("masrouter", q.Query, nil), nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var c completion
	decodeStrict(t, w.Body.Bytes(), &c)

	assert.Equal(t, "chatcmpl-trace-0001", c.ID)
	assert.Equal(t, "chat.completion", c.Object)
	assert.Equal(t, int64(1720000000), c.Created)
	assert.Equal(t, "masrouter", c.Model)
	require.Len(t, c.Choices, 1)
	assert.Equal(t, "assistant", c.Choices[0].Message.Role)
	assert.NotEmpty(t, c.Choices[0].Message.Content)
	assert.Equal(t, "stop", c.Choices[0].FinishReason)

	m := c.Masrouter
	assert.Equal(t, "trace-0001", m.TraceID)
	assert.Equal(t, "math", m.Domain)
	assert.Equal(t, "untrained", m.Policy)
	assert.True(t, m.Simulated, "a simulated pool says so")
	require.NotEmpty(t, m.Mode)
	require.NotEmpty(t, m.Roles)
	require.Len(t, m.Models, len(m.Roles))
	assert.NotEmpty(t, m.AnsweredBy)
	assert.NotEmpty(t, m.Answer, "the math scorer extracts an answer from the simulated reply")

	// The usage and dollars are the whole plan's: the sum over its nodes.
	var prompt, compl, calls int
	var dollars float64
	for _, n := range m.Nodes {
		prompt += n.PromptTokens
		compl += n.CompletionTokens
		dollars += n.Dollars
		if n.Model != "" && !n.Skipped {
			calls++
			require.NotEmpty(t, n.Attempts, "node %s: every call of a pool-file model records its attempts", n.ID)
			assert.Empty(t, n.Attempts[len(n.Attempts)-1].Error)
		}
	}
	assert.Positive(t, calls)
	assert.Equal(t, prompt, c.Usage.PromptTokens)
	assert.Equal(t, compl, c.Usage.CompletionTokens)
	assert.Equal(t, prompt+compl, c.Usage.TotalTokens)
	assert.InDelta(t, dollars, m.Dollars, 1e-12)
	assert.Positive(t, m.Dollars)
}

// TestChatDeterministic: the same request gets the same plan and answer.
func TestChatDeterministic(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, nil)
	q := gsm8k(t, 2)[1]
	var first completion
	for i := range 2 {
		w := post(t, s, chatBody("masrouter", q.Query, nil), nil)
		require.Equal(t, http.StatusOK, w.Code)
		var c completion
		decodeStrict(t, w.Body.Bytes(), &c)
		if i == 0 {
			first = c
			continue
		}
		assert.Equal(t, first.Choices[0].Message.Content, c.Choices[0].Message.Content)
		assert.Equal(t, first.Masrouter.Models, c.Masrouter.Models)
		assert.Equal(t, first.Usage, c.Usage)
	}
}

func TestChatStreaming(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, nil)
	q := gsm8k(t, 3)[2]

	plain := post(t, s, chatBody("masrouter", q.Query, nil), nil)
	require.Equal(t, http.StatusOK, plain.Code)
	var want completion
	decodeStrict(t, plain.Body.Bytes(), &want)

	for _, includeUsage := range []bool{true, false} {
		extra := map[string]any{"stream": true}
		if !includeUsage {
			extra["stream_options"] = map[string]any{"include_usage": false}
		}
		w := post(t, s, chatBody("masrouter", q.Query, extra), nil)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "text/event-stream", w.Header().Get("Content-Type"))
		events := readSSE(t, w.Body)
		require.NotEmpty(t, events)
		require.Equal(t, "[DONE]", events[len(events)-1].data, "the stream ends with [DONE]")

		var content strings.Builder
		var comments, finishes int
		var usageChunk *completionChunk
		var id string
		for i, ev := range events[:len(events)-1] {
			if ev.comment != "" {
				comments++
				assert.Regexp(t, `^node \S+( .+@\S+)? (done|failed|skipped)$`, ev.comment)
				continue
			}
			var ch completionChunk
			decodeStrict(t, []byte(ev.data), &ch)
			assert.Equal(t, "chat.completion.chunk", ch.Object)
			assert.Equal(t, "masrouter", ch.Model)
			if id == "" {
				id = ch.ID
			}
			assert.Equal(t, id, ch.ID, "every chunk carries the same id")
			if i == 0 {
				require.Len(t, ch.Choices, 1)
				assert.Equal(t, "assistant", ch.Choices[0].Delta["role"], "the first chunk gives the role")
			}
			if len(ch.Choices) == 0 {
				require.NotNil(t, ch.Usage, "a chunk without choices is the usage chunk")
				usageChunk = &ch
				continue
			}
			content.WriteString(ch.Choices[0].Delta["content"])
			if ch.Choices[0].FinishReason != nil {
				finishes++
				assert.Equal(t, "stop", *ch.Choices[0].FinishReason)
			}
		}
		assert.Equal(t, want.Choices[0].Message.Content, content.String())
		assert.Equal(t, 1, finishes)
		assert.Positive(t, comments, "progress comments as nodes finish")
		if !includeUsage {
			assert.Nil(t, usageChunk)
			continue
		}
		require.NotNil(t, usageChunk)
		assert.Equal(t, want.Usage.TotalTokens, usageChunk.Usage.TotalTokens)
		require.NotNil(t, usageChunk.Masrouter)
		assert.Equal(t, want.Masrouter.Models, usageChunk.Masrouter.Models)
		assert.InDelta(t, want.Masrouter.Dollars, usageChunk.Masrouter.Dollars, 1e-12)
	}
}

type completionChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int               `json:"index"`
		Delta        map[string]string `json:"delta"`
		FinishReason *string           `json:"finish_reason"`
		Logprobs     any               `json:"logprobs"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Masrouter *server.Info `json:"masrouter"`
}

func TestChatErrors(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, func(c *server.Config) { c.MaxBodyBytes = 4096 })
	ok := func(extra map[string]any) []byte { return chatBody("masrouter", "What is 2+2?", extra) }
	msgs := func(m ...any) []byte {
		b, _ := json.Marshal(map[string]any{"model": "masrouter", "messages": append([]any{}, m...)})
		return b
	}
	tests := []struct {
		name   string
		body   []byte
		status int
		typ    string
		param  string // "" for null
		code   string // "" for null
		msg    string
	}{
		{"empty body", nil, 400, "invalid_request_error", "", "", "the request body is empty"},
		{"not JSON", []byte("{model: masrouter"), 400, "invalid_request_error", "", "", "not a JSON object: invalid JSON at byte 2"},
		{"a list", []byte("[1]"), 400, "invalid_request_error", "", "", "found a JSON array, want an object"},
		{"unknown argument", ok(map[string]any{"temprature": 0.2}), 400, "invalid_request_error", "temprature", "", "Unrecognized request argument supplied: temprature"},
		{"wrong type", ok(map[string]any{"temperature": "hot"}), 400, "invalid_request_error", "temperature", "", "temperature: want a number"},
		{"no model", []byte(`{"messages":[{"role":"user","content":"hi"}]}`), 400, "invalid_request_error", "model", "", "you must provide a model parameter"},
		{"other model", chatBody("gpt-4o", "hi", nil), 404, "invalid_request_error", "model", "model_not_found", "The model gpt-4o does not exist"},
		{"bad lambda", chatBody("masrouter:cheap", "hi", nil), 400, "invalid_request_error", "model", "", "λ after the colon must be a number"},
		{"negative lambda", chatBody("masrouter:-1", "hi", nil), 400, "invalid_request_error", "model", "", "λ after the colon"},
		{"no messages", []byte(`{"model":"masrouter"}`), 400, "invalid_request_error", "messages", "", "you must provide a messages parameter"},
		{"empty messages", msgs(), 400, "invalid_request_error", "messages", "", "messages: empty"},
		{"no user message", msgs(map[string]any{"role": "system", "content": "be brief"}), 400, "invalid_request_error", "messages", "", "no user message with text"},
		{"tool message", msgs(map[string]any{"role": "tool", "content": "x"}), 400, "invalid_request_error", "messages[0].role", "", "tool messages are not supported"},
		{"unknown role", msgs(map[string]any{"role": "robot", "content": "x"}), 400, "invalid_request_error", "messages[0].role", "", `"robot" is not one of`},
		{"image part", msgs(map[string]any{"role": "user", "content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "x"}}}}), 400, "invalid_request_error", "messages[0].content[0].type", "", "only text parts are supported"},
		{"unknown message field", msgs(map[string]any{"role": "user", "content": "x", "mood": "happy"}), 400, "invalid_request_error", "messages[0].mood", "", "unknown field mood"},
		{"tools", ok(map[string]any{"tools": []any{map[string]any{"type": "function"}}}), 400, "invalid_request_error", "tools", "", "tool calls are not supported"},
		{"n", ok(map[string]any{"n": 2}), 400, "invalid_request_error", "n", "", "only 1 choice"},
		{"logprobs", ok(map[string]any{"logprobs": true}), 400, "invalid_request_error", "logprobs", "", "logprobs are not supported"},
		{"json mode", ok(map[string]any{"response_format": map[string]any{"type": "json_object"}}), 400, "invalid_request_error", "response_format", "", "only {\"type\": \"text\"}"},
		{"stream options without stream", ok(map[string]any{"stream_options": map[string]any{"include_usage": true}}), 400, "invalid_request_error", "stream_options", "", "applies only when stream is true"},
		{"bad domain", ok(map[string]any{"masrouter_domain": "poetry"}), 400, "invalid_request_error", "masrouter_domain", "", `"poetry" is not a domain`},
		{"domains disagree", ok(map[string]any{"masrouter_domain": "math", "metadata": map[string]any{"masrouter_domain": "code"}}), 400, "invalid_request_error", "metadata.masrouter_domain", "", "disagrees"},
		{"bad budget", ok(map[string]any{"masrouter_budget": -1}), 400, "invalid_request_error", "masrouter_budget", "", "want a dollar amount > 0"},
		{"too large", chatBody("masrouter", strings.Repeat("x", 5000), nil), 413, "invalid_request_error", "", "request_too_large", "larger than 4096 bytes"},
		{"budget too small", ok(map[string]any{"masrouter_budget": 1e-9}), 400, "invalid_request_error", "masrouter_budget", "budget_exceeded", "cannot pay for the plan's calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := post(t, s, tt.body, nil)
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			var e errorBody
			decodeStrict(t, w.Body.Bytes(), &e)
			assert.Equal(t, tt.typ, e.Error.Type)
			assert.Contains(t, e.Error.Message, tt.msg)
			if tt.param == "" {
				assert.Nil(t, e.Error.Param)
			} else if assert.NotNil(t, e.Error.Param) {
				assert.Equal(t, tt.param, *e.Error.Param)
			}
			if tt.code == "" {
				assert.Nil(t, e.Error.Code)
			} else if assert.NotNil(t, e.Error.Code) {
				assert.Equal(t, tt.code, *e.Error.Code)
			}
			// The wire format keeps param and code present even when null.
			var raw map[string]map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &raw))
			for _, k := range []string{"message", "type", "param", "code"} {
				assert.Contains(t, raw["error"], k)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, func(c *server.Config) { c.Token = "s3cret" })
	do := func(method, path, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, bytes.NewReader(chatBody("masrouter", "What is 2+2?", nil)))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		name, method, path, auth string
		status                   int
		code                     string
	}{
		{"health needs no token", "GET", "/healthz", "", 200, ""},
		{"models without token", "GET", "/v1/models", "", 401, "invalid_api_key"},
		{"chat with a wrong token", "POST", "/v1/chat/completions", "Bearer nope", 401, "invalid_api_key"},
		{"chat with a basic header", "POST", "/v1/chat/completions", "Basic czNjcmV0", 401, "invalid_api_key"},
		{"metrics without token", "GET", "/metrics", "", 401, "invalid_api_key"},
		{"chat", "POST", "/v1/chat/completions", "Bearer s3cret", 200, ""},
		{"models", "GET", "/v1/models", "Bearer s3cret", 200, ""},
		{"metrics", "GET", "/metrics", "Bearer s3cret", 200, ""},
		{"chat by GET", "GET", "/v1/chat/completions", "Bearer s3cret", 405, "method_not_allowed"},
		{"models by POST", "POST", "/v1/models", "Bearer s3cret", 405, "method_not_allowed"},
		{"unknown path", "GET", "/v1/embeddings", "Bearer s3cret", 404, "not_found"},
		{"unknown root path", "GET", "/", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.method, tt.path, tt.auth)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.code != "" {
				var e errorBody
				decodeStrict(t, w.Body.Bytes(), &e)
				require.NotNil(t, e.Error.Code)
				assert.Equal(t, tt.code, *e.Error.Code)
			}
			switch tt.status {
			case 401:
				assert.Equal(t, `Bearer realm="masrouter"`, w.Header().Get("WWW-Authenticate"))
			case 405:
				assert.NotEmpty(t, w.Header().Get("Allow"))
			}
		})
	}

	t.Run("models lists λ variants and the pool", func(t *testing.T) {
		w := do("GET", "/v1/models", "Bearer s3cret")
		var body struct {
			Object string `json:"object"`
			Data   []struct {
				ID     string  `json:"id"`
				Object string  `json:"object"`
				Lambda float64 `json:"masrouter_lambda"`
			} `json:"data"`
			Pool []struct {
				Name      string   `json:"name"`
				Provider  string   `json:"provider"`
				Fallbacks []string `json:"fallbacks"`
			} `json:"masrouter_pool"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
		assert.Equal(t, "list", body.Object)
		require.Len(t, body.Data, 2)
		assert.Equal(t, "masrouter", body.Data[0].ID)
		assert.Equal(t, "masrouter:0", body.Data[1].ID)
		require.Len(t, body.Pool, pool.Len())
		assert.Equal(t, "sim", body.Pool[0].Provider)
		assert.Equal(t, []string{"gpt-4o", "gpt-4o-mini", "gemini-1.5-flash"}, body.Pool[len(body.Pool)-1].Fallbacks)
	})
}

func TestNewErrors(t *testing.T) {
	pool := simPool(t)
	ctrl := controller(t, pool, 1)
	neg := -1.0
	tests := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"no pool", server.Config{Policies: []server.Policy{{Controller: ctrl}}}, "Pool is nil"},
		{"no policies", server.Config{Pool: pool}, "Policies is empty"},
		{"nil controller", server.Config{Pool: pool, Policies: []server.Policy{{Name: "p"}}}, "controller is nil"},
		{"negative λ", server.Config{Pool: pool, Policies: []server.Policy{{Controller: ctrl, Lambda: -1}}}, "want a finite value ≥ 0"},
		{"negative default λ", server.Config{Pool: pool, Policies: []server.Policy{{Controller: ctrl}}, DefaultLambda: &neg}, "DefaultLambda"},
		{"bad domain", server.Config{Pool: pool, Policies: []server.Policy{{Controller: ctrl}}, DefaultDomain: "poetry"}, "DefaultDomain"},
		{"negative budget", server.Config{Pool: pool, Policies: []server.Policy{{Controller: ctrl}}, Budget: -1}, "Budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
