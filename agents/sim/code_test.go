package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/tasks/sandbox"
)

var (
	codeWorldsMu sync.Mutex
	codeWorlds   = map[int64]*World{}
)

// testCodeWorld is a world that indexes HumanEval and MBPP, shared per seed.
func testCodeWorld(t testing.TB, seed int64) *World {
	t.Helper()
	codeWorldsMu.Lock()
	defer codeWorldsMu.Unlock()
	if w, ok := codeWorlds[seed]; ok {
		return w
	}
	w, err := NewWorld(Config{Seed: seed, Benchmarks: []string{"humaneval", "mbpp"}})
	require.NoError(t, err)
	codeWorlds[seed] = w
	return w
}

func needPython(t testing.TB) {
	t.Helper()
	if _, err := tasks.DefaultRunner(); errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
}

// TestCodeRepliesScoreAsDrawn renders replies for a spread of HumanEval and
// MBPP problems at every step and runs them through the real scorer: a
// reply passes the hidden tests exactly when the simulator drew a correct
// answer, and a wrong one is one of the task's verified breakages.
func TestCodeRepliesScoreAsDrawn(t *testing.T) {
	needPython(t)
	w := testCodeWorld(t, 5)
	ctx := context.Background()
	for _, bench := range []string{"humaneval", "mbpp"} {
		ts := w.CalibrationTasks(bench)
		role := firstSolver(t, w.roles, tasks.DomainCode)
		for _, step := range []agents.Step{agents.StepAnswer, agents.StepReason, agents.StepPlan, agents.StepDecide} {
			t.Run(bench+"/"+string(step), func(t *testing.T) {
				var wg sync.WaitGroup
				var right, wrong int
				defer func() {
					assert.True(t, right > 0 && wrong > 0, "a mix of right (%d) and wrong (%d) replies", right, wrong)
				}()
				for i := 0; i < 24; i++ {
					task := ts[(i*7919)%len(ts)]
					e := w.byQuery[strings.TrimSpace(task.Query)]
					require.NotNil(t, e, "task %s is indexed", task.ID)
					require.NotNil(t, e.code, "task %s has code answers", task.ID)
					user := agents.UserPrompt(agents.Request{Step: step, Query: task.Query})
					p := parsePrompt(agents.SystemPrompt(role), user)
					require.Equal(t, fmtCode, p.format)
					// Weak model, odd keys: a mix of right and wrong.
					o := w.decide(ctx, "gemini-1.5-flash", e, p, hashOf("draw", task.ID, string(step)))
					text := render(e, p, o)
					if o.correct {
						right++
					} else {
						wrong++
					}
					assert.True(t, strings.HasSuffix(text, "```"), text)
					got, ok := task.Scorer.Extract(text)
					require.True(t, ok, text)
					if o.correct {
						assert.Equal(t, e.code.goldSum, codeSum(got))
					} else {
						assert.True(t, e.code.wrongOf[codeSum(got)], "%s: a wrong reply is a verified breakage", task.ID)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						s, err := tasks.Score(ctx, task, text)
						assert.NoError(t, err)
						assert.Equal(t, o.correct, s == 1, "task %s reply %q", task.ID, text)
					}()
				}
				wg.Wait()
			})
		}
	}
}

// TestCodeFixerReadsFeedback measures that a fixer reading a wrong reply
// marked "[visible tests] failed" gets the code right more often than one
// reading the same reply unmarked, and is misled less than a solver.
func TestCodeFixerReadsFeedback(t *testing.T) {
	w := testCodeWorld(t, 3)
	reg := w.roles
	fixer, err := reg.Get(tasks.DomainCode, "Bug Fixer")
	require.NoError(t, err)
	require.Equal(t, roles.KindCritic, fixer.Kind)
	ts := w.CalibrationTasks("mbpp")
	ctx := context.Background()
	accuracy := func(marked bool) float64 {
		var right int
		for _, task := range ts {
			e := w.byQuery[strings.TrimSpace(task.Query)]
			content := fence(e.code.wrong[0])
			if marked {
				content += "\n\n[visible tests] failed: " + strings.SplitN(task.Meta[tasks.MetaVisibleTests], "\n", 2)[0]
			}
			user := agents.UserPrompt(agents.Request{Step: agents.StepCollaborate, Query: task.Query, Inputs: []agents.Message{{From: "a0", Role: "Algorithm Designer", Content: content}}})
			p := parsePrompt(agents.SystemPrompt(fixer), user)
			require.Len(t, p.replies, 1)
			o := w.decide(ctx, "llama-3.1-8b", e, p, hashOf("fix", task.ID))
			if o.correct {
				right++
			}
			if marked {
				assert.Contains(t, render(e, p, o), "the visible tests report a failure")
			}
		}
		return float64(right) / float64(len(ts))
	}
	plain, marked := accuracy(false), accuracy(true)
	t.Logf("fixer after a wrong reply: unmarked %.3f, marked as failing %.3f", plain, marked)
	assert.Greater(t, marked, plain+0.03)
}

