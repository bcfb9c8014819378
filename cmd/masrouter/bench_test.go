package main

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/train"
)

// tableRows returns the rows of the results table bench prints: method name
// to the row's fields (accuracy, $ total, $/query, ...).
func tableRows(t *testing.T, stdout string) (order []string, rows map[string][]string) {
	t.Helper()
	rows = map[string][]string{}
	in := false
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "method" && !in:
			in = true
			require.Contains(t, []string{"accuracy", "pass@1"}, f[1], "the score column")
			f[1] = "accuracy"
			require.Equal(t, []string{"method", "accuracy", "$", "total", "$/query", "$/solved", "tokens", "agents", "latency", "failed"}, f)
		case in && len(f) == 0:
			return order, rows
		case in:
			require.Len(t, f, 9, "table row %q", line)
			_, dup := rows[f[0]]
			require.False(t, dup, "method %s printed twice", f[0])
			order = append(order, f[0])
			rows[f[0]] = f[1:]
		}
	}
	require.True(t, in, "no results table in:\n%s", stdout)
	return order, rows
}

// checkResult checks one method's figures for n questions.
func checkResult(t *testing.T, r train.MethodResult, n int) {
	t.Helper()
	assert.Equal(t, n, r.N, r.Method)
	assert.GreaterOrEqual(t, r.Accuracy, 0.0, r.Method)
	assert.LessOrEqual(t, r.Accuracy, 1.0, r.Method)
	assert.Positive(t, r.Dollars, r.Method)
	assert.InEpsilon(t, r.Dollars/float64(n), r.DollarsPerQuery, 1e-9, r.Method)
	assert.Positive(t, r.PromptTokens, r.Method)
	assert.Positive(t, r.CompletionTokens, r.Method)
	assert.Positive(t, r.MeanCriticalPath, r.Method)
	assert.Zero(t, r.Failed, r.Method)
	assert.GreaterOrEqual(t, r.MeanAgents, 1.0, r.Method)
	if strings.HasPrefix(r.Method, "single/") {
		assert.Equal(t, 1.0, r.MeanAgents, r.Method)
		mode := r.Method[strings.LastIndex(r.Method, "/")+1:]
		model := strings.TrimSuffix(strings.TrimPrefix(r.Method, "single/"), "/"+mode)
		assert.Equal(t, map[string]int{model: n}, r.Models, r.Method)
		assert.Equal(t, map[string]int{mode: n}, r.Modes, r.Method)
	}
}

// checkTable checks that the printed table shows exactly the report's
// methods, in its order, with its figures.
func checkTable(t *testing.T, stdout string, res []train.MethodResult) {
	t.Helper()
	order, rows := tableRows(t, stdout)
	var want []string
	for _, r := range res {
		want = append(want, r.Method)
		row := rows[r.Method]
		if !assert.NotNil(t, row, "method %s missing from the table", r.Method) {
			continue
		}
		assert.Equal(t, fmt.Sprintf("%.1f%%", 100*r.Accuracy), row[0], r.Method)
		assert.Equal(t, fmt.Sprintf("%.4f", r.Dollars), row[1], r.Method)
		assert.Equal(t, strconv.Itoa(r.PromptTokens+r.CompletionTokens), row[4], r.Method)
		assert.Equal(t, strconv.Itoa(r.Failed), row[7], r.Method)
	}
	assert.Equal(t, want, order)
}

