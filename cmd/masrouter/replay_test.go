package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/train"
)

// readReplayReport decodes a replay report, refusing unknown fields.
func readReplayReport(t *testing.T, path string) train.ReplayReport {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep train.ReplayReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), "report %s", path)
	return rep
}

func requirePNG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")), "%s is not a PNG", path)
}

func TestEvalReplayRouteLLM(t *testing.T) {
	dir := parallelDir(t)
	png, md, out := filepath.Join(dir, "curves.png"), filepath.Join(dir, "table.md"), filepath.Join(dir, "report.json")
	r := runCLI(t, "eval", "replay", "--source", "routellm", "--benchmark", "gsm8k", "--n", "120", "--kappas", "0.1,0.3",
		"--epochs", "1", "--samples", "2", "--plot", png, "--md", md, "--out", out)
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{"RouteLLM gsm8k", "masrouter-threshold", "pickllm-automaton (κ sweep)", "pickllm-q (κ sweep)",
		"published: Causal LLM", "Arena + judge", "optimal (knows the outcomes)", "gpt-4-1106-preview alone", "CPT(50%)", "masrouter by κ:"} {
		assert.Contains(t, r.stdout, want)
	}
	requirePNG(t, png)
	table, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Contains(t, string(table), "| router | trained on | APGR | CPT(50%) | CPT(80%) |")
	assert.Contains(t, string(table), "| published: Causal LLM | Arena + judge | 0.622 | 33.6% | 63.3% |")
	rep := readReplayReport(t, out)
	assert.Equal(t, 120, rep.Train+rep.Test)
	require.NotNil(t, rep.CallUsage, "routellm prices calls as RouteLLM does by default")
	assert.Equal(t, 95, rep.CallUsage.PromptTokens)
	th := rep.Result("masrouter-threshold")
	require.NotNil(t, th)
	require.NotNil(t, th.APGR)
	assert.Len(t, rep.Published, 9)
}

func TestEvalReplayLLMRouter(t *testing.T) {
	dir := parallelDir(t)
	png, out := filepath.Join(dir, "plane.png"), filepath.Join(dir, "report.json")
	r := runCLI(t, "eval", "replay", "--source", "llmrouter", "--n", "200", "--kappas", "0.05", "--epochs", "1", "--samples", "2", "--plot", png, "--out", out)
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{"LLMRouter: 9 open models", "best single:", "oracle", "% of best single's $", "masrouter (middle κ)"} {
		assert.Contains(t, r.stdout, want)
	}
	requirePNG(t, png)
	rep := readReplayReport(t, out)
	assert.Nil(t, rep.CallUsage, "llmrouter prices estimated tokens by default")
	assert.Empty(t, rep.Published)
}

func TestEvalReplayErrors(t *testing.T) {
	dir := parallelDir(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "frugalgpt"}, `--source "frugalgpt": want routellm or llmrouter`},
		{[]string{"--benchmark", "mt-bench"}, `--benchmark "mt-bench": want gsm8k or mmlu`},
		{[]string{"--source", "llmrouter", "--benchmark", "mmlu"}, "--benchmark applies only to --source routellm"},
		{[]string{"--kappas", "0.1,x"}, `"x" is not a number`},
		{[]string{"--kappas", "-1"}, `"-1" is not a number ≥ 0`},
		{[]string{"--train-fraction", "1"}, "--train-fraction 1: want a value in (0, 1)"},
		{[]string{"--n", "-1"}, "--n -1"},
		{[]string{"--cost", "free"}, `--cost "free"`},
		{[]string{"--encoder", "bert"}, `--encoder "bert"`},
		{[]string{"--plot", dir}, "is a directory"},
		{[]string{"--out", filepath.Join(dir, "missing", "r.json")}, "--out"},
	} {
		r := runCLI(t, append([]string{"eval", "replay"}, tc.args...)...)
		assert.Equal(t, 1, r.code, "%v", tc.args)
		assert.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}
