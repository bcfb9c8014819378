package replay

import (
	"context"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
)

// BenchmarkGenerateContent is one replayed call on a recorded MMLU
// question: parse the prompt, find the question, render the reply, count
// tokens.
func BenchmarkGenerateContent(b *testing.B) {
	d := load(b, "mmlu")
	m, err := d.ModelFor(RouteLLMStrong)
	if err != nil {
		b.Fatal(err)
	}
	msgs := []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, "Role: Knowledgeable Expert\nYou are a knowledgeable expert."),
		llms.TextParts(llms.ChatMessageTypeHuman, agents.UserPrompt(agents.Request{Query: d.Items[100].Task.Query})),
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.GenerateContent(ctx, msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadRouteLLMMMLU loads, decompresses, decontaminates and joins
// the 14,042 recorded MMLU rows.
func BenchmarkLoadRouteLLMMMLU(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadRouteLLM("mmlu"); err != nil {
			b.Fatal(err)
		}
	}
}
