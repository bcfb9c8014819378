package main

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/tasks/sandbox"
)

// skipWithoutPython skips t when the code sandbox has no python3.
func skipWithoutPython(t *testing.T) {
	t.Helper()
	if _, err := tasks.DefaultRunner(); errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
}

// TestBenchCode runs bench on HumanEval and MBPP: pass@1 comes from running
// every final answer's program against the task's tests.
func TestBenchCode(t *testing.T) {
	skipWithoutPython(t)
	t.Parallel()
	for _, task := range []string{"humaneval", "mbpp"} {
		t.Run(task, func(t *testing.T) {
			dir := parallelDir(t)
			out := filepath.Join(dir, "r.json")
			const n = 6
			res := runCLI(t, "bench", "--task", task, "--n", strconv.Itoa(n), "--seed", "2", "--out", out,
				"--methods", "masrouter,static-delegation,single/gemini-1.5-flash/IO,single/gpt-4o/CoT")
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stdout, task+"/test: 6 questions, seed 2")
			header := ""
			for _, l := range strings.Split(res.stdout, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "method") {
					header = l
				}
			}
			assert.Contains(t, header, "pass@1")
			rep, _ := readReport(t, out)
			require.Len(t, rep.Results, 4)
			for _, r := range rep.Results {
				checkResult(t, r, n)
				assert.Equal(t, map[string]int{}, filterDomains(r.Roles), r.Method)
			}
			checkTable(t, res.stdout, rep.Results)
			static := rep.Results[1]
			require.Equal(t, "static-delegation", static.Method)
			// The chain stops once the code passes the visible tests.
			assert.LessOrEqual(t, static.MeanAgents, 4.0)
		})
	}
}

// TestTrainCode trains online on HumanEval and MBPP (on the training part
// of the test split) and evaluates the policy on held-out problems: every
// sampled plan runs, code is judged in the sandbox, and the checkpoint
// records the code task.
func TestTrainCode(t *testing.T) {
	skipWithoutPython(t)
	t.Parallel()
	for _, task := range []string{"humaneval", "mbpp"} {
		t.Run(task, func(t *testing.T) {
			dir := parallelDir(t)
			policy := filepath.Join(dir, "p.json")
			res := runCLI(t, "train", "--task", task, "--online", "--n", "8", "--epochs", "2", "--batch", "4", "--lambda", "50", "--out", policy)
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stdout, "online training on 8 tasks of "+task+"/test, λ=50, 2 epochs, 4 samples per task")
			cp := readCheckpoint(t, policy)
			assert.Equal(t, task, cp.Training.Task)
			assert.Equal(t, 8, cp.Training.TrainTasks)
			for i, line := range checkEpochs(t, res.stdout, cp) {
				assert.Empty(t, line, "epoch %d", i+1)
				h := cp.Training.History[i]
				assert.Equal(t, 8*4, h.N, "epoch %d runs every task's samples", i+1)
				assert.Zero(t, h.Failed, "epoch %d", i+1)
				assert.Positive(t, h.DollarsPerQuery, "epoch %d", i+1)
			}

			out := filepath.Join(dir, "r.json")
			res = runCLI(t, "eval", "--policy", policy, "--n", "5", "--methods", "masrouter,static-delegation", "--out", out)
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			assert.Contains(t, res.stdout, task+"/test held-out part (5 questions; test fraction 0.8, split seed 1), policy "+policy)
			assert.Contains(t, res.stdout, "masrouter: ")
		})
	}
}

// filterDomains keeps the roles that are not code roles: none should be.
func filterDomains(rs map[string]int) map[string]int {
	code := map[string]bool{
		"Project Manager": true, "Algorithm Designer": true, "Programming Expert": true, "String Processing Specialist": true,
		"Data Structures Specialist": true, "Math Programmer": true, "Dynamic Programming Expert": true, "Test Analyst": true,
		"Bug Fixer": true, "Code Reviewer": true,
	}
	out := map[string]int{}
	for r, n := range rs {
		if !code[r] {
			out[r] = n
		}
	}
	return out
}
