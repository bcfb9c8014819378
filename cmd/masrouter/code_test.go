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

// TestBenchCode runs bench on HumanEval and MBPP: pass@1 comes from running
// every final answer's program against the task's tests.
func TestBenchCode(t *testing.T) {
	if _, err := tasks.DefaultRunner(); errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
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
