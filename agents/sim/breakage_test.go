package sim

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/tasks/sandbox"
)

var update = flag.Bool("update", false, "regenerate data/code_breakages.tsv by running every candidate breakage in the sandbox (minutes)")

// codeTasks is every task the breakage table covers: HumanEval and all of MBPP.
func codeTasks(t testing.TB) []*tasks.Task {
	t.Helper()
	var out []*tasks.Task
	for _, bs := range [][2]string{{"humaneval", "test"}, {"mbpp", "prompt"}, {"mbpp", "test"}, {"mbpp", "validation"}, {"mbpp", "train"}} {
		ts, err := tasks.Load(bs[0], bs[1])
		require.NoError(t, err)
		out = append(out, ts...)
	}
	return out
}

// usable reports whether a breakage's result makes it a wrong answer of
// its kind: it fails (not by timing out, which would make every check of it
// slow), and a semantic breakage still compiles.
func usable(kind breakKind, res sandbox.Result) bool {
	switch res.Status {
	case sandbox.StatusFail, sandbox.StatusMemory:
		return true
	case sandbox.StatusError:
		compileErr := strings.HasPrefix(res.Failure, "SyntaxError") || strings.HasPrefix(res.Failure, "IndentationError") || strings.HasPrefix(res.Failure, "TabError")
		return compileErr == (kind == breakSyntax)
	}
	return false
}

// TestCodeBreakages checks data/code_breakages.tsv against the generator
// and the tasks: every code task has wrong answers, every listed variant
// still comes out of the generator with the recorded checksum, and (with
// python3) a sample of them, run again, still fails. With -update it first
// regenerates the file: for each task it tries up to sixteen semantic
// breakages, taking the kinds in turn, until four fail, then one syntax
// error, and keeps those whose hidden tests fail (the syntax error always
// does).
func TestCodeBreakages(t *testing.T) {
	ts := codeTasks(t)
	if *update {
		generateBreakages(t, ts)
	}
	data, err := os.ReadFile(breakagesFile)
	require.NoError(t, err)
	table, err := parseBreakages(data, breakagesFile)
	require.NoError(t, err)
	assert.Len(t, table, len(ts), "one line per code task")
	kinds := map[breakKind]int{}
	var all []struct {
		task *tasks.Task
		b    breakage
	}
	for _, x := range ts {
		bs, err := table.breakagesOf(x)
		require.NoError(t, err)
		require.NotEmpty(t, bs, "%s has no wrong answers", x.ID)
		for _, b := range bs {
			kinds[b.kind]++
			assert.NotEqual(t, codeSum(x.Gold), b.sum, "%s: a breakage equal to the gold", x.ID)
			all = append(all, struct {
				task *tasks.Task
				b    breakage
			}{x, b})
		}
	}
	t.Logf("%d tasks, %d breakages: %v", len(ts), len(all), kinds)
	for _, k := range append(semanticKinds, breakSyntax) {
		assert.Positive(t, kinds[k], "kind %s is used", k)
	}

	r, err := tasks.DefaultRunner()
	if errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
	require.NoError(t, err)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < len(all); i += len(all) / 24 {
		x, b := all[i].task, all[i].b
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.Check(ctx, tasks.CodeProgram(x, b.code, x.Meta[tasks.MetaTest]))
			assert.NoError(t, err)
			assert.False(t, res.Passed(), "%s %s:%d passes its tests", x.ID, b.kind, b.site)
			assert.Equal(t, b.status, string(res.Status), "%s %s:%d: %s", x.ID, b.kind, b.site, res.Failure)
		}()
	}
	wg.Wait()
}