func TestBenchBenchmarks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		task string
		n    int
		seed string
		runs int // runs with different worker counts, whose results must agree
	}{
		{task: "gsm8k", n: 20, seed: "3", runs: 2},
		{task: "math", n: 6, seed: "1", runs: 1},
		{task: "mmlu", n: 8, seed: "5", runs: 1},
	} {
		t.Run(tt.task, func(t *testing.T) {
			dir := parallelDir(t)
			var results, files []string
			for i, workers := range []string{"4", "1"}[:tt.runs] {
				out := filepath.Join(dir, fmt.Sprintf("r%d.json", i))
				files = append(files, filepath.Base(out))
				res := runCLI(t, "bench", "--task", tt.task, "--n", strconv.Itoa(tt.n),
					"--seed", tt.seed, "--workers", workers, "--out", out)
				require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
				assert.Empty(t, res.stderr)
				assert.Contains(t, res.stdout, fmt.Sprintf("%s/test: %d questions, seed %s", tt.task, tt.n, tt.seed))
				assert.Contains(t, res.stdout, "simulated offline")
				assert.Contains(t, res.stdout, "report: "+out)

				rep, raw := readReport(t, out)
				results = append(results, string(raw))
				assert.Equal(t, 1, rep.Version)
				assert.True(t, rep.Simulated)
				assert.Equal(t, simNote, rep.Note)
				assert.Equal(t, tt.task, rep.Task)
				assert.Equal(t, "test", rep.Split)
				assert.Equal(t, tt.n, rep.N)
				assert.Equal(t, tt.seed, strconv.FormatInt(rep.Seed, 10))
				assert.False(t, rep.Created.IsZero())
				var pool []string
				for _, p := range rep.Pool {
					pool = append(pool, p.Model)
					assert.Positive(t, p.InputPerMillion, p.Model)
					assert.Positive(t, p.OutputPerMillion, p.Model)
				}
				assert.Equal(t, simModels(t), pool)
				require.Len(t, simModels(t), 7, "the simulated pool")

				var methods []string
				for _, r := range rep.Results {
					methods = append(methods, r.Method)
					checkResult(t, r, tt.n)
				}
				assert.Equal(t, allMethods(t), methods)
				checkTable(t, res.stdout, rep.Results)
			}
			for _, r := range results[1:] {
				// Byte-identical although the queries ran at different
				// concurrency; only the timestamps may differ.
				assert.Equal(t, results[0], r, "results differ between two identical runs")
			}
			assert.Equal(t, files, listDir(t, dir), "only the reports are written")
		})
	}
}

func TestBenchDefaultReportPathForTaskFile(t *testing.T) {
	// A task file given by path still reports into the working directory,
	// named after the file.
	dir := inTempDir(t)
	file := writeFile(t, dir, "data/my-tasks.jsonl", userTasks)
	res := runCLI(t, "bench", "--task", file, "--n", "3", "--methods", "single/gpt-4o-mini/IO")
	require.Equal(t, 0, res.code, res.stderr)
	const want = "bench-my-tasks-n3-seed1.json"
	assert.Contains(t, res.stdout, "report: "+want)
	assert.Equal(t, []string{want, "data", "data/my-tasks.jsonl"}, listDir(t, dir))
	rep, _ := readReport(t, filepath.Join(dir, want))
	assert.Equal(t, 3, rep.N)
}

func TestBenchMethods(t *testing.T) {
	dir := inTempDir(t)
	res := runCLI(t, "bench", "--task", "gsm8k", "--n", "5", "--methods", "masrouter,static-delegation")
	require.Equal(t, 0, res.code, res.stderr)
	// Without --out the report goes to the working directory.
	const want = "bench-gsm8k-n5-seed1.json"
	assert.Contains(t, res.stdout, "report: "+want)
	assert.Equal(t, []string{want}, listDir(t, dir))
	rep, _ := readReport(t, filepath.Join(dir, want))
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Method)
		checkResult(t, r, 5)
	}
	assert.Equal(t, []string{"masrouter", "static-delegation"}, got)
	checkTable(t, res.stdout, rep.Results)
}

func TestBenchUnknownMethod(t *testing.T) {
	// Without --out, and failing only after the tasks and the simulated
	// world are loaded: neither a report nor a temporary file may appear.
	dir := inTempDir(t)
	res := runCLI(t, "bench", "--task", "gsm8k", "--n", "5", "--methods", "masrouter,nope")
	assert.Equal(t, 1, res.code)
	assert.Empty(t, res.stdout)
	assert.Contains(t, res.stderr, `--methods: unknown method "nope"`)
	for _, m := range allMethods(t) {
		assert.Contains(t, res.stderr, m, "valid names are listed")
	}
	assert.Empty(t, listDir(t, dir))
}

