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
// keys; ok is false when neither pair holds a usable count. A pair whose
// counts are both zero is not a count (langchaingo's OpenAI client fills in
// zeros when a server sends no usage), and a negative or non-finite count
// makes its pair unusable.
func UsageFromGenerationInfo(info map[string]any) (u Usage, ok bool) {
	if u, ok := usagePair(info, "PromptTokens", "CompletionTokens"); ok {
		return u, true
	}
	return usagePair(info, "InputTokens", "OutputTokens")
}

// usagePair reads one pair of count keys; one key alone is enough.
func usagePair(info map[string]any, promptKey, completionKey string) (Usage, bool) {
	in, okIn := intField(info, promptKey)
	out, okOut := intField(info, completionKey)
	if !okIn && !okOut || in < 0 || out < 0 || in == 0 && out == 0 {
		return Usage{}, false
	}
	return Usage{PromptTokens: in, CompletionTokens: out}, true
}

// maxExactFloat is the largest float64 below which every integer is exact.
const maxExactFloat = 1 << 53

// intField reads an integer-valued field; floats must be finite and exact.
func intField(info map[string]any, key string) (int, bool) {
	switch v := info[key].(type) {
	case int:
		return v, true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case float64:
		return floatField(v)
	case float32:
		return floatField(float64(v))
	default:
		return 0, false
	}
}

func floatField(v float64) (int, bool) {
	if math.IsNaN(v) || math.Abs(v) > maxExactFloat {
		return 0, false
	}
	return int(v), true
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
