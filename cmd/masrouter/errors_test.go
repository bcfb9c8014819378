package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// badTasks has a good line, then a line with an unknown field, a gold the
// scorer cannot read, a line that is not JSON and a line without a query.
const badTasks = `{"id": "ok", "query": "What is 1+1?", "gold": "2", "scorer": "gsm8k", "domain": "math"}
{"id": "extra", "query": "What is 2+2?", "gold": "4", "scorer": "gsm8k", "domain": "math", "answer": "4"}
{"id": "words", "query": "What is 3+3?", "gold": "six", "scorer": "gsm8k", "domain": "math"}
not json
{"id": "noquery", "gold": "5", "scorer": "gsm8k", "domain": "math"}
`

// badRole has an unknown kind on line 4.
const badRole = `# a role file with a mistake
- name: Wizard
  domain: math
  kind: wizard
  description: Casts spells on equations.
  system_prompt: You are a wizard.
  output_format: End with \boxed{}.
`

// TestBadInput runs each case in parallel in its own directory, "{dir}" in
// args and want; bench always gets --out there, so nothing can be written
// elsewhere (TestBenchUnknownMethod covers bench without --out).
func TestBadInput(t *testing.T) {
	t.Parallel()
	gsm0 := benchTask(t, "gsm8k", "test", 0)
	for _, tt := range []struct {
		name  string
		files map[string]string // written in the temp dir first
		args  []string
		want  []string // each in stderr
	}{
		{
			name: "unknown task",
			args: []string{"bench", "--task", "gsm9k", "--out", "{dir}/r.json"},
			want: []string{"--task gsm9k", `unknown benchmark "gsm9k"`, "gsm8k, humaneval, math, math500, mbpp, mmlu"},
		},
		{
			name: "unknown split",
			args: []string{"bench", "--task", "gsm8k", "--split", "dev", "--out", "{dir}/r.json"},
			want: []string{"--split dev", `no split "dev"`, "test, train"},
		},
		{
			name:  "malformed task file",
			files: map[string]string{"bad.jsonl": badTasks},
			args:  []string{"bench", "--task", "{dir}/bad.jsonl", "--out", "{dir}/r.json"},
			want: []string{
				"bad.jsonl:2: answer: unknown field",
				`bad.jsonl:3: gold: "six" is not an answer the gsm8k scorer can compare`,
				"bad.jsonl:4: json:",
				"bad.jsonl:5: query:",
			},
		},
		{
			name:  "malformed task file in run",
			files: map[string]string{"bad.jsonl": badTasks},
			args:  []string{"run", "--task", "{dir}/bad.jsonl", "--index", "0"},
			want:  []string{"bad.jsonl:2: answer: unknown field", "bad.jsonl:4: json:"},
		},
		{
			name:  "split of a task file",
			files: map[string]string{"ok.jsonl": userTasks},
			args:  []string{"bench", "--task", "{dir}/ok.jsonl", "--split", "train", "--out", "{dir}/r.json"},
			want:  []string{"--split train: --task {dir}/ok.jsonl is a task file, which has no splits"},
		},
		{
			name: "missing task file",
			args: []string{"bench", "--task", "{dir}/missing.jsonl", "--out", "{dir}/r.json"},
			want: []string{"--task {dir}/missing.jsonl", "no such file"},
		},
		{
			name:  "bad role file",
			files: map[string]string{"myroles/wizard.yaml": badRole},
			args:  []string{"bench", "--roles", "{dir}/myroles", "--n", "2", "--out", "{dir}/r.json"},
			want:  []string{"--roles", "{dir}/myroles/wizard.yaml:4", "kind", `"wizard"`},
		},
		{
			name: "missing roles folder",
			args: []string{"bench", "--roles", "{dir}/noroles", "--n", "2", "--out", "{dir}/r.json"},
			want: []string{"--roles", "{dir}/noroles", "no such file"},
		},
		{
			name: "unknown premium model",
			args: []string{"bench", "--premium", "gpt-9", "--n", "2", "--out", "{dir}/r.json"},
			want: []string{`--premium gpt-9: routing: static: config field Model: unknown model "gpt-9" ` +
				"(pool has gemini-1.5-flash, gpt-4o-mini, llama-3.1-8b, llama-3.1-70b, llama-3.1-405b, gpt-4o, claude-3.5-sonnet)"},
		},
		{
			name: "negative n",
			args: []string{"bench", "--n", "-5", "--out", "{dir}/r.json"},
			want: []string{"--n -5", "≥ 0"},
		},
		{
			name: "negative workers",
			args: []string{"bench", "--workers", "-1", "--out", "{dir}/r.json"},
			want: []string{"--workers -1"},
		},
		{
			name: "negative budget",
			args: []string{"bench", "--budget", "-0.5", "--out", "{dir}/r.json"},
			want: []string{"--budget -0.5"},
		},
		{
			name: "max agents out of range",
			args: []string{"run", "--task", "gsm8k", "--max-agents", "1"},
			want: []string{"--max-agents 1", "2..16"},
		},
		{
			name: "method listed twice",
			args: []string{"bench", "--n", "2", "--methods", "random,random", "--out", "{dir}/r.json"},
			want: []string{"--methods", `"random" listed twice`},
		},
		{
			name: "empty method name",
			args: []string{"bench", "--n", "2", "--methods", "random,", "--out", "{dir}/r.json"},
			want: []string{"--methods", "empty method name"},
		},
		{
			name: "report in a missing folder",
			args: []string{"bench", "--n", "2", "--out", "{dir}/nodir/r.json"},
			want: []string{"--out {dir}/nodir/r.json", "no such file"},
		},
		{
			name:  "report path is a folder",
			files: map[string]string{"reports/keep": ""},
			args:  []string{"bench", "--n", "2", "--out", "{dir}/reports"},
			want:  []string{"--out {dir}/reports: is a directory"},
		},
		{
			name: "index out of range",
			args: []string{"run", "--task", "gsm8k", "--index", "99999"},
			want: []string{"--index 99999", "gsm8k/test has questions 0..1318"},
		},
		{
			name: "negative index",
			args: []string{"route", "--task", "mmlu", "--split", "dev", "--index", "-1"},
			want: []string{"--index -1", "mmlu/dev has questions 0..284"},
		},
		{
			name: "no question",
			args: []string{"run"},
			want: []string{"give one question as an argument, or --task and --index"},
		},
		{
			name: "blank question",
			args: []string{"route", "   "},
			want: []string{"give one question as an argument, or --task and --index"},
		},
		{
			name: "question and task",
			args: []string{"run", "What is 2+2?", "--task", "gsm8k"},
			want: []string{"give either a question or --task, not both"},
		},
		{
			name: "two questions",
			args: []string{"run", "What is 2+2?", "What is 3+3?"},
			want: []string{"at most 1 arg", "received 2"},
		},
		{
			name: "unknown domain",
			args: []string{"run", "What is 2+2?", "--domain", "physics"},
			want: []string{"--domain", `unknown domain "physics"`, "math, commonsense, code"},
		},
		{
			name: "unknown scorer",
			args: []string{"run", "What is 2+2?", "--gold", "4", "--scorer", "fuzzy"},
			want: []string{"--scorer", `unknown scorer "fuzzy"`, "gsm8k"},
		},
		{
			name: "scorer without gold",
			args: []string{"run", "What is 2+2?", "--scorer", "gsm8k"},
			want: []string{"--scorer gsm8k: give --gold too"},
		},
		{
			name: "gold the scorer cannot read",
			args: []string{"run", "What is 2+2?", "--gold", "four", "--scorer", "gsm8k"},
			want: []string{`--gold "four" is not an answer the gsm8k scorer can compare`},
		},
		{
			name: "gold contradicting a benchmark question",
			args: []string{"run", gsm0.Query, "--gold", "20"},
			want: []string{`--gold "20": the question is gsm8k/test/0, whose gold answer is "18"`},
		},
		{
			name: "question flags with --task",
			args: []string{"run", "--task", "gsm8k", "--index", "2", "--gold", "4"},
			want: []string{"--gold applies to a question given as an argument, not to --task"},
		},
		{
			name: "task flags with a question",
			args: []string{"route", "What is 2+2?", "--index", "2"},
			want: []string{"--index applies only with --task"},
		},
		{
			name: "unknown router",
			args: []string{"run", "--task", "gsm8k", "--index", "1", "--router", "nope"},
			want: []string{`--router: unknown method "nope"`, "masrouter", "static-delegation", "single/gpt-4o/CoT"},
		},
		{
			name: "two routers",
			args: []string{"route", "--task", "gsm8k", "--router", "masrouter,random"},
			want: []string{`--router "masrouter,random": name one router`},
		},
		{
			name: "unknown flag",
			args: []string{"bench", "--frobnicate", "--out", "{dir}/r.json"},
			want: []string{"unknown flag: --frobnicate"},
		},
		{
			name: "unknown command",
			args: []string{"benchmark"},
			want: []string{`unknown command "benchmark"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := parallelDir(t)
			for name, data := range tt.files {
				writeFile(t, dir, name, data)
			}
			inDir := func(s string) string {
				return strings.ReplaceAll(s, "{dir}/", filepath.ToSlash(dir)+"/")
			}
			var args []string
			for _, a := range tt.args {
				args = append(args, inDir(a))
			}
			if args[0] == "bench" {
				require.Contains(t, args, "--out", "bench must write under {dir}")
			}
			before := listDir(t, dir)
			res := runCLI(t, args...)
			assert.Equal(t, 1, res.code)
			assert.Empty(t, res.stdout)
			assert.Regexp(t, `^masrouter: `, res.stderr)
			for _, w := range tt.want {
				assert.Contains(t, res.stderr, inDir(w))
			}
			assert.Equal(t, before, listDir(t, dir), "nothing is written")
		})
	}
}

func TestCanceledBenchWritesNothing(t *testing.T) {
	dir := inTempDir(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := runCLIContext(ctx, "bench", "--task", "gsm8k", "--n", "10", "--out", filepath.Join(dir, "r.json"))
	assert.Equal(t, 130, res.code, "stderr: %s", res.stderr)
	assert.Contains(t, res.stderr, "context canceled")
	assert.NotContains(t, res.stdout, "report:")
	assert.Empty(t, listDir(t, dir))
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"bench", "--help"}, {"run", "--help"}, {"route", "--help"}} {
		t.Run(args[0]+"/"+args[len(args)-1], func(t *testing.T) {
			dir := inTempDir(t)
			res := runCLI(t, args...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stdout, "Usage:")
			assert.Empty(t, listDir(t, dir))
		})
	}
}
