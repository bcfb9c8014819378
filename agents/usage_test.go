package agents_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/masrouter/masrouter/agents"
)

func TestUsageFromGenerationInfo(t *testing.T) {
	tests := []struct {
		name   string
		info   map[string]any
		want   agents.Usage
		wantOK bool
	}{
		{"nil map", nil, agents.Usage{}, false},
		{"empty map", map[string]any{}, agents.Usage{}, false},
		{"openai int", map[string]any{"PromptTokens": 1000, "CompletionTokens": 200, "TotalTokens": 1200}, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, true},
		{"ollama int", map[string]any{"PromptTokens": 31, "CompletionTokens": 7, "ThinkingTokens": 0}, agents.Usage{PromptTokens: 31, CompletionTokens: 7}, true},
		{"anthropic int", map[string]any{"InputTokens": 12, "OutputTokens": 34, "CacheReadInputTokens": 0}, agents.Usage{PromptTokens: 12, CompletionTokens: 34}, true},
		{"int32", map[string]any{"PromptTokens": int32(5), "CompletionTokens": int32(6)}, agents.Usage{PromptTokens: 5, CompletionTokens: 6}, true},
		{"int64", map[string]any{"InputTokens": int64(7), "OutputTokens": int64(8)}, agents.Usage{PromptTokens: 7, CompletionTokens: 8}, true},
		{"float64 from JSON", map[string]any{"PromptTokens": 9.0, "CompletionTokens": 10.0}, agents.Usage{PromptTokens: 9, CompletionTokens: 10}, true},
		{"float32", map[string]any{"PromptTokens": float32(11), "CompletionTokens": float32(12)}, agents.Usage{PromptTokens: 11, CompletionTokens: 12}, true},
		{"mixed types", map[string]any{"PromptTokens": int64(3), "CompletionTokens": 4.0}, agents.Usage{PromptTokens: 3, CompletionTokens: 4}, true},
		{"prompt only", map[string]any{"PromptTokens": 15}, agents.Usage{PromptTokens: 15}, true},
		{"completion only", map[string]any{"CompletionTokens": 16}, agents.Usage{CompletionTokens: 16}, true},
		{"input only", map[string]any{"InputTokens": 17}, agents.Usage{PromptTokens: 17}, true},
		{"output only", map[string]any{"OutputTokens": 18}, agents.Usage{CompletionTokens: 18}, true},
		{"ollama cached prompt", map[string]any{"PromptTokens": 0, "CompletionTokens": 19}, agents.Usage{CompletionTokens: 19}, true},
		{"openai keys win over anthropic", map[string]any{"PromptTokens": 1, "CompletionTokens": 2, "InputTokens": 3, "OutputTokens": 4}, agents.Usage{PromptTokens: 1, CompletionTokens: 2}, true},
		{"zero openai pair falls through to anthropic", map[string]any{"PromptTokens": 0, "CompletionTokens": 0, "InputTokens": 3, "OutputTokens": 4}, agents.Usage{PromptTokens: 3, CompletionTokens: 4}, true},
		{"zeros are no count", map[string]any{"PromptTokens": 0, "CompletionTokens": 0, "TotalTokens": 0}, agents.Usage{}, false},
		{"anthropic zeros are no count", map[string]any{"InputTokens": 0, "OutputTokens": 0}, agents.Usage{}, false},
		{"string values", map[string]any{"PromptTokens": "10", "CompletionTokens": "20"}, agents.Usage{}, false},
		{"unrelated keys", map[string]any{"TotalTokens": 30, "LatencyMs": 5, "prompt_tokens": 10}, agents.Usage{}, false},
		{"nil values", map[string]any{"PromptTokens": nil, "CompletionTokens": nil}, agents.Usage{}, false},
		{"negative count", map[string]any{"PromptTokens": -1, "CompletionTokens": 20}, agents.Usage{}, false},
		{"NaN", map[string]any{"PromptTokens": math.NaN(), "CompletionTokens": 20.0}, agents.Usage{CompletionTokens: 20}, true},
		{"infinite", map[string]any{"PromptTokens": math.Inf(1)}, agents.Usage{}, false},
		{"huge float", map[string]any{"InputTokens": 1e300}, agents.Usage{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := agents.UsageFromGenerationInfo(tt.info)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUsageTotalAdd(t *testing.T) {
	u := agents.Usage{PromptTokens: 3, CompletionTokens: 4}
	v := agents.Usage{PromptTokens: 10, CompletionTokens: 20}
	assert.Equal(t, 7, u.Total())
	assert.Equal(t, agents.Usage{PromptTokens: 13, CompletionTokens: 24}, u.Add(v))
	assert.Equal(t, u, u.Add(agents.Usage{}))
	assert.Equal(t, 0, agents.Usage{}.Total())
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"one char", "a", 1},
		{"four chars", "abcd", 1},
		{"five chars", "abcde", 2},
		{"sentence", "The answer is 42.", 5},     // 17 runes
		{"white space counts", "    \n\n\t ", 2}, // 8 runes
		{"two-byte runes", "éééé", 1},            // 8 bytes, 4 runes
		{"three-byte runes", "数学问题答案", 2},        // 18 bytes, 6 runes
		{"four-byte runes", "🙂🙂🙂🙂🙂", 2},          // 20 bytes, 5 runes
		{"mixed", "x = π²", 2},                   // 6 runes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, agents.EstimateTokens(tt.text))
		})
	}
}