// userTasks is a user task file of GSM8K-style questions.
const userTasks = `{"id": "apples", "query": "Tom has 3 apples and buys 4 more. How many apples does he have now?", "gold": "7", "scorer": "gsm8k", "domain": "math", "solution": "3 + 4 = 7 apples.\n#### 7"}
{"id": "pens", "query": "A pen costs $2. How many dollars do 5 pens cost?", "gold": "10", "scorer": "gsm8k", "domain": "math"}

{"id": "train", "query": "A train travels 60 miles per hour for 3 hours. How many miles does it travel?", "gold": "180", "scorer": "gsm8k", "domain": "math"}
{"id": "eggs", "query": "A hen lays 2 eggs a day. How many eggs does it lay in a week?", "gold": "14", "scorer": "gsm8k", "domain": "math", "meta": {"difficulty": "-1"}}
`

func TestBenchUserTaskFile(t *testing.T) {
	dir := parallelDir(t)
	file := writeFile(t, dir, "tasks.jsonl", userTasks)
	out := filepath.Join(dir, "r.json")
	res := runCLI(t, "bench", "--task", file, "--n", "0", "--out", out)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, file+": 4 questions")
	rep, _ := readReport(t, out)
	assert.Equal(t, 4, rep.N)
	assert.Equal(t, file, rep.Task)
	assert.Empty(t, rep.Split, "a task file has no split")
	assert.True(t, rep.Simulated)
	var solved float64
	var methods []string
	for _, r := range rep.Results {
		methods = append(methods, r.Method)
		checkResult(t, r, 4)
		solved += r.Accuracy
	}
	assert.Equal(t, allMethods(t), methods)
	// The simulator answers registered user tasks from their gold answers;
	// were they missing from its answer key, every method would score 0.
	assert.Positive(t, solved)
	checkTable(t, res.stdout, rep.Results)
}

func TestBenchBudget(t *testing.T) {
	t.Parallel()
	bench := func(t *testing.T, budget float64) []train.MethodResult {
		t.Helper()
		out := filepath.Join(parallelDir(t), "r.json")
		res := runCLI(t, "bench", "--task", "gsm8k", "--n", "8", "--seed", "3",
			"--methods", "static-delegation,masrouter", "--out", out,
			"--budget", strconv.FormatFloat(budget, 'g', -1, 64))
		require.Equal(t, 0, res.code, res.stderr)
		rep, _ := readReport(t, out)
		require.Len(t, rep.Results, 2)
		require.Equal(t, "static-delegation", rep.Results[0].Method)
		return rep.Results
	}
	t.Run("tiny", func(t *testing.T) {
		const budget = 0.00001
		for _, r := range bench(t, budget) {
			assert.LessOrEqual(t, r.DollarsPerQuery, budget, r.Method)
			assert.Equal(t, r.N, r.Failed, "%s: no plan can run on $%g", r.Method, budget)
		}
	})
	t.Run("binding", func(t *testing.T) {
		// Above one premium call, below the four of static delegation's
		// chain (about $0.007 a query on these questions).
		const budget = 0.005
		res := bench(t, budget)
		static := res[0]
		assert.Positive(t, static.Dollars, "the calls within budget ran")
		assert.LessOrEqual(t, static.DollarsPerQuery, budget)
		assert.Less(t, static.MeanAgents, 4.0, "later agents of the chain were stopped")
		for _, r := range res {
			assert.LessOrEqual(t, r.DollarsPerQuery, budget, r.Method)
		}
	})
}

func TestRunBudgetPerQuery(t *testing.T) {
	t.Parallel()
	const budget = 0.005
	res := runCLI(t, "run", "--task", "gsm8k", "--index", "4", "--router", "static-delegation",
		"--budget", strconv.FormatFloat(budget, 'g', -1, 64))
	spent := costLine(t, res.stdout)
	assert.Positive(t, spent)
	assert.LessOrEqual(t, spent, budget)
	if res.code != 0 {
		// A chain cut short leaves the decision node without input.
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "budget exceeded")
		assert.Contains(t, res.stdout, "budget exceeded")
	}
}

// costLine returns the dollars on the "Cost:" line of run's output.
func costLine(t *testing.T, stdout string) float64 {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(line, "Cost:   $"); ok {
			v, err := strconv.ParseFloat(rest[:strings.Index(rest, ",")], 64)
			require.NoError(t, err, line)
			require.False(t, math.IsNaN(v))
			return v
		}
	}
	require.Fail(t, "no Cost line", stdout)
	return 0
}
