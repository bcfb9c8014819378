package topology

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// ErrBudget is wrapped by the error of a node skipped because running it
// could take the query over Config.Budget.
var ErrBudget = errors.New("budget exceeded")

// Executor defaults.
const (
	// DefaultMaxTokens caps each completion when Config.MaxTokens is 0.
	DefaultMaxTokens = 1024
	// DefaultExpectedCompletion is the completion length the budget check
	// assumes for a call (capped by the call's token limit) when
	// Config.ExpectedCompletion is 0.
	DefaultExpectedCompletion = 400
)

// Hooks are callbacks around node execution, for tracing and accounting.
// The executor calls them from the goroutine that runs the plan, never
// concurrently within one Run; a slow hook delays scheduling.
type Hooks struct {
	// OnNodeStart is called once for each node that runs, just before it
	// runs, with its identity, inputs and start offset.
	OnNodeStart func(NodeTrace)
	// OnNodeEnd is called once for every node, skipped ones included, with
	// its complete record.
	OnNodeEnd func(NodeTrace)
}

// Config configures an Executor.
type Config struct {
	// Pool holds the models plans may name. Required.
	Pool *agents.Pool
	// Roles holds the roles plans may name; nil means roles.Default().
	Roles *roles.Registry
	// Budget is the most a single query may spend, in dollars; 0 means no limit.
	Budget float64
	// MaxTokens caps each completion; 0 means DefaultMaxTokens.
	MaxTokens int
	// ExpectedCompletion is the completion length, in tokens, the budget
	// check assumes for a call; 0 means min(MaxTokens, DefaultExpectedCompletion).
	// Set it to MaxTokens to make the budget a hard cap.
	ExpectedCompletion int
	// MaxConcurrency limits how many model calls run at once; 0 means no limit.
	MaxConcurrency int
	// Temperature is passed to every call when > 0.
	Temperature float64
	// Seed, when non-zero, is mixed with each node's id and passed to the
	// call, so nodes sample independently yet reproducibly.
	Seed int
	// Hooks are optional callbacks around each node.
	Hooks Hooks
	// NewID returns a fresh trace id; nil means uuid.NewString.
	NewID func() string
}

// Executor runs plans on tasks. It is safe for concurrent use.
type Executor struct {
	cfg Config
}

// NewExecutor validates cfg, fills its defaults and returns an executor.
func NewExecutor(cfg Config) (*Executor, error) {
	if cfg.Roles == nil {
		reg, err := roles.Default()
		if err != nil {
			return nil, fmt.Errorf("executor: %w", err)
		}
		cfg.Roles = reg
	}
	switch {
	case cfg.Pool == nil:
		return nil, errors.New("executor: config field Pool: nil")
	case cfg.Budget < 0:
		return nil, fmt.Errorf("executor: config field Budget: %g is negative", cfg.Budget)
	case cfg.MaxTokens < 0:
		return nil, fmt.Errorf("executor: config field MaxTokens: %d is negative", cfg.MaxTokens)
	case cfg.ExpectedCompletion < 0:
		return nil, fmt.Errorf("executor: config field ExpectedCompletion: %d is negative", cfg.ExpectedCompletion)
	case cfg.MaxConcurrency < 0:
		return nil, fmt.Errorf("executor: config field MaxConcurrency: %d is negative", cfg.MaxConcurrency)
	case cfg.Temperature < 0:
		return nil, fmt.Errorf("executor: config field Temperature: %g is negative", cfg.Temperature)
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.ExpectedCompletion == 0 {
		cfg.ExpectedCompletion = min(cfg.MaxTokens, DefaultExpectedCompletion)
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewString
	}
	return &Executor{cfg: cfg}, nil
}

// Config returns the executor's configuration with defaults filled in.
func (e *Executor) Config() Config { return e.cfg }

// Run validates and builds p, runs it on t and scores the result. It always
// returns a non-nil Trace, holding whatever ran even when it also returns an
// error. Failed nodes do not fail the run: nodes that read them go on with
// the replies that did arrive, and an agent no reply reached at all (its
// inputs and their ancestors failed or were skipped) answers the question on
// its own (agents.StepReason). Run fails when the plan or task is invalid,
// when ctx ends (the error wraps ctx.Err()), when no reply reaches the
// decision node, or when scoring fails.
func (e *Executor) Run(ctx context.Context, p Plan, t *tasks.Task) (*Trace, error) {
	start := time.Now()
	d, err := Build(p)
	if err != nil {
		tr := e.newTrace(p, t)
		return e.fail(tr, start, fmt.Errorf("topology: run: %w", err))
	}
	return e.run(ctx, d, t, start)
}

// RunDAG runs a DAG built earlier by Build, like Run.
func (e *Executor) RunDAG(ctx context.Context, d *DAG, t *tasks.Task) (*Trace, error) {
	start := time.Now()
	if d == nil {
		return e.fail(e.newTrace(Plan{}, t), start, errors.New("topology: run: nil DAG"))
	}
	return e.run(ctx, d, t, start)
}

func (e *Executor) newTrace(p Plan, t *tasks.Task) *Trace {
	tr := &Trace{ID: e.cfg.NewID(), Plan: p}
	if t != nil {
		tr.TaskID = t.ID
	}
	return tr
}

func (e *Executor) fail(tr *Trace, start time.Time, err error) (*Trace, error) {
	tr.Err = err.Error()
	tr.Latency = time.Since(start)
	return tr, err
}

func (e *Executor) run(ctx context.Context, d *DAG, t *tasks.Task, start time.Time) (*Trace, error) {
	p := d.Plan()
	tr := e.newTrace(p, t)
	if t == nil {
		return e.fail(tr, start, errors.New("topology: run: nil task"))
	}
	if err := p.Validate(e.cfg.Roles, e.cfg.Pool); err != nil {
		return e.fail(tr, start, fmt.Errorf("topology: run task %s: %w", t.ID, err))
	}
	s, err := e.newSchedule(d, t, start)
	if err != nil {
		return e.fail(tr, start, fmt.Errorf("topology: run task %s: %w", t.ID, err))
	}
	runErr := s.run(ctx)

	tr.Nodes = s.trace
	for _, n := range tr.Nodes {
		tr.PromptTokens += n.PromptTokens
		tr.CompletionTokens += n.CompletionTokens
		tr.Dollars += n.Dollars
	}
	tr.CriticalPath = s.criticalPath()
	dec := tr.Nodes[len(tr.Nodes)-1]
	tr.Final = dec.Reply
	tr.Answer = dec.Answer
	if runErr != nil {
		return e.fail(tr, start, fmt.Errorf("topology: run task %s: %w", t.ID, runErr))
	}
	if t.Scorer != nil {
		score, err := tasks.Score(ctx, t, tr.Final)
		if err != nil {
			return e.fail(tr, start, fmt.Errorf("topology: run task %s: score: %w", t.ID, err))
		}
		tr.Score = score
	}
	tr.Latency = time.Since(start)
	return tr, nil
}
