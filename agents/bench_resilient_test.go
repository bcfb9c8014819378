package agents_test

import (
	"context"
	"os"
	"testing"

	"github.com/masrouter/masrouter/agents"
)

// BenchmarkResilientOverhead is what the resilience wrapper adds to a call
// that succeeds at once: the attempt's context, probe and record.
func BenchmarkResilientOverhead(b *testing.B) {
	r, err := agents.NewResilient(agents.ResilientConfig{Name: "m", LLM: canned, Policy: agents.RetryPolicy{Timeout: 0, MaxRetries: 2}})
	if err != nil {
		b.Fatal(err)
	}
	msgs := userMessage("What is 6 * 7?")
	for _, bc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"bare", func(ctx context.Context) error { _, err := canned.GenerateContent(ctx, msgs); return err }},
		{"resilient", func(ctx context.Context) error { _, err := r.GenerateContent(ctx, msgs); return err }},
		{"resilient+record", func(ctx context.Context) error {
			ctx, attempts := agents.RecordAttempts(ctx)
			_, err := r.GenerateContent(ctx, msgs)
			_ = attempts()
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if err := bc.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParsePoolFile parses and validates examples/pool.openai.yaml.
func BenchmarkParsePoolFile(b *testing.B) {
	data, err := os.ReadFile("../examples/pool.openai.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := agents.ParsePoolFile("pool.openai.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
