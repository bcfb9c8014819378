package tasks

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks/sandbox"
)

// needPython skips a test when python3 is missing.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := DefaultRunner(); errors.Is(err, sandbox.ErrNoPython) {
		t.Skipf("python3 is not installed: %v", err)
	}
}

func TestHumanEvalRows(t *testing.T) {
	ts, err := Load("humaneval", "test")
	require.NoError(t, err)
	require.Len(t, ts, 164)
	first := ts[0]
	assert.Equal(t, "humaneval/test/0", first.ID)
	assert.Equal(t, "humaneval", first.Benchmark)
	assert.Equal(t, DomainCode, first.Domain)
	assert.True(t, strings.HasPrefix(first.Query, "from typing import List\n\n\ndef has_close_elements("), first.Query)
	assert.Equal(t, first.Query+"    for idx, elem in enumerate(numbers):\n", first.Gold[:len(first.Query)+len("    for idx, elem in enumerate(numbers):\n")])
	assert.Equal(t, "has_close_elements", first.Meta[MetaEntryPoint])
	assert.Equal(t, first.Query, first.Meta[MetaPrompt])
	assert.True(t, strings.HasSuffix(first.Meta[MetaTest], "\n\n\ncheck(has_close_elements)\n"))
	assert.Contains(t, first.Meta[MetaTest], "def check(candidate):")
	assert.Equal(t, "assert has_close_elements([1.0, 2.0, 3.0], 0.5) == False\nassert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3) == True", first.Meta[MetaVisibleTests])
	assert.Equal(t, "code", first.Scorer.Name())
	assert.Equal(t, "humaneval/test/163", ts[163].ID)

	withVisible := 0
	for _, x := range ts {
		if x.Meta[MetaVisibleTests] != "" {
			withVisible++
		}
		assert.Equal(t, x.Query, x.Gold[:len(x.Query)], x.ID)
	}
	assert.Equal(t, 154, withVisible, "tasks whose docstring examples give visible tests")
}

func TestMBPPRows(t *testing.T) {
	sizes := map[string]int{"prompt": 10, "test": 500, "validation": 90, "train": 374}
	first := map[string]string{"prompt": "mbpp/prompt/1", "test": "mbpp/test/11", "validation": "mbpp/validation/511", "train": "mbpp/train/601"}
	last := map[string]string{"prompt": "mbpp/prompt/10", "test": "mbpp/test/510", "validation": "mbpp/validation/600", "train": "mbpp/train/974"}
	for split, n := range sizes {
		ts, err := Load("mbpp", split)
		require.NoError(t, err)
		assert.Len(t, ts, n, split)
		assert.Equal(t, first[split], ts[0].ID)
		assert.Equal(t, last[split], ts[len(ts)-1].ID)
		for _, x := range ts {
			assert.Equal(t, split, MBPPSplit(atoi(t, x.Meta["task_id"])), x.ID)
			assert.NotContains(t, x.Gold, "\r", x.ID)
			assert.Equal(t, x.Meta[MetaVisibleTests]+"\n", x.Meta[MetaTest], "MBPP scores the tests it shows: %s", x.ID)
			assert.Len(t, strings.Split(x.Meta[MetaVisibleTests], "\n"), 3, x.ID)
			assert.Contains(t, x.Query, "`"+x.Meta[MetaEntryPoint]+"`", x.ID)
			assert.True(t, definesFunc(x.Gold, x.Meta[MetaEntryPoint]), x.ID)
		}
	}
	ts, err := Load("mbpp", "prompt")
	require.NoError(t, err)
	one := ts[0]
	assert.Equal(t, "min_cost", one.Meta[MetaEntryPoint])
	assert.Equal(t, "**Task**: Write a function to find the minimum cost path to reach (m, n) from (0, 0) for the given cost matrix cost[][] and a position (m, n) in cost[][].\n"+
		"Write a Python function named `min_cost`.\nYour code should pass these tests:\n```python\n"+
		"assert min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2) == 8\nassert min_cost([[2, 3, 4], [5, 9, 3], [2, 6, 4]], 2, 2) == 12\nassert min_cost([[3, 4, 5], [6, 10, 4], [3, 7, 5]], 2, 2) == 16\n```", one.Query)
	assert.True(t, strings.HasPrefix(one.Gold, "R = 3\nC = 3\ndef min_cost(cost, m, n): \n\ttc = "), one.Gold)

	// The two problems with test setup code, and one whose first assert
	// wraps the call in int().
	train, err := Load("mbpp", "train")
	require.NoError(t, err)
	test, err := Load("mbpp", "test")
	require.NoError(t, err)
	byID := map[string]*Task{}
	for _, x := range append(test, train...) {
		byID[x.ID] = x
	}
	assert.True(t, strings.HasPrefix(byID["mbpp/test/367"].Meta[MetaTestSetup], "root = Node(1) \nroot.left = Node(2)"))
	assert.NotEmpty(t, byID["mbpp/train/927"].Meta[MetaTestSetup])
	assert.Equal(t, "lobb_num", byID["mbpp/train/912"].Meta[MetaEntryPoint])
	challenged := 0
	for _, x := range byID {
		if x.Meta["challenge_tests"] != "" {
			challenged++
		}
	}
	assert.Positive(t, challenged)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + int(c-'0')
	}
	return n
}

