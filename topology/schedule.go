package topology

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
)

// errNoInput is the error of a decision node that no reply reached.
var errNoInput = errors.New("no input arrived")

// schedule is the state of one run of a DAG. Only the goroutine that calls
// run touches it; model calls run in their own goroutines and report back
// over results.
type schedule struct {
	cfg    *Config
	d      *DAG
	task   *tasks.Task
	start  time.Time
	method DecisionMethod

	agents []agents.Agent // per node; zero for nodes that call no model
	seeds  []int

	trace []NodeTrace
	ok    []bool // node produced a reply
	// eff[i] is what stands in for node i: i itself when it replied,
	// otherwise the nearest ancestors that did.
	eff      [][]int
	hasAns   []bool    // trace[i].Answer was extracted
	errs     []error   // why a node failed or was skipped
	pending  []int     // inputs not yet finished
	reserved []float64 // budget held by a running node
	ready    []int     // ascending
	running  int
	results  chan result

	spent, held float64
	ctxHit      bool      // some node was skipped or failed because ctx ended
	code        codeState // the Chain agent whose code passed (feedback.go)
}

// result is what a model call goroutine reports.
type result struct {
	node    int
	reply   agents.Reply
	err     error
	latency time.Duration
	fb      feedback // visible-test result of a code reply (feedback.go)
}

func (e *Executor) newSchedule(d *DAG, t *tasks.Task, start time.Time) (*schedule, error) {
	n := d.Len()
	s := &schedule{
		cfg:      &e.cfg,
		d:        d,
		task:     t,
		start:    start,
		method:   d.plan.DecisionMethod(),
		agents:   make([]agents.Agent, n),
		seeds:    make([]int, n),
		trace:    make([]NodeTrace, n),
		ok:       make([]bool, n),
		eff:      make([][]int, n),
		hasAns:   make([]bool, n),
		errs:     make([]error, n),
		pending:  make([]int, n),
		reserved: make([]float64, n),
		ready:    make([]int, 0, n),
		results:  make(chan result, n),
	}
	for i, nd := range d.nodes {
		s.trace[i] = NodeTrace{ID: nd.ID, Kind: nd.Kind, Step: nd.Step, Role: nd.Role, Model: nd.Model, Round: nd.Round}
		s.pending[i] = len(d.preds[i])
		if e.cfg.Seed != 0 {
			s.seeds[i] = nodeSeed(e.cfg.Seed, nd.ID)
		}
		if !nd.Calls() {
			continue
		}
		role, err := e.cfg.Roles.Get(d.plan.Domain, nd.Role)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", nd.ID, err)
		}
		model, err := e.cfg.Pool.Get(nd.Model)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", nd.ID, err)
		}
		s.agents[i] = agents.Agent{Role: role, Model: model}
	}
	return s, nil
}

// nodeSeed mixes the configured seed with the node id (FNV-1a), never zero.
func nodeSeed(seed int, id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	v := int(int32(uint32(seed) ^ h))
	if v == 0 {
		v = 1
	}
	return v
}

// run executes every node and returns the run's error, if any.
func (s *schedule) run(ctx context.Context) error {
	n := len(s.trace)
	for i := range n {
		if s.pending[i] == 0 {
			s.ready = append(s.ready, i)
		}
	}
	done := 0
	for done < n {
		for len(s.ready) > 0 && (s.cfg.MaxConcurrency == 0 || s.running < s.cfg.MaxConcurrency) {
			i := s.ready[0]
			s.ready = s.ready[1:]
			if s.launch(ctx, i) {
				s.running++
			} else {
				done++
			}
		}
		if s.running == 0 {
			if done < n {
				return fmt.Errorf("internal error: %d of %d nodes can never run", n-done, n)
			}
			break
		}
		r := <-s.results
		s.running--
		s.finish(ctx, r)
		done++
	}

	if s.ctxHit {
		return fmt.Errorf("run stopped: %w", ctx.Err())
	}
	last := n - 1
	if !s.ok[last] {
		cause := s.errs[last]
		for i := range last {
			if s.errs[i] != nil {
				cause = s.errs[i]
				break
			}
		}
		return fmt.Errorf("no reply reached the decision node: %w", cause)
	}
	return nil
}

