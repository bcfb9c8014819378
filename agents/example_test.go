package agents_test

import (
	"context"
	"fmt"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
)

func ExamplePrice_Cost() {
	gpt4o := agents.Price{InputPerMillion: 2.50, OutputPerMillion: 10}
	u := agents.Usage{PromptTokens: 1000, CompletionTokens: 200}
	fmt.Printf("$%.4f\n", gpt4o.Cost(u))
	// Output: $0.0045
}

func ExampleUsageFromGenerationInfo() {
	// langchaingo's OpenAI client and its Anthropic client name the counts
	// differently; both normalise to the same Usage.
	openAI := map[string]any{"PromptTokens": 1000, "CompletionTokens": 200, "TotalTokens": 1200}
	claude := map[string]any{"InputTokens": 1000, "OutputTokens": 200}
	for _, info := range []map[string]any{openAI, claude, {"TotalTokens": 0}} {
		u, ok := agents.UsageFromGenerationInfo(info)
		fmt.Println(u.PromptTokens, u.CompletionTokens, ok)
	}
	// Output:
	// 1000 200 true
	// 1000 200 true
	// 0 0 false
}

// echo is a stand-in llms.Model for the example.
type echo struct{}

func (echo) GenerateContent(_ context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "ok"}}}, nil
}

func (e echo) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, e, prompt, options...)
}

func ExampleNewPool() {
	pool, err := agents.NewPool(
		&agents.Model{Name: "gpt-4o-mini", LLM: echo{}, Price: agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.60}},
		&agents.Model{Name: "gpt-4o", LLM: echo{}, Price: agents.Price{InputPerMillion: 2.50, OutputPerMillion: 10}},
		&agents.Model{Name: "llama-3.1-8b", LLM: echo{}, Price: agents.Price{InputPerMillion: 0.18, OutputPerMillion: 0.18}},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pool.Names())
	fmt.Println(pool.MostExpensive().Name)
	if _, err := pool.Get("claude-3.5-sonnet"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// [gpt-4o-mini gpt-4o llama-3.1-8b]
	// gpt-4o
	// unknown model "claude-3.5-sonnet" (pool has gpt-4o-mini, gpt-4o, llama-3.1-8b)
}