// TestCodeGoldsPass runs the reference solution of a spread of HumanEval
// and MBPP problems, as a model would return it (in a fence), through the
// real scorer: the hidden tests pass, and so do the visible ones. (The
// simulator's test data covers every problem; see agents/sim.)
func TestCodeGoldsPass(t *testing.T) {
	needPython(t)
	var sample []*Task
	he, err := Load("humaneval", "test")
	require.NoError(t, err)
	for i := 0; i < len(he); i += 8 {
		sample = append(sample, he[i])
	}
	for _, split := range []string{"test", "train"} {
		mb, err := Load("mbpp", split)
		require.NoError(t, err)
		for i := 0; i < len(mb); i += 25 {
			sample = append(sample, mb[i])
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, x := range sample {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply := "Here is my solution.\n\n```python\n" + x.Gold + "\n```\n"
			s, err := Score(ctx, x, reply)
			assert.NoError(t, err)
			assert.Equal(t, 1.0, s, "%s: the reference solution fails its tests", x.ID)
			if x.Meta[MetaVisibleTests] != "" {
				passed, note, err := x.Scorer.(Feedbacker).Feedback(ctx, x, reply)
				assert.NoError(t, err)
				assert.True(t, passed, "%s: %s", x.ID, note)
				assert.Equal(t, "all visible tests pass", note)
			}
		}()
	}
	wg.Wait()
}

// TestHumanEvalErrata checks the docstring examples left out of the visible
// tests (the canonical solution fails each of them) and that the canonical
// solution of every problem passes all its visible tests.
func TestHumanEvalErrata(t *testing.T) {
	needPython(t)
	ts, err := Load("humaneval", "test")
	require.NoError(t, err)
	r, err := DefaultRunner()
	require.NoError(t, err)
	ctx := context.Background()
	for _, x := range ts {
		t.Run(x.ID, func(t *testing.T) {
			t.Parallel()
			all := DocstringTests(x.Query, x.Meta[MetaEntryPoint])
			for _, b := range humanEvalErrata[x.Meta["task_id"]] {
				assert.Contains(t, all, b, "errata entry no longer produced")
				res, err := r.Check(ctx, CodeProgram(x, x.Gold, b))
				require.NoError(t, err)
				assert.False(t, res.Passed(), "%s passes: drop it from the errata", b)
				assert.NotContains(t, x.Meta[MetaVisibleTests], b)
			}
			if v := x.Meta[MetaVisibleTests]; v != "" {
				res, err := r.Check(ctx, CodeProgram(x, x.Gold, v))
				require.NoError(t, err)
				assert.True(t, res.Passed(), "%s\n%s", res.Failure, v)
			}
		})
	}
}

func TestCodeScorer(t *testing.T) {
	needPython(t)
	task := &Task{
		ID: "demo/1", Benchmark: "demo", Domain: DomainCode, Query: "Write add(a, b).", Gold: "def add(a, b):\n    return a + b\n",
		Scorer: NewCodeScorer("add", "", nil),
		Meta: map[string]string{
			MetaEntryPoint:   "add",
			MetaTest:         "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(10, 5) == 15\n",
			MetaVisibleTests: "assert add(1, 2) == 3",
		},
	}
	ctx := context.Background()
	tests := []struct {
		name          string
		reply         string
		score         float64
		visiblePassed bool
		note          string
	}{
		{"correct", "```python\ndef add(a, b):\n    return a + b\n```", 1, true, "all visible tests pass"},
		{"passes the visible test only", "```python\ndef add(a, b):\n    return 3\n```", 0, true, "all visible tests pass"},
		{"wrong operator", "```python\ndef add(a, b):\n    return a - b\n```", 0, false, "assert add(1, 2) == 3 (got -1)"},
		{"syntax error", "```python\ndef add(a, b)\n    return a + b\n```", 0, false, "SyntaxError: expected ':' (candidate line 1)"},
		{"no code", "I cannot do this.", 0, false, "no Python code found in the reply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Score(ctx, task, tc.reply)
			require.NoError(t, err)
			assert.Equal(t, tc.score, s)
			passed, note, err := task.Scorer.(Feedbacker).Feedback(ctx, task, tc.reply)
			require.NoError(t, err)
			assert.Equal(t, tc.visiblePassed, passed)
			assert.Equal(t, tc.note, note)
		})
	}

	// The registered "code" scorer reads the entry point from Meta.
	generic, err := ScorerByName("code")
	require.NoError(t, err)
	task.Scorer = generic
	s, err := Score(ctx, task, tests[0].reply)
	require.NoError(t, err)
	assert.Equal(t, 1.0, s)

	// No visible tests: no feedback, no error.
	noVisible := *task
	noVisible.Meta = map[string]string{MetaEntryPoint: "add", MetaTest: task.Meta[MetaTest]}
	passed, note, err := generic.(Feedbacker).Feedback(ctx, &noVisible, tests[0].reply)
	require.NoError(t, err)
	assert.False(t, passed)
	assert.Empty(t, note)

	// No hidden tests is an error naming the task and the field.
	noTest := *task
	noTest.Meta = map[string]string{MetaEntryPoint: "add"}
	_, err = Score(ctx, &noTest, tests[0].reply)
	assert.ErrorContains(t, err, `task demo/1: meta "test": empty`)
}

