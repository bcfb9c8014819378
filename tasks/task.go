// Package tasks defines benchmark tasks, their loaders and their scorers.
//
// A Task is one question with a gold answer and the name of the scorer that
// judges replies to it. Loaders read the embedded benchmark files (GSM8K,
// MMLU, MATH, HumanEval, MBPP) and user-defined JSONL files; scorers extract
// a final answer from free-form model text and compare it with the gold
// answer, or, for code, run the task's tests on the reply's program in the
// sandbox of tasks/sandbox.
//
// This package depends on nothing else in masrouter but its own sandbox.
package tasks

import (
	"context"
	"fmt"
)

// Domain is the broad area a task belongs to; roles are grouped by domain.
type Domain string

// The domains masrouter ships roles for.
const (
	DomainMath        Domain = "math"
	DomainCommonsense Domain = "commonsense"
	DomainCode        Domain = "code"
)

// Domains lists every built-in domain in a stable order.
func Domains() []Domain { return []Domain{DomainMath, DomainCommonsense, DomainCode} }

// ParseDomain returns the domain named s, or an error naming the valid ones.
func ParseDomain(s string) (Domain, error) {
	for _, d := range Domains() {
		if string(d) == s {
			return d, nil
		}
	}
	return "", fmt.Errorf("unknown domain %q (want one of math, commonsense, code)", s)
}

// Task is one query with its gold answer and the scorer that judges replies.
type Task struct {
	// ID is unique within a benchmark split, e.g. "gsm8k/test/17".
	ID string `json:"id"`
	// Benchmark names the source set, e.g. "gsm8k", "math", "mmlu", or a user name.
	Benchmark string `json:"benchmark"`
	// Domain selects the role set agents draw from.
	Domain Domain `json:"domain"`
	// Query is the full text shown to agents (MMLU: question and lettered choices).
	Query string `json:"query"`
	// Gold is the reference final answer in the scorer's canonical form.
	Gold string `json:"gold"`
	// Solution is a reference worked solution when the dataset has one.
	Solution string `json:"solution,omitempty"`
	// Scorer judges replies; it is never nil for a loaded task.
	Scorer Scorer `json:"-"`
	// Meta carries dataset fields such as "level", "subject" or "choices".
	Meta map[string]string `json:"meta,omitempty"`
}

// MetaSkill is the Meta key naming the published skill models are judged by
// on a task, when it is not the task's benchmark.
const MetaSkill = "skill"

// SkillKey returns the name under which a model's published skill applies to
// t: Meta["skill"] when set, else the benchmark, with MATH-500 judged as MATH
// (it is a sample of MATH's test set).
func (t *Task) SkillKey() string {
	if k := t.Meta[MetaSkill]; k != "" {
		return k
	}
	if t.Benchmark == "math500" {
		return "math"
	}
	return t.Benchmark
}

// Scorer extracts final answers from replies and compares them.
type Scorer interface {
	// Name is the registry name, e.g. "gsm8k", "mmlu", "math", "exact".
	Name() string
	// Extract pulls the final answer out of a free-form reply in canonical
	// form; ok is false when the reply holds no recognisable answer.
	Extract(reply string) (answer string, ok bool)
	// Equivalent reports whether two canonical answers denote the same value.
	Equivalent(a, b string) bool
}

// ContextScorer is a Scorer whose judgement needs work that can block, such
// as running a program against tests. Score prefers it when present.
type ContextScorer interface {
	Scorer
	// ScoreReply returns a score in [0, 1] for reply as an answer to t.
	ScoreReply(ctx context.Context, t *Task, reply string) (float64, error)
}

// Score judges reply as an answer to t and returns a value in [0, 1].
func Score(ctx context.Context, t *Task, reply string) (float64, error) {
	if t == nil || t.Scorer == nil {
		return 0, fmt.Errorf("score: task has no scorer")
	}
	if cs, ok := t.Scorer.(ContextScorer); ok {
		return cs.ScoreReply(ctx, t, reply)
	}
	got, ok := t.Scorer.Extract(reply)
	if !ok {
		return 0, nil
	}
	if t.Scorer.Equivalent(got, t.Gold) {
		return 1, nil
	}
	return 0, nil
}
