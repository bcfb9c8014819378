package tasks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// heIncrPrompt is HumanEval/42's prompt.
const heIncrPrompt = "\n\ndef incr_list(l: list):\n    \"\"\"Return list with elements incremented by 1.\n    >>> incr_list([1, 2, 3])\n    [2, 3, 4]\n    \"\"\"\n"

func TestExtractCode(t *testing.T) {
	const incr = "def incr_list(l: list):\n    return [x + 1 for x in l]\n"
	tests := []struct {
		name   string
		reply  string
		entry  string
		prompt string
		want   string // "" means no code found
	}{
		{
			name:  "fenced with a language tag",
			reply: "Here is the solution:\n\n```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```\n\nIt adds one to every element.",
			entry: "incr_list", want: incr,
		},
		{
			name:  "fenced without a language tag",
			reply: "```\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "fenced with py and a title",
			reply: "```py title=\"solution.py\"\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "tilde fence",
			reply: "~~~python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n~~~",
			entry: "incr_list", want: incr,
		},
		{
			name: "several blocks: the one defining the entry point",
			reply: "First a helper:\n```python\ndef helper(x):\n    return x + 1\n```\nThen the function:\n```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```\n" +
				"Usage:\n```python\nprint(incr_list([1, 2]))\n```\nOutput:\n```\n[2, 3]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "a buggy draft then the fix: the last definition wins",
			reply: "Draft:\n```python\ndef incr_list(l):\n    return [x for x in l]\n```\nThat forgets the increment. Fixed:\n```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "output block tagged text is not code",
			reply: "```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```\n```text\n[2, 3, 4]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "unclosed fence at the token limit",
			reply: "```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n",
			entry: "incr_list", want: incr,
		},
		{
			name:  "indented fence inside a list item",
			reply: "1. Write the function:\n   ```python\n   def incr_list(l: list):\n       return [x + 1 for x in l]\n   ```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "bare code after prose",
			reply: "Sure! The function is:\n\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n\nThis returns a new list with each element incremented.",
			entry: "incr_list", want: incr,
		},
		{
			name:  "bare code with imports and module constants",
			reply: "import math\nR = 3\ndef area(r):\n    return math.pi * r * r\nThe function uses math.pi.",
			entry: "area", want: "import math\nR = 3\ndef area(r):\n    return math.pi * r * r\n",
		},
		{
			name:  "bare code in two parts around prose",
			reply: "import re\n\nNow the function itself:\ndef words(s):\n    return re.findall(r'\\w+', s)\n",
			entry: "words", want: "import re\n\ndef words(s):\n    return re.findall(r'\\w+', s)\n",
		},
		{
			name:  "MBPP [BEGIN] [DONE] delimiters",
			reply: "[BEGIN]\ndef square(n):\n    return n * n\n[DONE]",
			entry: "square", want: "def square(n):\n    return n * n\n",
		},
		{
			name:  "completion: an indented body continues the prompt",
			reply: "    return [x + 1 for x in l]\n",
			entry: "incr_list", prompt: heIncrPrompt,
			want: heIncrPrompt + "    return [x + 1 for x in l]\n",
		},
		{
			name:  "completion in a fence",
			reply: "```python\n    out = []\n    for x in l:\n        out.append(x + 1)\n    return out\n```",
			entry: "incr_list", prompt: heIncrPrompt,
			want: heIncrPrompt + "    out = []\n    for x in l:\n        out.append(x + 1)\n    return out\n",
		},
		{
			name:  "completion whose first line lost its indent",
			reply: "out = []\n    for x in l:\n        out.append(x + 1)\n    return out",
			entry: "incr_list", prompt: heIncrPrompt,
			want: heIncrPrompt + "    out = []\n    for x in l:\n        out.append(x + 1)\n    return out\n",
		},
		{
			name:  "completion whose block opener lost its indent",
			reply: "for i, x in enumerate(l):\n        l[i] = x + 1\n    return l",
			entry: "incr_list", prompt: heIncrPrompt,
			want: heIncrPrompt + "    for i, x in enumerate(l):\n        l[i] = x + 1\n    return l\n",
		},
		{
			name:  "completion written flush left",
			reply: "```python\nout = []\nfor x in l:\n    out.append(x + 1)\nreturn out\n```",
			entry: "incr_list", prompt: heIncrPrompt,
			want: heIncrPrompt + "    out = []\n    for x in l:\n        out.append(x + 1)\n    return out\n",
		},
		{
			name:  "a full function is not a completion",
			reply: "```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```",
			entry: "incr_list", prompt: heIncrPrompt, want: incr,
		},
		{
			name:  "Windows line endings",
			reply: "```python\r\ndef incr_list(l: list):\r\n    return [x + 1 for x in l]\r\n```\r\n",
			entry: "incr_list", want: incr,
		},
		{
			name:  "a whole block indented",
			reply: "```python\n    def incr_list(l: list):\n        return [x + 1 for x in l]\n```",
			entry: "incr_list", want: incr,
		},
		{
			name:  "tabs are kept",
			reply: "```python\ndef is_even(n):\n\treturn n % 2 == 0\n```",
			entry: "is_even", want: "def is_even(n):\n\treturn n % 2 == 0\n",
		},
		{
			name:  "class plus function",
			reply: "```python\nclass Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n\ndef max_chain_length(arr, n):\n    return n\n```",
			entry: "max_chain_length", want: "class Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n\ndef max_chain_length(arr, n):\n    return n\n",
		},
		{
			name:  "the feedback line a successor reads is not code",
			reply: "```python\ndef incr_list(l: list):\n    return [x + 1 for x in l]\n```\n\n[visible tests] failed: assert incr_list([1]) == [2] (got [1])",
			entry: "incr_list", want: incr,
		},
		{
			name:  "no entry point known: the last block with a function",
			reply: "```python\ndef a():\n    return 1\n```\n```python\ndef b():\n    return 2\n```",
			want:  "def b():\n    return 2\n",
		},
		{name: "prose only", reply: "I am not sure how to solve this.", entry: "f"},
		{name: "a final answer, not code", reply: "The answer is 42.", entry: "f"},
		{name: "empty fence", reply: "```python\n```", entry: "f"},
		{name: "empty", reply: "", entry: "f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ExtractCode(tc.reply, tc.entry, tc.prompt)
			assert.Equal(t, tc.want != "", ok)
			assert.Equal(t, tc.want, got)
		})
	}
	assert.GreaterOrEqual(t, len(tests), 20)
}