// TestCodeScorerCompletion scores a HumanEval completion that continues the
// prompt rather than repeating it, and a full function that leaves out the
// prompt's imports and helpers.
func TestCodeScorerCompletion(t *testing.T) {
	needPython(t)
	ts, err := Load("humaneval", "test")
	require.NoError(t, err)
	ctx := context.Background()
	byID := map[string]*Task{}
	for _, x := range ts {
		byID[x.ID] = x
	}
	first := byID["humaneval/test/0"]
	body := strings.TrimPrefix(first.Gold, first.Query)
	for name, reply := range map[string]string{
		"indented body":                         body,
		"fenced body":                           "```python\n" + body + "```",
		"body whose first line lost its indent": strings.TrimPrefix(body, "    "),
	} {
		s, err := Score(ctx, first, reply)
		require.NoError(t, err)
		assert.Equal(t, 1.0, s, name)
	}
	// HumanEval/10 defines is_palindrome in its prompt; a reply with only
	// make_palindrome still runs, because the prompt's helpers come first.
	ten := byID["humaneval/test/10"]
	fn := ten.Gold[strings.Index(ten.Gold, "def make_palindrome"):]
	s, err := Score(ctx, ten, "```python\n"+fn+"```")
	require.NoError(t, err)
	assert.Equal(t, 1.0, s)
}

