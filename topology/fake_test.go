package topology_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// fakeModel is a deterministic, goroutine-safe llms.Model. It reads the role
// and step from the prompt and replies "<role> <step> from <k> replies:
// \boxed{<answer>}", reporting token usage and a latency in GenerationInfo.
// Roles can be told to fail, to block until their context ends, or to wait
// at a barrier until enough calls are in flight at once.
type fakeModel struct {
	// answer maps a role to its answer; roles not listed answer "42".
	answer map[string]string
	// answerFn, when set, overrides answer.
	answerFn func(role string, step agents.Step) string
	// fail maps a role to the error its calls return; failStep does the
	// same for a step.
	fail     map[string]error
	failStep map[agents.Step]error
	// block lists roles whose calls wait for their context to end; each
	// blocked call sends its role on blocked (if non-nil) first.
	block   map[string]bool
	blocked chan string
	// latencyMs maps a role to the latency it reports; 0 reports none.
	latencyMs map[string]int
	// noUsage makes the model report no token usage.
	noUsage bool
	// barrier, when set, holds calls of the listed roles until its parties
	// have all arrived.
	barrier *barrier

	mu          sync.Mutex
	calls       []fakeCall
	inFlight    int
	maxInFlight int
}

// fakeCall is one recorded call.
type fakeCall struct {
	Role   string
	Step   agents.Step
	User   string
	Seed   int
	MaxTok int
}

// barrier releases its waiting calls once parties calls have arrived.
type barrier struct {
	roles   map[string]bool
	parties int

	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func newBarrier(parties int, roles ...string) *barrier {
	b := &barrier{roles: map[string]bool{}, parties: parties, open: make(chan struct{})}
	for _, r := range roles {
		b.roles[r] = true
	}
	return b
}

func (b *barrier) wait(ctx context.Context, role string) error {
	if b == nil || !b.roles[role] {
		return nil
	}
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.parties {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var stepByInstruction = func() map[string]agents.Step {
	m := make(map[string]agents.Step, len(agents.Instructions))
	for s, text := range agents.Instructions {
		m[text] = s
	}
	return m
}()

func (f *fakeModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if len(msgs) != 2 {
		return nil, fmt.Errorf("fake: want system and user messages, got %d", len(msgs))
	}
	system, user := partText(msgs[0]), partText(msgs[1])
	role := strings.TrimPrefix(strings.SplitN(system, "\n", 2)[0], agents.RolePrefix)
	step := stepByInstruction[strings.SplitN(user, "\n", 2)[0]]
	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}

	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{Role: role, Step: step, User: user, Seed: opts.Seed, MaxTok: opts.MaxTokens})
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()

	if err := f.barrier.wait(ctx, role); err != nil {
		return nil, err
	}
	if f.block[role] {
		if f.blocked != nil {
			f.blocked <- role
		}
		<-ctx.Done()
		return nil, errors.New("fake: provider gave up") // the type is lost, as with langchaingo
	}
	if err := f.fail[role]; err != nil {
		return nil, err
	}
	if err := f.failStep[step]; err != nil {
		return nil, err
	}

	ans := "42"
	if a, ok := f.answer[role]; ok {
		ans = a
	}
	if f.answerFn != nil {
		ans = f.answerFn(role, step)
	}
	text := fmt.Sprintf("%s %s from %d replies: \\boxed{%s}", role, step, strings.Count(user, agents.ReplyOpen), ans)
	info := map[string]any{}
	if !f.noUsage {
		info["PromptTokens"] = agents.EstimateTokens(system) + agents.EstimateTokens(user)
		info["CompletionTokens"] = agents.EstimateTokens(text)
	}
	if ms := f.latencyMs[role]; ms > 0 {
		info["LatencyMs"] = ms
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, GenerationInfo: info}}}, nil
}

func (f *fakeModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, f, prompt, options...)
}

func (f *fakeModel) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func partText(m llms.MessageContent) string {
	var b strings.Builder
	for _, p := range m.Parts {
		if t, ok := p.(llms.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// boxedScorer extracts the last \boxed{...} and compares answers as trimmed strings.
type boxedScorer struct{}

var boxedRE = regexp.MustCompile(`\\boxed\{([^{}]*)\}`)

func (boxedScorer) Name() string { return "boxed" }

func (boxedScorer) Extract(reply string) (string, bool) {
	m := boxedRE.FindAllStringSubmatch(reply, -1)
	if len(m) == 0 {
		return "", false
	}
	return strings.TrimSpace(m[len(m)-1][1]), true
}

func (boxedScorer) Equivalent(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }

// Test fixtures: four roles in the math domain and three priced models.
const (
	solver  = "Solver"
	critic  = "Critic"
	planner = "Planner"
	checker = "Checker"
)

func testRegistry(t testing.TB) *roles.Registry {
	t.Helper()
	reg := &roles.Registry{}
	for _, r := range []roles.Role{
		{Name: solver, Kind: roles.KindSolver},
		{Name: critic, Kind: roles.KindCritic},
		{Name: planner, Kind: roles.KindPlanner},
		{Name: checker, Kind: roles.KindVerifier},
	} {
		r.Domain = tasks.DomainMath
		r.Description = "A test role."
		r.SystemPrompt = "You are the " + r.Name + "."
		r.OutputFormat = `End with \boxed{answer}.`
		require.NoError(t, reg.Add(r))
	}
	return reg
}

func testPool(t testing.TB, llm llms.Model) *agents.Pool {
	t.Helper()
	pool, err := agents.NewPool(
		&agents.Model{Name: "small", Provider: "fake", LLM: llm, Price: agents.Price{InputPerMillion: 1, OutputPerMillion: 2}},
		&agents.Model{Name: "large", Provider: "fake", LLM: llm, Price: agents.Price{InputPerMillion: 10, OutputPerMillion: 30}},
		// huge costs a dollar a token, so no small budget affords it.
		&agents.Model{Name: "huge", Provider: "fake", LLM: llm, Price: agents.Price{InputPerMillion: 1e6, OutputPerMillion: 1e6}},
	)
	require.NoError(t, err)
	return pool
}

func testTask() *tasks.Task {
	return &tasks.Task{ID: "t/1", Benchmark: "test", Domain: tasks.DomainMath, Query: "What is 6 * 7?", Gold: "42", Scorer: boxedScorer{}}
}

func testExecutor(t testing.TB, llm llms.Model, mod func(*topology.Config)) *topology.Executor {
	t.Helper()
	cfg := topology.Config{Pool: testPool(t, llm), Roles: testRegistry(t), NewID: func() string { return "trace-0001" }}
	if mod != nil {
		mod(&cfg)
	}
	e, err := topology.NewExecutor(cfg)
	require.NoError(t, err)
	return e
}

// plan returns a plan of mode m with one agent per role, all on "small".
func plan(m topology.Mode, roleNames ...string) topology.Plan {
	p := topology.Plan{Mode: m, Domain: tasks.DomainMath}
	for _, r := range roleNames {
		p.Agents = append(p.Agents, topology.AgentSpec{Role: r, Model: "small"})
	}
	return p
}
