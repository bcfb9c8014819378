package agents

import (
	"math"
	"unicode/utf8"
)

// Usage is the token count of one model call.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// Total is the sum of prompt and completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Add returns the element-wise sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.PromptTokens + v.PromptTokens, u.CompletionTokens + v.CompletionTokens}
}

// UsageFromGenerationInfo reads the token counts a langchaingo provider put in
// ContentChoice.GenerationInfo. It understands OpenAI and Ollama
// (PromptTokens/CompletionTokens) and Anthropic (InputTokens/OutputTokens)
// keys; ok is false when neither pair is present.
func UsageFromGenerationInfo(info map[string]any) (u Usage, ok bool) {
	if info == nil {
		return Usage{}, false
	}
	in, okIn := intField(info, "PromptTokens")
	out, okOut := intField(info, "CompletionTokens")
	if okIn || okOut {
		return Usage{in, out}, true
	}
	in, okIn = intField(info, "InputTokens")
	out, okOut = intField(info, "OutputTokens")
	if okIn || okOut {
		return Usage{in, out}, true
	}
	return Usage{}, false
}

func intField(info map[string]any, key string) (int, bool) {
	switch v := info[key].(type) {
	case int:
		return v, true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case float32:
		return int(v), true
	default:
		return 0, false
	}
}

// EstimateTokens approximates the token count of text without a tokenizer
// download: about four characters per token, the usual figure for English
// under BPE vocabularies, and never zero for non-empty text.
func EstimateTokens(text string) int {
	n := utf8.RuneCountInString(text)
	if n == 0 {
		return 0
	}
	return int(math.Ceil(float64(n) / 4))
}