func TestDocstringTests(t *testing.T) {
	tests := []struct {
		name, prompt, entry string
		want                []string
	}{
		{"doctest", "def f(x):\n    \"\"\"Doc.\n    >>> f(1)\n    2\n    >>> f([1,\n    ...    2])\n    [2, 3]\n    \"\"\"\n", "f",
			[]string{"assert f(1) == 2", "assert f([1, 2]) == [2, 3]"}},
		{"doctest returning None", "def f(x):\n    \"\"\"\n    >>> f([])\n\n    >>> f(['a'])\n    'a'\n    \"\"\"\n", "f",
			[]string{"assert f([]) is None", "assert f(['a']) == 'a'"}},
		{"doctest that is a comparison", "def h(t):\n    \"\"\"\n    >>> h('x') == 'abc'\n    \"\"\"\n", "h", []string{"assert h('x') == 'abc'"}},
		{"doctest with a comment", "def z(xs):\n    \"\"\"\n    >>> round(z([1, 2]), 2) # f(x) = 1 + 2x\n    -0.5\n    \"\"\"\n", "z", []string{"assert round(z([1, 2]), 2) == -0.5"}},
		{"doctest with a boolean expression", "def p(x):\n    \"\"\"\n    >>> p(1) and p(2)\n    True\n    \"\"\"\n", "p", []string{"assert (p(1) and p(2)) == True"}},
		{"doctest output that is not a literal", "def s(x):\n    \"\"\"\n    >>> s(1)\n    hello world\n    \"\"\"\n", "s", nil},
		{"arrows", "def f(a, b):\n    '''\n    f([1, 2], 5) ➞ False\n    f(3, 4) ==> True\n    f(1, 1)==>True\n    f(2, 2) => \"YES\"\n    f(0, 0) -> 0\n    '''\n", "f",
			[]string{"assert f([1, 2], 5) == False", "assert f(3, 4) == True", "assert f(1, 1) == True", `assert f(2, 2) == "YES"`, "assert f(0, 0) == 0"}},
		{"words", "def g(s):\n    \"\"\"\n    g('Hi') returns 'Hi'\n    g({\"a\": 1}) should return True.\n    g(15)   # returns \"db1111db\"\n    for g(7) == 34\n    g(3) = 14\n    \"\"\"\n", "g",
			[]string{"assert g('Hi') == 'Hi'", `assert g({"a": 1}) == True`, `assert g(15) == "db1111db"`, "assert g(7) == 34", "assert g(3) == 14"}},
		{"lower-case booleans", "def q(x, n):\n    \"\"\"\n    q(1, 4) => true\n    q(3, 2) => false\n    \"\"\"\n", "q", []string{"assert q(1, 4) == True", "assert q(3, 2) == False"}},
		{"a call over several lines", "def r(m, x):\n    \"\"\"\n    r([\n      [1, 2],\n      [3, 4]\n    ], 1) == [(0, 0)]\n    r([], 1) == []\n    \"\"\"\n", "r",
			[]string{"assert r([ [1, 2], [3, 4] ], 1) == [(0, 0)]", "assert r([], 1) == []"}},
		{"results that are not literals are dropped", "def d(l):\n    '''\n    d([1, 3, 2, 0]) == 1 + 9 + 0 + 0 = 10\n    d(\"5 apples\", 19) ->19 - 5 - 6 = 8\n    d(a) => False\n    d([0]) == 0\n    '''\n", "d",
			[]string{"assert d([0]) == 0"}},
		{"prose that names the function", "def n(l):\n    \"\"\"\n    Write a function n() that returns the 2nd smallest element.\n    n([1, 2]) == 2\n    \"\"\"\n", "n", []string{"assert n([1, 2]) == 2"}},
		{"another function's name is not a call", "def check_x(a):\n    \"\"\"\n    check_x_2(1) == 2\n    xcheck_x(1) == 2\n    \"\"\"\n", "check_x", nil},
		{"no examples", "def e(n):\n    \"\"\"Return n.\"\"\"\n", "e", nil},
		{"for ... the output should be", "def s(lst, k=1, z=0):\n    \"\"\"\n    For lst = [1,2,3], k = 2 the output should be 14\n    For lst = [],  k = 0  the output should be 0.\n    For k = 3, lst = 'a', the result should be ('a',False)\n    For N = 5, the sum is 5 the output should be \"101\".\n    \"\"\"\n", "s",
			[]string{"assert s([1,2,3], 2) == 14", "assert s([], 0) == 0", "assert s('a', 3) == ('a',False)"}},
		{"a name given twice", "def s(lst, k=1):\n    \"\"\"\n    For lst = [1], lst = [2] the output should be 3\n    \"\"\"\n", "s", nil},
		{"keywords when the names skip a parameter", "def s(lst, k=1, z=0):\n    \"\"\"\n    For lst = [1], z = 2 the output should be 3\n    \"\"\"\n", "s",
			[]string{"assert s(lst=[1], z=2) == 3"}},
		{"input and output", "def m(grid: list[list[int]], capacity):\n    \"\"\"\n    Example 1:\n        Input: grid = [[1, 2], [3]], capacity = 1\n        Output: [2, 1] # explanation\n    Example 2:\n        Input:\n            grid : [[0,1]]\n            bucket_capacity : 2\n        Output:\n            5\n    Example 3:\n        Input: [1]\n        Output: 1\n        Input: grid = x, capacity = 1\n        Output: 1\n        Input: grid = [1]\n\n        Output: 1\n    \"\"\"\n", "m",
			[]string{"assert m([[1, 2], [3]], 1) == [2, 1]", "assert m([[0,1]], 2) == 5"}},
		{"a single literal input", "def p(arr):\n    \"\"\"\n        Input: [4,2,3]\n        Output: [2, 1]\n        Input: \"a, b\"\n        Output: 'x'.\n        Input: 3\n        Output: the answer\n    \"\"\"\n", "p",
			[]string{"assert p([4,2,3]) == [2, 1]", `assert p("a, b") == 'x'`}},
		{"a stale name for the only function", "from math import floor\ndef g(xs):\n    \"\"\"\n    Example:\n    grade([1]) ==> ['A']\n    assert list_sort([\"a\"]) => [\"a\"]\n    other(3) == 3\n    len(g([1])) -> 1\n    floor(g([2])) -> 2\n    \"\"\"\n", "g",
			[]string{"assert g([1]) == ['A']", `assert g(["a"]) == ["a"]`}},
		{"no renaming beside another function", "def h(s):\n    return s\n\ndef g(s):\n    \"\"\"\n    h('a') => 'a'\n    \"\"\"\n", "g", nil},
		{"examples need the signature", "def q(*args):\n    \"\"\"\n    For x = 1 the output should be 2\n    \"\"\"\n", "q", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DocstringTests(tc.prompt, tc.entry))
		})
	}
}