func TestBreakagesOfMismatch(t *testing.T) {
	w := testCodeWorld(t, 1)
	task := w.CalibrationTasks("mbpp")[0]
	table := breakTable{task.ID: {{kind: breakSyntax, site: 0, sum: "00000000", status: "error"}}}
	_, err := table.breakagesOf(task)
	assert.ErrorContains(t, err, "no longer matches the generator")
	assert.ErrorContains(t, err, "go test ./agents/sim -run TestCodeBreakages -update")

	// A code task the table does not list answers wrong with a syntax error.
	sc, err := tasks.ScorerByName("code")
	require.NoError(t, err)
	mine := &tasks.Task{ID: "mine/1", Benchmark: "mine", Domain: tasks.DomainCode, Scorer: sc, Query: "Write double(x).",
		Gold: "def double(x):\n    return 2 * x\n", Meta: map[string]string{tasks.MetaEntryPoint: "double", tasks.MetaTest: "assert double(2) == 4\n"}}
	uw, err := NewWorld(Config{Seed: 1, Benchmarks: []string{"gsm8k"}, Tasks: []*tasks.Task{mine}})
	require.NoError(t, err)
	e := uw.byQuery[mine.Query]
	require.NotNil(t, e.code)
	assert.Equal(t, []string{"def double(x)\n    return 2 * x\n"}, e.wrongAnswers())
}

func TestBreakSites(t *testing.T) {
	code := "def f(xs, n):\n    \"\"\"Count < items; s = 'a+b' # not code.\"\"\"\n    if not xs:\n        return 0\n    total = 0\n    for i in range(n):\n        if xs[i] >= 2 and xs[i] != -1:\n            total += xs[i] * 2 - 1\n    return total // 2  # halve: a < b\n"
	apply := func(kind breakKind) []string {
		var out []string
		for _, e := range breakSites(code, 0, kind) {
			out = append(out, fmt.Sprintf("%q->%q", code[e.start:e.end], e.text))
		}
		return out
	}
	assert.Equal(t, []string{`">="->">"`, `"!="->"=="`}, apply(breakComparison))
	assert.Equal(t, []string{`"+="->"-="`, `"*"->"+"`, `"-"->"+"`, `"//"->"/"`}, apply(breakArithmetic))
	assert.Equal(t, []string{`"0"->"1"`, `"0"->"1"`, `"n"->"n + 1"`, `"2"->"3"`, `"1"->"2"`, `"2"->"3"`, `"1"->"2"`, `"2"->"3"`}, apply(breakOffByOne))
	assert.Equal(t, []string{`"    if not xs:\n        return 0\n"->""`}, apply(breakEdgeCase))
	assert.Equal(t, []string{`":"->""`}, apply(breakSyntax))
	assert.Equal(t, "    if not xs\n", strings.Split(breakSites(code, 0, breakSyntax)[0].apply(code), "\n")[2]+"\n")
	assert.Equal(t, []string{`"not "->""`, `"and"->"or"`}, apply(breakLogic))
	assert.Empty(t, apply(breakFormat))

	code = "def g(words, key):\n    found = [w for w in words if key in w and not w.startswith('_')]\n    if key not in found:\n        return 'No match'\n    return tuple(sorted(found)), max(found), True\n"
	assert.Equal(t, []string{`"in"->"not in"`, `"and"->"or"`, `"not "->""`, `"startswith"->"endswith"`, `"not in"->"in"`, `"max"->"min"`, `"True"->"False"`}, apply(breakLogic))
	assert.Equal(t, []string{`"N"->"n"`, `"tuple"->"list"`, `"sorted"->"list"`}, apply(breakFormat))
	// A one-line solution with no opener and no parenthesis still gets a
	// syntax error, an unmatched one.
	one := "def h(x):\n    return x % 1.0\n"
	e := breakSites(one, len("def h(x):\n"), breakSyntax)
	require.Len(t, e, 1)
	assert.Equal(t, "def h(x):\n    return x % 1.0)\n", e[0].apply(one))
}
