package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/server"
)

// fixed is a stand-in llms.Model: put any langchaingo model here.
type fixed struct{}

func (fixed) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        `16 - 3 - 4 = 9 eggs, sold at $2: \boxed{18}`,
		GenerationInfo: map[string]any{"PromptTokens": 300, "CompletionTokens": 20},
	}}}, nil
}

func (f fixed) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, f, prompt, options...)
}

func ExampleNew() {
	pool, err := agents.NewPool(&agents.Model{Name: "small", LLM: fixed{}, Price: agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.60}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctrl, err := routing.NewController(routing.ControllerConfig{Pool: pool, Greedy: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := server.New(server.Config{Pool: pool, Policies: []server.Policy{{Name: "untrained", Controller: ctrl}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// srv is an http.Handler; Serve(ctx, listener, timeout) runs it with
	// graceful shutdown.
	ts := httptest.NewServer(srv)
	defer ts.Close()

	body := `{"model": "masrouter:10", "messages": [{"role": "user", "content": "Janet has 16 eggs, eats 3, bakes with 4 and sells the rest at $2. How much does she make?"}]}`
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Object    string      `json:"object"`
		Masrouter server.Info `json:"masrouter"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, out.Object)
	fmt.Println("answer:", out.Masrouter.Answer, "λ:", out.Masrouter.Lambda, "answered by:", out.Masrouter.AnsweredBy)
	// Output:
	// 200 chat.completion
	// answer: 18 λ: 10 answered by: [small]
}
