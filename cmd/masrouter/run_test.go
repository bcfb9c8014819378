package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
)

// benchTask returns question i of a shipped benchmark split.
func benchTask(t *testing.T, bench, split string, i int) *tasks.Task {
	t.Helper()
	ts, err := tasks.Load(bench, split)
	require.NoError(t, err)
	require.Greater(t, len(ts), i)
	return ts[i]
}

var (
	choiceRe = regexp.MustCompile(`(?m)^  (mode|count|role\[\d+\]|model\[\d+\])\s+(.+?)\s+p=([0-9.]+)$`)
	planRe   = regexp.MustCompile(`(?m)^Plan:   (\S.*?)   \(log-prob (-?[0-9.]+)\)$`)
	nodeRe   = regexp.MustCompile(`^\[([\w.]+)\] (\w+)`)
	answerRe = regexp.MustCompile(`(?m)^Answer: (.*)$`)
	modelRe  = regexp.MustCompile(`@([\w.-]+)`)
	scoreRe  = regexp.MustCompile(`(?m)^Score:  ([01]) \(gold (.*)\)$`)
)

// checkPlan checks the plan part that run and route print and returns the
// number of agents the plan names.
func checkPlan(t *testing.T, stdout string, task *tasks.Task, router string) int {
	t.Helper()
	assert.Contains(t, stdout, "Question ("+task.ID+"):\n")
	assert.Contains(t, stdout, strings.TrimSpace(task.Query)[:40])
	assert.Contains(t, stdout, "Router: "+router+"\n")
	require.Regexp(t, planRe, stdout)
	lp, err := strconv.ParseFloat(planRe.FindStringSubmatch(stdout)[2], 64)
	require.NoError(t, err)
	assert.LessOrEqual(t, lp, 0.0, "a log-probability")

	choices := choiceRe.FindAllStringSubmatch(stdout, -1)
	require.NotEmpty(t, choices, "the router's decisions")
	assert.Equal(t, "mode", choices[0][1])
	roles, models := 0, 0
	for _, c := range choices {
		p, err := strconv.ParseFloat(c[3], 64)
		require.NoError(t, err, c[0])
		assert.True(t, p >= 0 && p <= 1, "probability %s", c[0])
		switch {
		case strings.HasPrefix(c[1], "role["):
			roles++
		case strings.HasPrefix(c[1], "model["):
			models++
		}
	}
	assert.Positive(t, roles)
	assert.Equal(t, roles, models, "one model per role")

	assert.Contains(t, stdout, "\nDAG (Graphviz DOT):\n  digraph ")
	assert.Contains(t, stdout, `"decision" [`)
	assert.Contains(t, stdout, "\n  }\n")
	assert.Regexp(t, `(?m)^  \s*"a0" -> "`, stdout)
	return roles
}

// checkTrace checks the part only run prints and returns the answer and score.
func checkTrace(t *testing.T, stdout string, agents int) (answer string, score string) {
	t.Helper()
	_, trace, ok := strings.Cut(stdout, "\nAgents:\n")
	require.True(t, ok, "no Agents section")
	lines := strings.Split(trace, "\n")
	ids := map[string]bool{}
	for i, line := range lines {
		m := nodeRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ids[m[1]] = true
		if strings.Contains(line, " on ") && !strings.Contains(line, ": 0 in / 0 out tokens") {
			require.Greater(t, len(lines), i+1)
			assert.True(t, strings.HasPrefix(lines[i+1], "  | "), "node %s's reply follows it: %q", m[1], lines[i+1])
		}
	}
	for i := range agents {
		assert.True(t, ids["a"+strconv.Itoa(i)], "agent a%d has a reply block", i)
	}
	assert.True(t, ids["decision"], "the decision node is shown")
	require.Regexp(t, answerRe, trace)
	answer = answerRe.FindStringSubmatch(trace)[1]
	if m := scoreRe.FindStringSubmatch(trace); m != nil {
		score = m[1]
	}
	assert.Regexp(t, `(?m)^Cost:   \$[0-9.]+, \d+ tokens \(\d+ in, \d+ out\), \d+ model calls, [0-9.]+s critical path \(simulated latency\)$`, trace)
	return answer, score
}