// launch starts node i, or settles it at once when it makes no model call
// or must be skipped. It reports whether a model call is now running.
func (s *schedule) launch(ctx context.Context, i int) bool {
	nd := s.d.nodes[i]
	nt := &s.trace[i]
	nt.Start = time.Since(s.start)
	var inputs []agents.Message
	for _, j := range s.arrived(i) {
		inputs = append(inputs, agents.Message{From: s.trace[j].ID, Role: s.trace[j].Role, Content: s.readable(j)})
		nt.Inputs = append(nt.Inputs, s.trace[j].ID)
	}
	if err := ctx.Err(); err != nil {
		s.ctxHit = true
		s.skip(i, err)
		return false
	}
	if s.stopChain(i) {
		return false
	}
	step := nd.Step
	if len(s.d.preds[i]) > 0 && len(inputs) == 0 {
		if nd.Kind == NodeDecision {
			s.skip(i, errNoInput)
			return false
		}
		// No reply reached this agent, directly or through its ancestors
		// (a failed or unaffordable chain head or tree root): it answers
		// the question on its own, so the rest of the plan still runs.
		step = agents.StepReason
		nt.Step = step
	}
	if nd.Kind == NodeDecision && s.method != DecideRefer {
		s.hook(s.cfg.Hooks.OnNodeStart, i)
		if s.method == DecideVote {
			s.decideVote(i)
		} else {
			s.decideLast(i)
		}
		s.release(i)
		return false
	}

	ag := s.agents[i]
	req := agents.Request{
		Step:        step,
		Query:       s.task.Query,
		Inputs:      inputs,
		MaxTokens:   s.cfg.MaxTokens,
		Temperature: s.cfg.Temperature,
		Seed:        s.seeds[i],
	}
	if s.cfg.Budget > 0 {
		est := s.estimate(ag, req)
		if s.spent+s.held+est > s.cfg.Budget {
			err := fmt.Errorf("%w: node %s needs an estimated $%.6f with $%.6f spent and $%.6f reserved of $%.6f",
				ErrBudget, nd.ID, est, s.spent, s.held, s.cfg.Budget)
			if nd.Kind == NodeDecision {
				s.hook(s.cfg.Hooks.OnNodeStart, i)
				s.fallBack(i, err)
				s.release(i)
				return false
			}
			s.skip(i, err)
			return false
		}
		s.reserved[i] = est
		s.held += est
	}
	s.hook(s.cfg.Hooks.OnNodeStart, i)
	go func() {
		t0 := time.Now()
		rep, err := ag.Run(ctx, req)
		lat := time.Since(t0)
		var fb feedback
		if err == nil {
			fb = s.runFeedback(ctx, i, rep.Text)
		}
		s.results <- result{node: i, reply: rep, err: err, latency: lat, fb: fb}
	}()
	return true
}

// chatMessageOverhead is the tokens a chat format adds per message.
const chatMessageOverhead = 4

// estimate is the expected cost of req: its rendered prompt plus the
// expected completion, at the highest price among the model and its
// fallbacks, since a fallback may end up answering.
func (s *schedule) estimate(ag agents.Agent, req agents.Request) float64 {
	// Chat formats add a few tokens per message (the simulator counts 4).
	prompt := agents.EstimateTokens(agents.SystemPrompt(ag.Role)) + agents.EstimateTokens(agents.UserPrompt(req)) + 2*chatMessageOverhead
	completion := min(s.cfg.ExpectedCompletion, req.MaxTokens)
	if ag.Model.MaxTokens > 0 {
		completion = min(completion, ag.Model.MaxTokens)
	}
	return ag.Model.PriceCeiling().Cost(agents.Usage{PromptTokens: prompt, CompletionTokens: completion})
}

// finish records a model call's outcome and releases the node's readers.
func (s *schedule) finish(ctx context.Context, r result) {
	i := r.node
	nt := &s.trace[i]
	nt.Prompt = r.reply.Prompt
	nt.PromptTokens = r.reply.Usage.PromptTokens
	nt.CompletionTokens = r.reply.Usage.CompletionTokens
	nt.TokensEstimated = r.reply.UsageEstimated
	nt.Dollars = r.reply.Dollars
	nt.Latency = r.latency
	nt.ReportedLatency = r.reply.ReportedLatency
	nt.AnsweredBy = r.reply.AnsweredBy
	nt.Attempts = r.reply.Attempts
	s.held -= s.reserved[i]
	s.reserved[i] = 0
	s.spent += r.reply.Dollars

	switch {
	case r.err != nil:
		if ctx.Err() != nil {
			s.ctxHit = true
		}
		if s.d.nodes[i].Kind == NodeDecision && !s.ctxHit {
			s.fallBack(i, r.err)
			break
		}
		s.errs[i] = r.err
		nt.Error = r.err.Error()
	default:
		nt.Reply = r.reply.Text
		s.ok[i] = true
		s.extract(i)
		s.noteFeedback(i, r.fb)
	}
	s.release(i)
}

