package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/server"
)

// TestLangchaingoClient drives the server with langchaingo's own OpenAI
// client, plain and streaming, as any OpenAI-compatible caller would.
func TestLangchaingoClient(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	t.Setenv("OPENAI_API_BASE", "")
	t.Setenv("OPENAI_MODEL", "")
	var logs bytes.Buffer
	pool := simPool(t)
	s := newServer(t, pool, func(c *server.Config) {
		c.Token = "test-token"
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	q := gsm8k(t, 5)[4]

	llm, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("test-token"), openai.WithModel("masrouter"))
	require.NoError(t, err)
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, "You are a helpful assistant."),
		llms.TextParts(llms.ChatMessageTypeHuman, q.Query),
	}

	resp, err := llm.GenerateContent(context.Background(), msgs)
	require.NoError(t, err)
	require.Len(t, resp.Choices, 1)
	plain := resp.Choices[0]
	assert.NotEmpty(t, plain.Content)
	assert.Equal(t, "stop", plain.StopReason)
	u, ok := agents.UsageFromGenerationInfo(plain.GenerationInfo)
	require.True(t, ok, "the client reads the plan's usage: %v", plain.GenerationInfo)
	assert.Positive(t, u.PromptTokens)
	assert.Positive(t, u.CompletionTokens)

	// The same question streamed: the chunks make the same answer and the
	// final chunk carries the same usage.
	var chunks []string
	resp, err = llm.GenerateContent(context.Background(), msgs, llms.WithStreamingFunc(func(_ context.Context, c []byte) error {
		chunks = append(chunks, string(c))
		return nil
	}))
	require.NoError(t, err)
	streamed := resp.Choices[0]
	assert.Equal(t, plain.Content, strings.Join(chunks, ""))
	assert.Equal(t, plain.Content, streamed.Content)
	su, ok := agents.UsageFromGenerationInfo(streamed.GenerationInfo)
	require.True(t, ok, "usage of the stream: %v", streamed.GenerationInfo)
	assert.Equal(t, u, su)

	// A per-request λ through the client's model option.
	resp, err = llm.GenerateContent(context.Background(), msgs, llms.WithModel("masrouter:1000"))
	require.NoError(t, err)
	assert.NotEmpty(t, resp.Choices[0].Content)

	// A wrong token is refused with the client's error.
	bad, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("wrong"), openai.WithModel("masrouter"))
	require.NoError(t, err)
	_, err = bad.GenerateContent(context.Background(), msgs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")

	// One log line per request; never the query, never the token.
	out := logs.String()
	assert.NotContains(t, out, q.Query[:40])
	assert.NotContains(t, out, "test-token")
	var lines int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["msg"] == "chat completion" {
			lines++
			assert.NotEmpty(t, rec["trace_id"])
			assert.NotEmpty(t, rec["mode"])
		}
	}
	assert.Equal(t, 3, lines)
}

// TestCurlShape posts the README's curl body as raw bytes.
func TestCurlShape(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, nil)
	body := `{"model": "masrouter:10", "masrouter_domain": "math", "temperature": 0.7, "max_tokens": 512,
	  "messages": [{"role": "user", "content": [{"type": "text", "text": "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"}]}]}`
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var c completion
	decodeStrict(t, w.Body.Bytes(), &c)
	assert.Equal(t, "masrouter:10", c.Model)
	assert.Equal(t, 10.0, c.Masrouter.Lambda)
	assert.NotEmpty(t, c.Masrouter.Answer)
}
