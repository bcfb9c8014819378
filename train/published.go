package train

// PublishedRow is one router result RouteLLM published (Ong et al., arXiv
// 2406.18665 v4, Tables 1–3): strong gpt-4-1106-preview, weak Mixtral-8x7B.
type PublishedRow struct {
	Benchmark string `json:"benchmark"`
	// Training names the router's training data: "-" for the random
	// router, "Arena", "Arena + judge" or "Arena + gold (MMLU val)".
	Training string `json:"training"`
	Router   string `json:"router"`
	// CPT50 and CPT80 are shares of strong-model calls in [0, 1].
	CPT50 float64 `json:"cpt50"`
	CPT80 float64 `json:"cpt80"`
	APGR  float64 `json:"apgr"`
}

// routeLLMPublished holds RouteLLM's published GSM8K and MMLU rows. It is
// read-only.
var routeLLMPublished = []PublishedRow{
	{"mmlu", "-", "random (95% CI)", 0.5007, 0.7993, 0.500},
	{"mmlu", "Arena", "BERT", 0.4943, 0.7780, 0.502},
	{"mmlu", "Arena", "Causal LLM", 0.4888, 0.7793, 0.499},
	{"mmlu", "Arena", "MF", 0.4500, 0.7686, 0.524},
	{"mmlu", "Arena", "SW Ranking", 0.5582, 0.8025, 0.473},
	{"mmlu", "Arena + gold (MMLU val)", "BERT", 0.4130, 0.7220, 0.572},
	{"mmlu", "Arena + gold (MMLU val)", "Causal LLM", 0.3549, 0.7031, 0.600},
	{"mmlu", "Arena + gold (MMLU val)", "MF", 0.3546, 0.7140, 0.597},
	{"mmlu", "Arena + gold (MMLU val)", "SW Ranking", 0.3540, 0.7155, 0.603},
	{"gsm8k", "-", "random (95% CI)", 0.5000, 0.8008, 0.497},
	{"gsm8k", "Arena", "BERT", 0.5878, 0.8384, 0.438},
	{"gsm8k", "Arena", "Causal LLM", 0.5609, 0.8356, 0.461},
	{"gsm8k", "Arena", "MF", 0.5359, 0.8524, 0.4746},
	{"gsm8k", "Arena", "SW Ranking", 0.5443, 0.8211, 0.4753},
	{"gsm8k", "Arena + judge", "BERT", 0.4476, 0.7909, 0.531},
	{"gsm8k", "Arena + judge", "Causal LLM", 0.3364, 0.6326, 0.622},
	{"gsm8k", "Arena + judge", "MF", 0.3882, 0.7262, 0.565},
	{"gsm8k", "Arena + judge", "SW Ranking", 0.4121, 0.7220, 0.568},
}

// RouteLLMPublished returns RouteLLM's published rows for benchmark
// ("gsm8k" or "mmlu"), in the paper's order; nil for another benchmark.
func RouteLLMPublished(benchmark string) []PublishedRow {
	var out []PublishedRow
	for _, r := range routeLLMPublished {
		if r.Benchmark == benchmark {
			out = append(out, r)
		}
	}
	return out
}
