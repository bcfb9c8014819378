package tasks

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/masrouter/masrouter/tasks/sandbox"
)

// Meta keys of code tasks (HumanEval, MBPP, and user tasks scored "code").
const (
	// MetaEntryPoint names the function the tests call.
	MetaEntryPoint = "entry_point"
	// MetaPrompt is the code a completion continues (HumanEval's prompt:
	// imports, helpers, the signature and docstring); empty for MBPP.
	MetaPrompt = "prompt"
	// MetaTest is the hidden test program that decides the score.
	MetaTest = "test"
	// MetaVisibleTests are the tests an agent may run on its own code, one
	// assert per line: MBPP's test_list (shown in the question), HumanEval's
	// docstring examples turned into asserts.
	MetaVisibleTests = "visible_tests"
	// MetaTestSetup runs after the candidate and before the tests (MBPP's
	// test_setup_code, which builds fixtures from the candidate's classes).
	MetaTestSetup = "test_setup"
)

// Feedbacker is a scorer that can tell an agent how its reply fares on the
// tests it is allowed to see, so a fixer downstream can react.
type Feedbacker interface {
	// Feedback runs the visible tests of t on the code in reply. passed is
	// true when every visible test passes; note is "all visible tests pass"
	// or the first failing assertion or exception, on one line. A task
	// without visible tests gives passed false and an empty note. err is set
	// only when the tests could not be run at all.
	Feedback(ctx context.Context, t *Task, reply string) (passed bool, note string, err error)
}

// defaultRunner is the sandbox every code scorer without its own runner
// shares, built on first use: sharing it shares its memo of results, so a
// simulator's repeated candidates and the scorer's judgement of them run
// Python once. It is safe for concurrent use; a missing interpreter is
// remembered as an error.
var defaultRunner = sync.OnceValues(func() (*sandbox.Runner, error) {
	return sandbox.New(context.Background(), sandbox.Config{})
})

// DefaultRunner returns the sandbox runner code scorers share, creating it
// on first use. It fails when python3 is missing (the error wraps
// sandbox.ErrNoPython).
func DefaultRunner() (*sandbox.Runner, error) { return defaultRunner() }

// codeScorer judges a reply by running the task's tests on the code in it.
type codeScorer struct {
	entry, prompt string          // for Extract; ScoreReply reads the task's Meta
	runner        *sandbox.Runner // nil means DefaultRunner
}

// NewCodeScorer returns the "code" scorer for a task whose tests call
// entryPoint and whose completions continue prompt (empty when replies hold
// whole programs). It runs tests with runner, or with DefaultRunner when
// runner is nil. The scorer is a ContextScorer (the hidden tests, Meta
// "test") and a Feedbacker (the visible tests, Meta "visible_tests").
func NewCodeScorer(entryPoint, prompt string, runner *sandbox.Runner) Scorer {
	return &codeScorer{entry: entryPoint, prompt: prompt, runner: runner}
}

var (
	_ ContextScorer = (*codeScorer)(nil)
	_ Feedbacker    = (*codeScorer)(nil)
)

// Name returns "code".
func (s *codeScorer) Name() string { return "code" }

// Extract returns the candidate program in reply (see ExtractCode).
func (s *codeScorer) Extract(reply string) (string, bool) {
	return ExtractCode(reply, s.entry, s.prompt)
}

// Equivalent reports whether two programs are the same text, ignoring line
// endings, trailing spaces and blank lines; whether they behave alike is for
// the tests to say.
func (s *codeScorer) Equivalent(a, b string) bool {
	na := normalizeCode(a)
	return na != "" && na == normalizeCode(b)
}

// ScoreReply runs the hidden tests of t on the code in reply: 1 when they
// all pass, 0 otherwise (no code found included).
func (s *codeScorer) ScoreReply(ctx context.Context, t *Task, reply string) (float64, error) {
	if t == nil {
		return 0, fmt.Errorf("score code: nil task")
	}
	test := t.Meta[MetaTest]
	if strings.TrimSpace(test) == "" {
		return 0, fmt.Errorf("score code: task %s: meta %q: empty (the hidden tests)", t.ID, MetaTest)
	}
	res, found, err := s.check(ctx, t, reply, test)
	if err != nil || !found {
		return 0, err
	}
	if res.Passed() {
		return 1, nil
	}
	return 0, nil
}

// Feedback runs the visible tests of t on the code in reply.
func (s *codeScorer) Feedback(ctx context.Context, t *Task, reply string) (bool, string, error) {
	if t == nil {
		return false, "", fmt.Errorf("code feedback: nil task")
	}
	test := t.Meta[MetaVisibleTests]
	if strings.TrimSpace(test) == "" {
		return false, "", nil
	}
	res, found, err := s.check(ctx, t, reply, test)
	switch {
	case err != nil:
		return false, "", err
	case !found:
		return false, "no Python code found in the reply", nil
	case res.Passed():
		return true, "all visible tests pass", nil
	}
	return false, res.Note(), nil
}

// check runs test on the code in reply; found is false when the reply holds
// no code.
func (s *codeScorer) check(ctx context.Context, t *Task, reply, test string) (sandbox.Result, bool, error) {
	entry, prompt := s.entry, s.prompt
	if entry == "" {
		entry = t.Meta[MetaEntryPoint]
	}
	if prompt == "" {
		prompt = t.Meta[MetaPrompt]
	}
	code, ok := ExtractCode(reply, entry, prompt)
	if !ok {
		return sandbox.Result{}, false, nil
	}
	r := s.runner
	if r == nil {
		var err error
		if r, err = DefaultRunner(); err != nil {
			return sandbox.Result{}, false, fmt.Errorf("score code task %s: %w", t.ID, err)
		}
	}
	res, err := r.Check(ctx, CodeProgram(t, code, test))
	if err != nil {
		return sandbox.Result{}, false, fmt.Errorf("score code task %s: %w", t.ID, err)
	}
	return res, true, nil
}

// CodeProgram assembles the program that tests candidate code for t: the
// prompt's imports and helpers (when the code repeats only the entry
// point), the code, the task's test setup, then test.
func CodeProgram(t *Task, code, test string) sandbox.Program {
	entry := t.Meta[MetaEntryPoint]
	if pre := preamble(t.Meta[MetaPrompt], entry); pre != "" && entry != "" && !strings.HasPrefix(code, pre) {
		code = pre + "\n\n\n" + code
	}
	return sandbox.Program{Code: code, Setup: t.Meta[MetaTestSetup], Test: test}
}
