package topology

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

// Feedback on code: when a task's scorer is a tasks.Feedbacker (HumanEval,
// MBPP), every agent that replies has the task's visible tests run on its
// code, in the agent's own goroutine. The result is recorded in the node's
// trace and appended to the reply its readers see, so a fixer downstream
// knows what failed. In a Chain, once an agent's code passes the visible
// tests the rest of the chain is skipped and the decision takes that reply.

// FeedbackLabel starts the line of visible-test results appended to a code
// agent's reply for its readers, e.g. "[visible tests] all pass" or
// "[visible tests] failed: assert f(2) == 4 (got 3)".
const FeedbackLabel = "[visible tests]"

// ErrCodePasses is wrapped by the error of a Chain node skipped because an
// earlier agent's code already passes the visible tests.
var ErrCodePasses = errors.New("chain stopped early")

// feedback is the visible-test result of one reply.
type feedback struct {
	// note is the line readers see; empty when there is nothing to say.
	note   string
	passed bool
	// err is set when the tests could not be run; the note then says so
	// in the trace but is not shown to readers.
	err error
}

// codeState remembers the first Chain agent whose code passed.
type codeState struct {
	passed bool
	at     int
}

// runFeedback runs the task's visible tests on node i's reply. It is called
// from the node's goroutine and reads only what does not change during a run.
func (s *schedule) runFeedback(ctx context.Context, i int, reply string) feedback {
	fb, ok := s.task.Scorer.(tasks.Feedbacker)
	if !ok || s.d.nodes[i].Kind == NodeDecision {
		return feedback{}
	}
	passed, note, err := fb.Feedback(ctx, s.task, reply)
	switch {
	case err != nil:
		return feedback{note: FeedbackLabel + " not run: " + err.Error(), err: err}
	case passed:
		return feedback{note: FeedbackLabel + " all pass", passed: true}
	case note == "":
		return feedback{} // the task has no visible tests
	}
	return feedback{note: FeedbackLabel + " failed: " + note}
}

// noteFeedback records node i's visible-test result and, in a Chain, the
// first agent whose code passes.
func (s *schedule) noteFeedback(i int, fb feedback) {
	nt := &s.trace[i]
	nt.Feedback, nt.FeedbackPassed = fb.note, fb.passed
	if fb.passed && s.d.plan.Mode == ModeChain && !s.code.passed {
		s.code = codeState{passed: true, at: i}
	}
}

// readable is node j's reply as its readers see it: followed by its
// visible-test result, when the tests ran.
func (s *schedule) readable(j int) string {
	nt := &s.trace[j]
	if nt.Feedback == "" || strings.HasPrefix(nt.Feedback, FeedbackLabel+" not run:") {
		return nt.Reply
	}
	return nt.Reply + "\n\n" + nt.Feedback
}

// stopChain settles node i when a Chain agent's code already passes the
// visible tests: a later agent is skipped, and the decision takes the
// passing reply without a model call. It reports whether it settled i.
func (s *schedule) stopChain(i int) bool {
	if !s.code.passed {
		return false
	}
	if s.d.nodes[i].Kind == NodeDecision {
		s.hook(s.cfg.Hooks.OnNodeStart, i)
		s.adopt(i, s.code.at)
		if nt := &s.trace[i]; nt.Model != "" {
			// A referring decision makes no call: the passing code is the answer.
			nt.Error = fmt.Sprintf("decider %s not called: %s's code passes the visible tests", nt.Model, s.trace[s.code.at].ID)
			nt.Model = ""
		}
		s.release(i)
		return true
	}
	s.skip(i, fmt.Errorf("%w: %s's code already passes the visible tests", ErrCodePasses, s.trace[s.code.at].ID))
	return true
}
