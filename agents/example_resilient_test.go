package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/masrouter/masrouter/agents"
)

func ExampleParsePoolFile() {
	file := `
models:
  - name: gpt-4o-mini
    provider: openai
    api_key: sk-do-not-do-this
    price: {input_per_million: 0.15, output_per_million: 0.60}
  - name: local
    provider: openai
    base_url: http://localhost:8000/v1
    fallback: gpt-4o
`
	_, err := agents.ParsePoolFile("pool.yaml", []byte(file))
	fmt.Println(err)
	// Output:
	// pool.yaml:3: models[0].api_key_env: missing: OpenAI's API needs a key; name the environment variable that holds it, e.g. api_key_env: OPENAI_API_KEY
	// pool.yaml:5: models[0].api_key: keys never go in the pool file; put the key in an environment variable and name the variable in api_key_env
	// pool.yaml:7: models[1].price: missing: give the list price, price: {input_per_million: ..., output_per_million: ...} in dollars (0 for a free local model)
	// pool.yaml:10: models[1].fallback: no model is named "gpt-4o"
}

func ExampleNewResilient() {
	// An OpenAI-compatible server whose first reply is a 429 asking to wait
	// 2 seconds.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error": {"message": "slow down", "type": "rate_limit_error"}}`)
			return
		}
		fmt.Fprint(w, `{"id": "x", "object": "chat.completion", "model": "m",
			"choices": [{"index": 0, "message": {"role": "assistant", "content": "72"}, "finish_reason": "stop"}],
			"usage": {"prompt_tokens": 90, "completion_tokens": 2, "total_tokens": 92}}`)
	}))
	defer srv.Close()

	client, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithToken("key"), openai.WithModel("m"),
		// StatusTransport lets the wrapper see statuses and Retry-After.
		openai.WithHTTPClient(&http.Client{Transport: agents.StatusTransport(nil)}))
	if err != nil {
		fmt.Println(err)
		return
	}
	llm, err := agents.NewResilient(agents.ResilientConfig{
		Name: "m", LLM: client,
		Policy: agents.RetryPolicy{Timeout: 30 * time.Second, MaxRetries: 2},
		Clock:  noSleep{}, // a clock that does not really sleep, so the example runs at once
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, attempts := agents.RecordAttempts(context.Background())
	resp, err := llm.GenerateContent(ctx, []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "48 + 24?")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Choices[0].Content)
	for _, a := range attempts() {
		fmt.Println(a.Model, a.Status, a.Wait, a.OK())
	}
	// Output:
	// 72
	// m 429 2s false
	// m 200 0s true
}

type noSleep struct{}

func (noSleep) Now() time.Time                                   { return time.Unix(0, 0) }
func (noSleep) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