func TestIsPyLiteral(t *testing.T) {
	for _, s := range []string{"1", "-0.5", "1e-3", "'a'", `"b\"c"`, "[1, 2]", "(1,)", "{'a': [1, (2, 3)]}", "True", "None", "[]", "{}", "('a', 'b')", "b'x'", "3j"} {
		assert.True(t, isPyLiteral(s), s)
	}
	for _, s := range []string{"", "a", "1 + 2", "[1, 2", "x = 1", "true", "'open", "f(1)", "19 - 5 = 8"} {
		assert.False(t, isPyLiteral(s), s)
	}
}

func TestParseCodeErrors(t *testing.T) {
	he := `{"task_id": "HumanEval/0", "prompt": "def f(x):\n    \"\"\"Doc.\"\"\"\n", "entry_point": "f", "canonical_solution": "    return x\n", "test": "def check(candidate):\n    assert candidate(1) == 1\n"}`
	mb := `{"text": "Return x.", "code": "def f(x):\r\n  return x", "task_id": 11, "test_setup_code": "", "test_list": ["assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"], "challenge_test_list": []}`
	heTests := []struct {
		name, in string
		want     []string
	}{
		{"good", he, nil},
		{"unknown field", strings.Replace(he, `"test":`, `"tests": "", "test":`, 1), []string{"f.jsonl:1: tests: unknown field"}},
		{"missing entry point", strings.Replace(he, `"entry_point": "f", `, "", 1), []string{"f.jsonl:1: entry_point: missing"}},
		{"entry point not an identifier", strings.Replace(he, `"entry_point": "f"`, `"entry_point": "f x"`, 1), []string{`f.jsonl:1: entry_point: "f x" is not a Python identifier`}},
		{"prompt without the entry point", strings.Replace(he, `"entry_point": "f"`, `"entry_point": "g"`, 1), []string{"f.jsonl:1: prompt: does not define the entry point g"}},
		{"test without check", strings.Replace(he, `def check(candidate)`, `def verify(candidate)`, 1), []string{"f.jsonl:1: test: defines no check(candidate) function"}},
		{"prompt not a string", strings.Replace(he, `"prompt": "def f(x):\n    \"\"\"Doc.\"\"\"\n"`, `"prompt": 3`, 1), []string{"f.jsonl:1: prompt: want a string, got a number"}},
		{"duplicate id", he + "\n\n" + he, []string{`f.jsonl:3: task_id: "HumanEval/0" already used on line 1`}},
		{"bad json", he + "\n{", []string{"f.jsonl:2: json:"}},
	}
	for _, tc := range heTests {
		t.Run("humaneval/"+tc.name, func(t *testing.T) {
			ts, err := ParseHumanEval(strings.NewReader(tc.in), "f.jsonl")
			if tc.want == nil {
				require.NoError(t, err)
				require.Len(t, ts, 1)
				assert.Equal(t, "humaneval/test/0", ts[0].ID)
				assert.Equal(t, "def f(x):\n    \"\"\"Doc.\"\"\"\n    return x\n", ts[0].Gold)
				return
			}
			require.Error(t, err)
			assert.Nil(t, ts)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	mbTests := []struct {
		name, in, split string
		want            []string
	}{
		{"good", mb, "test", nil},
		{"other split", mb, "train", []string{"f.jsonl: no tasks in split train (task_id 601-974)"}},
		{"unknown split", mb, "dev", []string{`MBPP has no split "dev"`}},
		{"task_id not an integer", strings.Replace(mb, `"task_id": 11`, `"task_id": "11"`, 1), "test", []string{"f.jsonl:1: task_id: want an integer, got a string"}},
		{"test_list not strings", strings.Replace(mb, `"test_list": [`, `"test_list": [1, `, 1), "test", []string{"f.jsonl:1: test_list: want an array of strings, got an array"}},
		{"test_list empty", strings.Replace(mb, `["assert f(1) == 1", "assert f(2) == 2", "assert f(3) == 3"]`, `[]`, 1), "test", []string{"f.jsonl:1: test_list: empty"}},
		{"test not an assert", strings.Replace(mb, `"assert f(2) == 2"`, `"print(f(2))"`, 1), "test", []string{"f.jsonl:1: test_list: entry 2 is not a one-line assert"}},
		{"no function called", strings.Replace(mb, `"assert f(1) == 1"`, `"assert g(1) == 1"`, 1), "test", []string{"f.jsonl:1: test_list: the first assert calls no function the code defines"}},
		{"missing code", strings.Replace(mb, `"code": "def f(x):\r\n  return x", `, "", 1), "test", []string{"f.jsonl:1: code: missing"}},
		{"duplicate id", mb + "\n" + mb, "test", []string{"f.jsonl:2: task_id: 11 already used on line 1"}},
	}
	for _, tc := range mbTests {
		t.Run("mbpp/"+tc.name, func(t *testing.T) {
			ts, err := ParseMBPP(strings.NewReader(tc.in), "f.jsonl", tc.split)
			if tc.want == nil {
				require.NoError(t, err)
				require.Len(t, ts, 1)
				assert.Equal(t, "mbpp/test/11", ts[0].ID)
				assert.Equal(t, "def f(x):\n  return x", ts[0].Gold)
				assert.Equal(t, "f", ts[0].Meta[MetaEntryPoint])
				return
			}
			require.Error(t, err)
			assert.Nil(t, ts)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func FuzzParseHumanEval(f *testing.F) {
	f.Add([]byte(`{"task_id": "HumanEval/0", "prompt": "def f(x):\n    \"\"\"\n    >>> f(1)\n    1\n    \"\"\"\n", "entry_point": "f", "canonical_solution": "    return x\n", "test": "def check(candidate):\n    pass\n"}`))
	f.Add([]byte(`{"task_id": "a", "prompt": "def g(", "entry_point": "g", "canonical_solution": "x", "test": "def check("}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := ParseHumanEval(bytes.NewReader(in), "f.jsonl")
		checkParsed(t, ts, err)
		for _, x := range ts {
			if x.Meta[MetaEntryPoint] == "" || x.Meta[MetaTest] == "" {
				t.Fatalf("task %s lacks its entry point or tests", x.ID)
			}
		}
	})
}

func FuzzParseMBPP(f *testing.F) {
	f.Add([]byte(`{"text": "t", "code": "def f(x):\n  return x", "task_id": 11, "test_setup_code": "", "test_list": ["assert f(1) == 1"], "challenge_test_list": []}`))
	f.Add([]byte(`{"text": "t", "code": "def f(", "task_id": 600, "test_list": ["assert int(f(1))"]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, split := range []string{"test", "validation"} {
			ts, err := ParseMBPP(bytes.NewReader(in), "f.jsonl", split)
			checkParsed(t, ts, err)
		}
	})
}

func FuzzDocstringTests(f *testing.F) {
	f.Add(heIncrPrompt, "incr_list")
	f.Add("def f(x):\n    '''\n    f([1, [2]) => 'a\n    >>> f(\n    '''", "f")
	f.Fuzz(func(t *testing.T, prompt, entry string) {
		for _, a := range DocstringTests(prompt, entry) {
			if !strings.HasPrefix(a, "assert ") || strings.Contains(a, "\n") {
				t.Fatalf("not a one-line assert: %q", a)
			}
		}
	})
}
