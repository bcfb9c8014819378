package tasks_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

func ExampleLoad() {
	ts, err := tasks.Load("gsm8k", "test")
	if err != nil {
		log.Fatal(err)
	}
	first := ts[0]
	fmt.Println(len(ts), first.ID, first.Domain, first.Gold, first.Meta["steps"])
	// Output: 1319 gsm8k/test/0 math 18 2
}

func ExampleScore() {
	scorer, err := tasks.ScorerByName("math")
	if err != nil {
		log.Fatal(err)
	}
	t := &tasks.Task{ID: "half", Query: "What is 1/2 as a decimal?", Gold: `\frac{1}{2}`, Scorer: scorer}
	for _, reply := range []string{
		"Dividing 1 by 2 gives $\\boxed{0.5}$.",
		"The answer is $\\boxed{\\frac{1}{3}}$.",
		"I am not sure.",
	} {
		score, err := tasks.Score(context.Background(), t, reply)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(score)
	}
	// Output:
	// 1
	// 0
	// 0
}

func ExampleNewScorer() {
	// A yes/no scorer: the first word of the last line, compared without case.
	yesNo := tasks.NewScorer("yesno", func(reply string) (string, bool) {
		lines := strings.Split(strings.TrimSpace(reply), "\n")
		words := strings.Fields(lines[len(lines)-1])
		if len(words) == 0 {
			return "", false
		}
		return strings.Trim(words[0], ".,!"), true
	}, strings.EqualFold)

	t := &tasks.Task{ID: "sky", Query: "Is the sky blue on a clear day?", Gold: "yes", Scorer: yesNo}
	score, err := tasks.Score(context.Background(), t, "Rayleigh scattering favours short wavelengths.\nYes, it is.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(score)
	// Output: 1
}

func ExampleReadJSONL() {
	in := `{"id": "fr", "query": "Capital of France?", "gold": "Paris", "scorer": "exact", "domain": "commonsense"}
{"id": "eggs", "query": "3 eggs a day for a week?", "gold": "21", "scorer": "number", "domain": "math"}
`
	ts, err := tasks.ReadJSONL(strings.NewReader(in), "quiz.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range ts {
		fmt.Println(t.ID, t.Benchmark, t.Domain, t.Scorer.Name())
	}

	_, err = tasks.ReadJSONL(strings.NewReader(`{"id": "x", "query": "q", "gold": "many", "scorer": "number", "domain": "math"}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// fr quiz commonsense exact
	// eggs quiz math gsm8k
	// bad.jsonl:1: gold: "many" is not an answer the number scorer can compare
}

func ExampleSplitByID() {
	ts, err := tasks.Load("math500", "test")
	if err != nil {
		log.Fatal(err)
	}
	train, test := tasks.SplitByID(ts, 0.8, 888)
	sample := tasks.Sample(test, 3, 888)
	fmt.Println(len(train)+len(test) == len(ts), len(sample))
	// Output: true 3
}