// skip records that node i never ran and releases its readers.
func (s *schedule) skip(i int, err error) {
	s.trace[i].Skipped = true
	s.trace[i].Error = err.Error()
	s.errs[i] = err
	s.release(i)
}

// release reports node i to the hooks and readies the readers whose inputs
// have all finished, keeping the ready list in stable order.
func (s *schedule) release(i int) {
	if s.ok[i] {
		s.eff[i] = []int{i}
	} else {
		s.eff[i] = s.arrived(i)
	}
	s.hook(s.cfg.Hooks.OnNodeEnd, i)
	for _, j := range s.d.succs[i] {
		s.pending[j]--
		if s.pending[j] == 0 {
			k := len(s.ready)
			for k > 0 && s.ready[k-1] > j {
				k--
			}
			s.ready = append(s.ready, 0)
			copy(s.ready[k+1:], s.ready[k:])
			s.ready[k] = j
		}
	}
}

func (s *schedule) hook(f func(NodeTrace), i int) {
	if f != nil {
		f(s.trace[i])
	}
}

// extract fills the node's answer when the task has a scorer.
func (s *schedule) extract(i int) {
	if s.task.Scorer == nil {
		return
	}
	if a, ok := s.task.Scorer.Extract(s.trace[i].Reply); ok {
		s.trace[i].Answer = a
		s.hasAns[i] = true
	}
}

// arrived lists the inputs of node i that produced a reply, in stable order;
// when none did, the nearest ancestors that did.
func (s *schedule) arrived(i int) []int {
	var out []int
	for _, j := range s.d.preds[i] {
		if s.ok[j] {
			out = append(out, j)
		}
	}
	if len(out) > 0 {
		return out
	}
	// Nothing arrived directly: read the nearest ancestors that replied, so
	// a failed or skipped node degrades the plan instead of cutting it.
	for _, j := range s.d.preds[i] {
		for _, k := range s.eff[j] {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// adopt makes node i's reply a copy of node j's.
func (s *schedule) adopt(i, j int) {
	s.trace[i].Reply = s.trace[j].Reply
	s.trace[i].Answer = s.trace[j].Answer
	s.hasAns[i] = s.hasAns[j]
	s.ok[i] = true
}

// decideLast passes through the reply of the last input that arrived.
func (s *schedule) decideLast(i int) {
	in := s.arrived(i)
	s.adopt(i, in[len(in)-1])
}

// decideVote takes the majority of the inputs' extracted answers, grouped by
// the scorer's equivalence; ties go to the group whose first member is
// earliest in stable order, and the reply is that member's. Without any
// extracted answer it passes through the earliest reply.
func (s *schedule) decideVote(i int) {
	in := s.arrived(i)
	type group struct{ first, count int }
	var groups []group
	for _, j := range in {
		if !s.hasAns[j] {
			continue
		}
		found := false
		for g := range groups {
			if s.task.Scorer.Equivalent(s.trace[groups[g].first].Answer, s.trace[j].Answer) {
				groups[g].count++
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, group{first: j, count: 1})
		}
	}
	if len(groups) == 0 {
		s.adopt(i, in[0])
		return
	}
	best := groups[0]
	for _, g := range groups[1:] {
		if g.count > best.count {
			best = g
		}
	}
	s.adopt(i, best.first)
}

// fallBack settles a DecideRefer node whose call failed or could not be
// afforded: it passes through the last reply that arrived and records why.
func (s *schedule) fallBack(i int, err error) {
	s.decideLast(i)
	s.trace[i].Error = fmt.Sprintf("decider: %v (used the last reply instead)", err)
}

// criticalPath is the longest chain of node latencies, each the provider's
// reported latency when it gave one and the measured latency otherwise.
func (s *schedule) criticalPath() time.Duration {
	dist := make([]time.Duration, len(s.trace))
	var longest time.Duration
	for i := range s.trace {
		var before time.Duration
		for _, j := range s.d.preds[i] {
			before = max(before, dist[j])
		}
		w := s.trace[i].ReportedLatency
		if w <= 0 {
			w = s.trace[i].Latency
		}
		dist[i] = before + w
		longest = max(longest, dist[i])
	}
	return longest
}
