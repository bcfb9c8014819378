package tasks

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadJSONL(t *testing.T) {
	ts, err := LoadJSONL("testdata/capitals.jsonl")
	require.NoError(t, err)
	require.Len(t, ts, 4)

	assert.Equal(t, &Task{
		ID: "capital-fr", Benchmark: "capitals", Domain: DomainCommonsense,
		Query: "What is the capital of France?", Gold: "Paris", Scorer: exactScorer{},
	}, ts[0], "benchmark defaults to the file's base name")
	assert.Equal(t, "gsm8k", ts[1].Scorer.Name(), `"number" is the gsm8k scorer`)
	assert.Equal(t, "3 * 7 = 21", ts[1].Solution)
	assert.Equal(t, map[string]string{"source": "handwritten", "difficulty": "easy"}, ts[1].Meta)
	assert.Equal(t, "fractions", ts[2].Benchmark)
	assert.Equal(t, `\frac{1}{2}`, ts[2].Gold)
	assert.Equal(t, "mmlu", ts[3].Scorer.Name())

	replies := []string{"Answer: paris", "7 days × 3 = 21 eggs.\nThe answer is 21.", `So it is $\boxed{0.5}$.`, "The answer is (B)."}
	for i, x := range ts {
		score, err := Score(context.Background(), x, replies[i])
		require.NoError(t, err)
		assert.Equal(t, 1.0, score, x.ID)
	}

	_, err = LoadJSONL("testdata/missing.jsonl")
	assert.ErrorContains(t, err, "testdata/missing.jsonl")
}

func TestReadJSONLErrors(t *testing.T) {
	good := `{"id": "a", "query": "q", "gold": "1", "scorer": "gsm8k", "domain": "math"}`
	checkBroken(t, []brokenCase{
		{"not json", "{", []string{"u.jsonl:1: json: "}},
		{"missing id", `{"query": "q", "gold": "1", "scorer": "exact", "domain": "math"}`, []string{"u.jsonl:1: id: missing"}},
		{"missing domain", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact"}`, []string{"u.jsonl:1: domain: missing"}},
		{"bad domain", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "law"}`, []string{`u.jsonl:1: domain: unknown domain "law"`, "math, commonsense, code"}},
		{"bad scorer", `{"id": "a", "query": "q", "gold": "1", "scorer": "regex", "domain": "math"}`, []string{`u.jsonl:1: scorer: unknown scorer "regex"`, "choice, code, exact, gsm8k"}},
		{"gold the scorer cannot compare", `{"id": "a", "query": "q", "gold": "many", "scorer": "gsm8k", "domain": "math"}`, []string{`u.jsonl:1: gold: "many" is not an answer the gsm8k scorer can compare`}},
		{"gold not a choice", `{"id": "a", "query": "q", "gold": "E", "scorer": "choice", "domain": "commonsense"}`, []string{`u.jsonl:1: gold: "E"`}},
		{"empty gold", `{"id": "a", "query": "q", "gold": "", "scorer": "exact", "domain": "math"}`, []string{"u.jsonl:1: gold: empty"}},
		{"empty benchmark", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "benchmark": ""}`, []string{"u.jsonl:1: benchmark: empty"}},
		{"unknown field", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "answer": "1"}`, []string{"u.jsonl:1: answer: unknown field"}},
		{"meta not an object", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "meta": "x"}`, []string{"u.jsonl:1: meta: want a JSON object, got a string"}},
		{"meta value not a string", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "meta": {"level": 3}}`, []string{`u.jsonl:1: meta: key "level": want a string, got a number`}},
		{"meta null", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "meta": null}`, []string{"u.jsonl:1: meta: want a JSON object, got null"}},
		{"solution wrong type", `{"id": "a", "query": "q", "gold": "1", "scorer": "exact", "domain": "math", "solution": 1}`, []string{"u.jsonl:1: solution: want a string"}},
		{"duplicate id", good + "\n\n" + good, []string{`u.jsonl:3: id: "a" already used on line 1`}},
		{"all bad lines together", good + "\n{}\n" + good, []string{"u.jsonl:2: id: missing", "u.jsonl:2: query: missing", "u.jsonl:2: scorer: missing", `u.jsonl:3: id: "a" already used`}},
		{"only blank lines", "\n  \n", []string{"u.jsonl: no tasks"}},
	}, func(in string) ([]*Task, error) { return ReadJSONL(strings.NewReader(in), "dir/u.jsonl") })
}
