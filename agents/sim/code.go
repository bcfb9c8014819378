package sim

import (
	"context"
	"fmt"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
)

// judgeCode reports whether the code in a reply an agent read is correct:
// the reference solution is, the task's verified breakages are not, and any
// other program is run against the hidden tests (memoised by the sandbox).
// A program that cannot be run counts as wrong.
func (w *World) judgeCode(ctx context.Context, e *entry, reply, code string) bool {
	switch sum := codeSum(code); {
	case sum == e.code.goldSum:
		return true
	case e.code.wrongOf[sum]:
		return false
	}
	cs, ok := e.task.Scorer.(tasks.ContextScorer)
	if !ok {
		return false
	}
	s, err := cs.ScoreReply(ctx, e.task, reply)
	return err == nil && s == 1
}

// fence puts code in a Python block.
func fence(code string) string {
	return "```python\n" + strings.TrimRight(code, "\n") + "\n```"
}

// renderCode writes a code reply: the program in a fenced block, after a
// few sentences that fit the step.
func renderCode(e *entry, p prompt, o outcome) string {
	final := fence(o.answer)
	if p.step == agents.StepAnswer {
		return final
	}
	entry := e.task.Meta[tasks.MetaEntryPoint]
	var b strings.Builder
	if len(o.read) > 0 {
		b.WriteString(summariseCode(o.read))
		b.WriteString("\n\n")
	}
	switch p.step {
	case agents.StepPlan:
		b.WriteString("Plan:\n")
		fmt.Fprintf(&b, "1. Read the signature of `%s` and the examples it must satisfy.\n", entry)
		b.WriteString("2. List the edge cases the examples imply: empty input, single elements, ties.\n")
		b.WriteString("3. Implement it, then check it against every example.\n")
		b.WriteString("Tentative implementation:\n")
	case agents.StepDecide:
		b.WriteString("Weighing the implementations against the task and its tests, this one is the best supported:\n")
	case agents.StepReflect:
		if len(o.read) > 0 && codeSum(o.read[0].answer) == codeSum(o.answer) {
			b.WriteString("Checking the code again line by line, I find no mistake; I keep it.\n")
		} else {
			b.WriteString("Checking the code again line by line, I found a problem and corrected it:\n")
		}
	default:
		fmt.Fprintf(&b, "Let's work through it step by step. `%s` must satisfy the specification and every example; I handle the boundary cases explicitly.\n", entry)
	}
	b.WriteString(final)
	return b.String()
}

// summariseCode says what an agent read: how many implementations, and
// what their visible tests reported.
func summariseCode(read []readAnswer) string {
	var failed, passed int
	for _, r := range read {
		switch {
		case r.failedTests:
			failed++
		case r.passedTests:
			passed++
		}
	}
	s := "I read 1 earlier implementation"
	if len(read) != 1 {
		s = fmt.Sprintf("I read %d earlier implementations", len(read))
	}
	switch {
	case failed > 0 && passed > 0:
		s += fmt.Sprintf("; %d pass the visible tests and %d fail them, so I rework the failing logic", passed, failed)
	case failed > 0:
		s += "; the visible tests report a failure, so I rework the logic they exercise"
	case passed == 1 && len(read) == 1:
		s += "; it passes the visible tests"
	case passed > 0:
		s += fmt.Sprintf("; %d of them pass the visible tests", passed)
	}
	return s + ". I will check the code myself."
}
