package tasks

import (
	"bytes"
	"strings"
	"testing"
)

// checkParsed holds for every parser: either an error and no tasks, or
// tasks that are complete and have unique IDs.
func checkParsed(t *testing.T, ts []*Task, err error) {
	t.Helper()
	if err != nil {
		if ts != nil {
			t.Fatalf("tasks returned with error %v", err)
		}
		return
	}
	if len(ts) == 0 {
		t.Fatal("no tasks and no error")
	}
	seen := map[string]bool{}
	for _, x := range ts {
		if x.ID == "" || x.Gold == "" || x.Scorer == nil || x.Benchmark == "" {
			t.Fatalf("incomplete task %+v", x)
		}
		if _, err := ParseDomain(string(x.Domain)); err != nil {
			t.Fatalf("task %s: %v", x.ID, err)
		}
		if seen[x.ID] {
			t.Fatalf("duplicate id %q", x.ID)
		}
		seen[x.ID] = true
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"id": "a", "query": "q", "gold": "1", "scorer": "gsm8k", "domain": "math"}`))
	f.Add([]byte(`{"id": "a", "query": "q", "gold": "B", "scorer": "choice", "domain": "commonsense", "meta": {"k": "v"}}` + "\n\n" + `{"id": "b"}`))
	f.Add([]byte(`{"id": "a", "id": "b"}`))
	f.Add([]byte("{\"id\": \"a\"} [1]\n\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := ReadJSONL(bytes.NewReader(in), "f.jsonl")
		checkParsed(t, ts, err)
		if err == nil {
			for _, x := range ts {
				if !x.Scorer.Equivalent(x.Gold, x.Gold) {
					t.Fatalf("gold %q not comparable by %s", x.Gold, x.Scorer.Name())
				}
			}
		}
	})
}

func FuzzParseGSM8K(f *testing.F) {
	f.Add([]byte(gsmGood))
	f.Add([]byte(`{"question": "q", "answer": "a <<1+1=2>>2\n#### -1,000.5"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := ParseGSM8K(bytes.NewReader(in), "f.jsonl", "test")
		checkParsed(t, ts, err)
		for _, x := range ts {
			if c, ok := CanonicalNumber(x.Gold); !ok || c != x.Gold {
				t.Fatalf("gold %q is not canonical", x.Gold)
			}
		}
	})
}

func FuzzParseMMLU(f *testing.F) {
	f.Add([]byte("question,choice0,choice1,choice2,choice3,answer\n\"q\nq\",a,b,c,d,1\n"))
	f.Add([]byte("q,a,b,c,d,D\n"))
	f.Add([]byte("q,\"a,b,c,d,1\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := ParseMMLU(bytes.NewReader(in), "f.csv", "s", "test")
		checkParsed(t, ts, err)
	})
}

func FuzzParseMATH(f *testing.F) {
	f.Add([]byte(mathGood))
	f.Add([]byte(`{"problem": "p", "solution": "\\boxed{\\frac12", "subject": "A", "level": 3, "unique_id": "u"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ts, err := ParseMATH(bytes.NewReader(in), "f.jsonl", "math")
		checkParsed(t, ts, err)
	})
}

func FuzzExtract(f *testing.F) {
	seeds := []string{
		"The answer is (B).", "#### 1,234", `\boxed{\frac{1}{2}}`, `$\boxed 5$`, "Answer: $-3.5",
		"**C**", "A reasonable guess", `\boxed{\left( 3, \frac{\pi}{2} \right)}`, "3/4", `\boxed{\text{ cm}}`,
		"Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "answer: answer:", `\sqrt`, `\frac`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	scorers := []Scorer{numberScorer{}, choiceScorer{}, mathScorer{}, exactScorer{}}
	f.Fuzz(func(t *testing.T, reply string) {
		for _, s := range scorers {
			got, ok := s.Extract(reply)
			if ok != (got != "") {
				t.Fatalf("%s: ok=%v with answer %q", s.Name(), ok, got)
			}
			if ok && !s.Equivalent(got, got) {
				t.Fatalf("%s: extracted %q is not equivalent to itself", s.Name(), got)
			}
		}
	})
}

func FuzzNormalizeMath(f *testing.F) {
	for _, s := range []string{`\left( \frac12, 2 \right]`, `\text{ square units}`, `x = \sqrt2`, `10{,}000`, `\frac \pi4`, `\\ \ `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeMath(s)
		if strings.ContainsAny(n, " \t\n") {
			t.Fatalf("NormalizeMath(%q) = %q keeps white space", s, n)
		}
		if again := NormalizeMath(n); again != n {
			t.Fatalf("NormalizeMath is not idempotent: %q -> %q -> %q", s, n, again)
		}
		mathScorer{}.Equivalent(s, n)
	})
}

func FuzzCanonicalNumber(f *testing.F) {
	for _, s := range []string{"$1,234.50", "-3/4", `\frac{1}{3}`, "1e5", "18 dollars", "**-0**"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := CanonicalNumber(s)
		if !ok {
			return
		}
		again, ok := CanonicalNumber(c)
		if !ok || again != c {
			t.Fatalf("CanonicalNumber(%q) = %q, which canonicalises to %q, %v", s, c, again, ok)
		}
	})
}

func FuzzLastBoxed(f *testing.F) {
	for _, s := range []string{`\boxed{\frac{1}{2}}`, `\fbox{x} \boxed 3$`, `\boxed{\}`, `\boxed{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := LastBoxed(s); ok && !strings.Contains(s, got) {
			t.Fatalf("LastBoxed(%q) = %q, not part of the input", s, got)
		}
	})
}