func TestPreamble(t *testing.T) {
	prompt := "from typing import List\n\n\ndef helper(x):\n    return x\n\n\ndef f(xs: List[int]) -> int:\n    \"\"\"Doc.\"\"\"\n"
	assert.Equal(t, "from typing import List\n\n\ndef helper(x):\n    return x", preamble(prompt, "f"))
	assert.Equal(t, "from typing import List", preamble(prompt, "helper"))
	assert.Equal(t, "", preamble(prompt, "g"))
	assert.Equal(t, "", preamble("", "f"))
}

func TestNormalizeCode(t *testing.T) {
	a := "def f():  \r\n\r\n    return 1\r\n"
	b := "def f():\n    return 1"
	assert.Equal(t, normalizeCode(a), normalizeCode(b))
	assert.NotEqual(t, normalizeCode(b), normalizeCode("def f():\n  return 1"))
	s := &codeScorer{}
	assert.True(t, s.Equivalent(a, b))
	assert.False(t, s.Equivalent("", ""))
}

func FuzzExtractCode(f *testing.F) {
	seeds := []string{
		"```python\ndef f(x):\n    return x\n```",
		"Here:\n\ndef f(x):\n    return x\nDone.",
		"    return x + 1\n",
		"x = 1\n    return x",
		"[BEGIN]\ndef f(): pass\n[DONE]",
		"```\n```\n```py\n",
		"~~~\n\tdef f():\n\t\treturn 1\n~~~",
		"\"\"\"\nFIX\n\"\"\"\ndef f():\n    pass",
	}
	for _, s := range seeds {
		f.Add(s, "f", heIncrPrompt)
		f.Add(s, "", "")
	}
	f.Fuzz(func(t *testing.T, reply, entry, prompt string) {
		code, ok := ExtractCode(reply, entry, prompt)
		if ok != (code != "") {
			t.Fatalf("ok=%v with code %q", ok, code)
		}
		if !ok {
			return
		}
		if !strings.HasSuffix(code, "\n") || strings.HasSuffix(code, "\n\n") || strings.Contains(code, "\r\n") {
			t.Fatalf("code %q does not end in exactly one newline or keeps CRLF", code)
		}
		if strings.TrimSpace(code) == "" {
			t.Fatalf("blank code %q", code)
		}
		// Extracted code survives a round trip through a fence.
		if entry == "" && prompt == "" && !strings.Contains(code, "```") && !strings.Contains(code, "~~~") {
			again, ok := ExtractCode("```python\n"+code+"```", "", "")
			if !ok || again != code {
				t.Fatalf("round trip: %q -> %q (%v)", code, again, ok)
			}
		}
	})
}