func TestRunBenchmarkQuestion(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		bench, split string
		index        int
		args         []string
		router       string
	}{
		{bench: "gsm8k", split: "test", index: 3, router: "masrouter"},
		{bench: "mmlu", split: "dev", index: 5, args: []string{"--router", "static-delegation", "--premium", "claude-3.5-sonnet"}, router: "static-delegation"},
	} {
		t.Run(tt.bench+"/"+tt.split+"/"+strconv.Itoa(tt.index), func(t *testing.T) {
			t.Parallel()
			task := benchTask(t, tt.bench, tt.split, tt.index)
			args := append([]string{"run", "--task", tt.bench, "--split", tt.split, "--index", strconv.Itoa(tt.index)}, tt.args...)
			res := runCLI(t, args...)
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			assert.Empty(t, res.stderr)
			n := checkPlan(t, res.stdout, task, tt.router)
			answer, score := checkTrace(t, res.stdout, n)
			require.NotEmpty(t, score, "a benchmark question is scored:\n%s", res.stdout)
			assert.Contains(t, res.stdout, "(gold "+task.Gold+")")
			want := "0"
			if task.Scorer.Equivalent(answer, task.Gold) {
				want = "1"
			}
			assert.Equal(t, want, score, "score of answer %q against gold %q", answer, task.Gold)
			assert.NotContains(t, res.stdout, "Note:")

			if tt.router == "static-delegation" {
				// A chain of four roles, all on the --premium model.
				plan := planRe.FindStringSubmatch(res.stdout)
				require.NotNil(t, plan, res.stdout)
				assert.True(t, strings.HasPrefix(plan[1], "Chain["), plan[1])
				models := modelRe.FindAllStringSubmatch(plan[1], -1)
				require.Len(t, models, 4, plan[1])
				for _, m := range models {
					assert.Equal(t, "claude-3.5-sonnet", m[1], plan[1])
				}
			}
			if tt.index == 3 {
				again := runCLI(t, args...)
				assert.Equal(t, res, again, "run is deterministic")
				// route shows the plan run executes, and stops there.
				routed := runCLI(t, append([]string{"route"}, args[1:]...)...)
				require.Equal(t, 0, routed.code, routed.stderr)
				assert.True(t, strings.HasPrefix(res.stdout, routed.stdout), "run begins with route's output")
				assert.NotContains(t, routed.stdout, "Agents:")
			}
		})
	}
}

func TestRunTypedQuestion(t *testing.T) {
	t.Parallel()
	gsm0 := benchTask(t, "gsm8k", "test", 0)
	for _, tt := range []struct {
		name     string
		args     []string
		id       string // the task the question resolves to
		gold     string // "" when not scored
		contains []string
	}{
		{
			name: "gsm8k test question",
			args: []string{gsm0.Query, "--domain", "math"},
			id:   gsm0.ID, gold: gsm0.Gold,
		},
		{
			name: "not in the answer key",
			args: []string{"What is 2+2?", "--domain", "math"},
			contains: []string{
				"not in my answer key",
				"Answer: (none)\n",
				"Score:  not scored (no gold answer; pass --gold)\n",
				"Note: the offline simulator only answers questions in its answer key",
			},
		},
		{
			name: "own question with a gold answer",
			args: []string{"Which planet is known as the Red Planet?\nA. Venus\nB. Mars\nC. Jupiter\nD. Saturn", "--domain", "commonsense", "--gold", "B"},
			gold: "B",
			contains: []string{
				"Note: this is not a benchmark question; the simulated replies were drawn against the --gold you gave.",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, append([]string{"run"}, tt.args...)...)
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			if tt.id != "" {
				assert.Contains(t, res.stdout, "Question ("+tt.id+"):")
				assert.NotContains(t, res.stdout, "Note:")
			} else {
				assert.Contains(t, res.stdout, "Question (cli/")
			}
			_, trace, ok := strings.Cut(res.stdout, "\nAgents:\n")
			require.True(t, ok, res.stdout)
			if tt.gold != "" {
				m := scoreRe.FindStringSubmatch(trace)
				require.NotNil(t, m, "scored against the gold:\n%s", trace)
				assert.Equal(t, tt.gold, m[2])
			}
			for _, c := range tt.contains {
				assert.Contains(t, res.stdout, c)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	task := benchTask(t, "math", "test", 7)
	res := runCLI(t, "route", "--task", "math", "--index", "7")
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	assert.Empty(t, res.stderr)
	checkPlan(t, res.stdout, task, "masrouter")
	for _, s := range []string{"Agents:", "Answer:", "Score:", "Cost:"} {
		assert.NotContains(t, res.stdout, s, "route does not run the plan")
	}
}

func TestRunUserTaskFile(t *testing.T) {
	t.Parallel()
	file := writeFile(t, t.TempDir(), "tasks.jsonl", userTasks)
	ts, err := tasks.LoadJSONL(file)
	require.NoError(t, err)
	task := ts[3] // the row with a difficulty
	res := runCLI(t, "run", "--task", file, "--index", "3", "--router", "single/gpt-4o/CoT")
	require.Equal(t, 0, res.code, res.stderr)
	n := checkPlan(t, res.stdout, task, "single/gpt-4o/CoT")
	assert.Equal(t, 1, n)
	answer, score := checkTrace(t, res.stdout, n)
	assert.NotEqual(t, "(none)", answer, "the simulator answers a registered user task")
	assert.NotContains(t, res.stdout, "not in my answer key")
	assert.Contains(t, res.stdout, "(gold "+task.Gold+")")
	assert.NotEmpty(t, score)
}