func generateBreakages(t *testing.T, ts []*tasks.Task) {
	r, err := sandbox.New(context.Background(), sandbox.Config{Timeout: 8 * time.Second, CPUTime: 3 * time.Second, MaxParallel: 4, CacheSize: -1})
	require.NoError(t, err)
	version, err := exec.Command(r.Python(), "--version").CombinedOutput()
	require.NoError(t, err)
	lines := make([]string, len(ts))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				lines[i] = breakagesFor(t, r, ts[i])
				mu.Lock()
				done++
				if done%100 == 0 {
					t.Logf("%d/%d tasks", done, len(ts))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range ts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	f, err := os.Create(breakagesFile)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "# Wrong answers of the simulated pool for code tasks: breakages of each task's reference\n")
	fmt.Fprintf(w, "# solution (agents/sim/breakage.go) that fail the task's hidden tests in the sandbox.\n")
	fmt.Fprintf(w, "# Generated with: go test ./agents/sim -run TestCodeBreakages -update (%s, %s).\n", strings.TrimSpace(string(version)), r.Isolation())
	fmt.Fprintf(w, "# A variant that timed out, or a semantic one that no longer compiled, was not kept.\n")
	fmt.Fprintf(w, "# Columns: task id, TAB, variants as kind:site:sha256-prefix:status (how the hidden tests failed).\n")
	for i, x := range ts {
		fmt.Fprintf(w, "%s\t%s\n", x.ID, lines[i])
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
}

// breakagesFor tries the breakages of one task and returns its table line.
func breakagesFor(t *testing.T, r *sandbox.Runner, x *tasks.Task) string {
	ctx := context.Background()
	from := breakFrom(x)
	queues := map[breakKind][]int{}
	for _, k := range semanticKinds {
		n := len(breakSites(x.Gold, from, k))
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		// A deterministic order per task, so the first sites are not
		// always the ones tried.
		slices.SortFunc(order, func(a, b int) int {
			ha, hb := hashOf("break", x.ID, string(k), fmt.Sprint(a)), hashOf("break", x.ID, string(k), fmt.Sprint(b))
			switch {
			case ha < hb:
				return -1
			case ha > hb:
				return 1
			}
			return 0
		})
		queues[k] = order
	}
	var kept []string
	try := func(k breakKind, site int) bool {
		code, ok := variant(x, k, site)
		if !ok || codeSum(code) == codeSum(x.Gold) {
			return false
		}
		res, err := r.Check(ctx, tasks.CodeProgram(x, code, x.Meta[tasks.MetaTest]))
		require.NoError(t, err)
		if !usable(k, res) {
			return false
		}
		kept = append(kept, fmt.Sprintf("%s:%d:%s:%s", k, site, codeSum(code), res.Status))
		return true
	}
	semantic, attempts := 0, 0
	for semantic < 4 && attempts < 16 {
		progress := false
		for _, k := range semanticKinds {
			if len(queues[k]) == 0 || semantic == 4 || attempts == 16 {
				continue
			}
			site := queues[k][0]
			queues[k] = queues[k][1:]
			attempts++
			progress = true
			if try(k, site) {
				semantic++
			}
		}
		if !progress {
			break
		}
	}
	try(breakSyntax, 0)
	return strings.Join(kept, ",")
}

func TestParseBreakagesErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x\n", "f.tsv:1: task_id: want <task id>TAB<variants>"},
		{"a\tcomparison:0:abcd:fail\na\tsyntax:0:abcd:error\n", "f.tsv:2: task_id: a listed twice"},
		{"a\tcomparison:0:abcd\n", `f.tsv:1: variants: "comparison:0:abcd" is not kind:site:sum:status`},
		{"# c\na\tcomparison:x:abcd:fail\n", `f.tsv:2: variants: "comparison:x:abcd:fail": site "x" is not an index`},
		{"a\ttypo:0:abcd:fail\n", `f.tsv:1: variants: "typo:0:abcd:fail": unknown kind "typo"`},
	}
	for _, tc := range tests {
		_, err := parseBreakages([]byte(tc.in), "f.tsv")
		assert.EqualError(t, err, tc.want)
	}
	tb, err := parseBreakages([]byte("# comment\n\na\tcomparison:1:abcd:fail,syntax:0:ef01:error\n"), "f.tsv")
	require.NoError(t, err)
	assert.Equal(t, breakTable{"a": {{kind: breakComparison, site: 1, sum: "abcd", status: "fail"}, {kind: breakSyntax, site: 0, sum: "ef01", status: "error"}}}, tb)
}
