package agents_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// fakeLLM is a goroutine-safe llms.Model that records every call and answers
// with respond (or "ok" without usage when respond is nil).
type fakeLLM struct {
	respond func(ctx context.Context, msgs []llms.MessageContent, opts llms.CallOptions) (*llms.ContentResponse, error)

	mu    sync.Mutex
	calls []fakeCall
}

// fakeCall is one recorded call: the messages, the options applied, and how
// many options were passed.
type fakeCall struct {
	msgs  []llms.MessageContent
	opts  llms.CallOptions
	nopts int
}

var _ llms.Model = (*fakeLLM)(nil)

func (f *fakeLLM) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var o llms.CallOptions
	for _, opt := range options {
		opt(&o)
	}
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{msgs: msgs, opts: o, nopts: len(options)})
	f.mu.Unlock()
	if f.respond == nil {
		return textResponse("ok", nil), nil
	}
	return f.respond(ctx, msgs, o)
}

func (f *fakeLLM) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, f, prompt, options...)
}

func (f *fakeLLM) recorded() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.calls...)
}

func textResponse(text string, info map[string]any) *llms.ContentResponse {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: text, StopReason: "stop", GenerationInfo: info}}}
}

// replyWith answers every call with text and info.
func replyWith(text string, info map[string]any) func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
	return func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
		return textResponse(text, info), nil
	}
}

var mathSolver = roles.Role{
	Name:         "Math Solver",
	Domain:       tasks.DomainMath,
	Kind:         roles.KindSolver,
	Description:  "Solves math word problems.",
	SystemPrompt: "  You are a careful mathematician.\nCheck every step.  \n",
	OutputFormat: " End with: The answer is <number>. ",
}

func fakeAgent(f *fakeLLM) agents.Agent {
	return agents.Agent{Role: mathSolver, Model: &agents.Model{
		Name:     "fake-4o",
		Provider: "fake",
		LLM:      f,
		Price:    agents.Price{InputPerMillion: 2.5, OutputPerMillion: 10},
	}}
}

func TestAgentRunUsage(t *testing.T) {
	const text = "6 times 7 is 42. The answer is 42."
	tests := []struct {
		name          string
		info          map[string]any
		want          agents.Usage // zero: estimated from the prompt and reply
		wantEstimated bool
	}{
		{"openai keys", map[string]any{"PromptTokens": 1000, "CompletionTokens": 200, "TotalTokens": 1200}, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, false},
		{"anthropic keys", map[string]any{"InputTokens": 1000, "OutputTokens": 200}, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, false},
		{"float keys", map[string]any{"PromptTokens": 1000.0, "CompletionTokens": 200.0}, agents.Usage{PromptTokens: 1000, CompletionTokens: 200}, false},
		{"no generation info", nil, agents.Usage{}, true},
		{"no usage keys", map[string]any{"StopReason": "stop"}, agents.Usage{}, true},
		{"zero usage", map[string]any{"PromptTokens": 0, "CompletionTokens": 0, "TotalTokens": 0}, agents.Usage{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLLM{respond: replyWith(text, tt.info)}
			a := fakeAgent(f)
			rep, err := a.Run(context.Background(), agents.Request{Step: agents.StepReason, Query: "What is 6 times 7?"})
			require.NoError(t, err)
			assert.Equal(t, text, rep.Text)
			assert.Equal(t, "fake-4o", rep.Model)
			assert.Equal(t, tt.wantEstimated, rep.UsageEstimated)
			want := tt.want
			if tt.wantEstimated {
				want = agents.Usage{PromptTokens: agents.EstimateTokens(rep.Prompt), CompletionTokens: agents.EstimateTokens(text)}
				assert.Positive(t, want.PromptTokens)
				assert.Equal(t, 9, want.CompletionTokens) // 34 runes
			}
			assert.Equal(t, want, rep.Usage)
			assert.InDelta(t, a.Model.Price.Cost(want), rep.Dollars, 1e-15)
			if !tt.wantEstimated {
				assert.InDelta(t, 0.0045, rep.Dollars, 1e-12)
			}
			assert.GreaterOrEqual(t, rep.Latency, time.Duration(0))
			assert.Len(t, f.recorded(), 1)
		})
	}
}

func TestAgentRunPromptReachesModel(t *testing.T) {
	f := &fakeLLM{}
	a := fakeAgent(f)
	req := agents.Request{
		Step:   agents.StepCollaborate,
		Query:  "What is 6 times 7?",
		Inputs: []agents.Message{{From: "a0", Role: "Math Solver", Content: "42"}},
	}
	rep, err := a.Run(context.Background(), req)
	require.NoError(t, err)
	calls := f.recorded()
	require.Len(t, calls, 1)
	msgs := calls[0].msgs
	require.Len(t, msgs, 2)
	assert.Equal(t, a.Messages(req), msgs)
	assert.Equal(t, llms.ChatMessageTypeSystem, msgs[0].Role)
	assert.Equal(t, []llms.ContentPart{llms.TextContent{Text: agents.SystemPrompt(mathSolver)}}, msgs[0].Parts)
	assert.Equal(t, llms.ChatMessageTypeHuman, msgs[1].Role)
	assert.Equal(t, []llms.ContentPart{llms.TextContent{Text: agents.UserPrompt(req)}}, msgs[1].Parts)
	assert.Equal(t, "system:\n"+agents.SystemPrompt(mathSolver)+"\nhuman:\n"+agents.UserPrompt(req), rep.Prompt)
}

func TestAgentRunMaxTokens(t *testing.T) {
	tests := []struct {
		name     string
		request  int
		modelCap int
		want     int // 0: the option is not passed
	}{
		{"neither", 0, 0, 0},
		{"request only", 300, 0, 300},
		{"model cap only", 0, 128, 128},
		{"model cap smaller", 300, 128, 128},
		{"request smaller", 64, 128, 64},
		{"equal", 128, 128, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLLM{}
			a := fakeAgent(f)
			a.Model.MaxTokens = tt.modelCap
			_, err := a.Run(context.Background(), agents.Request{Query: "q", MaxTokens: tt.request})
			require.NoError(t, err)
			calls := f.recorded()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.want, calls[0].opts.MaxTokens)
			wantOpts := 0
			if tt.want > 0 {
				wantOpts = 1
			}
			assert.Equal(t, wantOpts, calls[0].nopts, "only the max tokens option, and only when set")
		})
	}
}

func TestAgentRunSamplingOptions(t *testing.T) {
	tests := []struct {
		name     string
		temp     float64
		seed     int
		wantOpts int
	}{
		{"defaults pass nothing", 0, 0, 0},
		{"temperature", 0.7, 0, 1},
		{"negative temperature is not passed", -1, 0, 0},
		{"seed", 0, 42, 1},
		{"negative seed", 0, -3, 1},
		{"both", 1.2, 7, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLLM{}
			_, err := fakeAgent(f).Run(context.Background(), agents.Request{Query: "q", Temperature: tt.temp, Seed: tt.seed})
			require.NoError(t, err)
			calls := f.recorded()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.wantOpts, calls[0].nopts)
			wantTemp := 0.0
			if tt.temp > 0 {
				wantTemp = tt.temp
			}
			assert.InDelta(t, wantTemp, calls[0].opts.Temperature, 0)
			assert.Equal(t, tt.seed, calls[0].opts.Seed)
		})
	}
}

func TestAgentRunReportedLatency(t *testing.T) {
	tests := []struct {
		name string
		info map[string]any
		want time.Duration
	}{
		{"int", map[string]any{"LatencyMs": 1500}, 1500 * time.Millisecond},
		{"int64", map[string]any{"LatencyMs": int64(20)}, 20 * time.Millisecond},
		{"float64", map[string]any{"LatencyMs": 250.0}, 250 * time.Millisecond},
		{"absent", map[string]any{"PromptTokens": 5}, 0},
		{"zero", map[string]any{"LatencyMs": 0}, 0},
		{"negative", map[string]any{"LatencyMs": -5}, 0},
		{"wrong type", map[string]any{"LatencyMs": "1500"}, 0},
		{"nil info", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := fakeAgent(&fakeLLM{respond: replyWith("x", tt.info)}).Run(context.Background(), agents.Request{Query: "q"})
			require.NoError(t, err)
			assert.Equal(t, tt.want, rep.ReportedLatency)
		})
	}
}

func TestAgentRunErrors(t *testing.T) {
	errProvider := errors.New("503 service unavailable")
	tests := []struct {
		name    string
		respond func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error)
		req     agents.Request
		wantIs  error
		wantMsg string
	}{
		{
			name: "provider error is wrapped with role and model",
			respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
				return nil, fmt.Errorf("openai: %w", errProvider)
			},
			wantIs:  errProvider,
			wantMsg: "agent Math Solver on fake-4o: openai: 503 service unavailable",
		},
		{
			name: "nil response",
			respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
				return nil, nil
			},
			wantMsg: "agent Math Solver on fake-4o: empty response",
		},
		{
			name: "no choices",
			respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
				return &llms.ContentResponse{}, nil
			},
			wantMsg: "agent Math Solver on fake-4o: empty response",
		},
		{
			name: "nil choice",
			respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
				return &llms.ContentResponse{Choices: []*llms.ContentChoice{nil}}, nil
			},
			wantMsg: "agent Math Solver on fake-4o: empty response",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := fakeAgent(&fakeLLM{respond: tt.respond})
			rep, err := a.Run(context.Background(), agents.Request{Query: "q"})
			require.Error(t, err)
			assert.EqualError(t, err, tt.wantMsg)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			assert.Equal(t, "fake-4o", rep.Model)
			assert.NotEmpty(t, rep.Prompt, "the reply keeps the prompt for the trace")
			assert.Zero(t, rep.Dollars)
		})
	}
}

func TestAgentRunUnknownStep(t *testing.T) {
	f := &fakeLLM{}
	_, err := fakeAgent(f).Run(context.Background(), agents.Request{Step: "brainstorm", Query: "q"})
	assert.EqualError(t, err, `agent Math Solver on fake-4o: unknown step "brainstorm"`)
	assert.Empty(t, f.recorded(), "the model is not called")
}

func TestAgentRunNoModel(t *testing.T) {
	tests := []struct {
		name  string
		model *agents.Model
	}{
		{"nil model", nil},
		{"nil llm", &agents.Model{Name: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agents.Agent{Role: mathSolver, Model: tt.model}.Run(context.Background(), agents.Request{Query: "q"})
			assert.EqualError(t, err, "agent: no model")
		})
	}
}

func TestAgentRunContextErrorWins(t *testing.T) {
	t.Run("cancelled during the call", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := &fakeLLM{respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
			cancel()
			// What langchaingo's HTTP clients return: a generic error that
			// has lost the context error's type.
			return nil, errors.New("send request: connection reset")
		}}
		_, err := fakeAgent(f).Run(ctx, agents.Request{Query: "q"})
		require.Error(t, err)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Contains(t, err.Error(), "agent Math Solver on fake-4o: context canceled")
		assert.Contains(t, err.Error(), "connection reset", "the provider's message is kept")
	})
	t.Run("deadline passed", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		f := &fakeLLM{respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
			return nil, errors.New("timeout awaiting response headers")
		}}
		_, err := fakeAgent(f).Run(ctx, agents.Request{Query: "q"})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("provider returns the context error itself", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &fakeLLM{respond: func(ctx context.Context, _ []llms.MessageContent, _ llms.CallOptions) (*llms.ContentResponse, error) {
			return nil, ctx.Err()
		}}
		_, err := fakeAgent(f).Run(ctx, agents.Request{Query: "q"})
		assert.EqualError(t, err, "agent Math Solver on fake-4o: context canceled")
	})
	t.Run("a completed call is kept and priced", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := &fakeLLM{respond: func(context.Context, []llms.MessageContent, llms.CallOptions) (*llms.ContentResponse, error) {
			cancel()
			return textResponse("The answer is 42.", map[string]any{"PromptTokens": 1000, "CompletionTokens": 200}), nil
		}}
		rep, err := fakeAgent(f).Run(ctx, agents.Request{Query: "q"})
		require.NoError(t, err)
		assert.Equal(t, "The answer is 42.", rep.Text)
		assert.InDelta(t, 0.0045, rep.Dollars, 1e-12)
	})
}

// TestAgentRunConcurrent runs one agent from many goroutines; with -race it
// checks Run shares nothing mutable between calls.
func TestAgentRunConcurrent(t *testing.T) {
	f := &fakeLLM{respond: func(_ context.Context, msgs []llms.MessageContent, _ llms.CallOptions) (*llms.ContentResponse, error) {
		user := msgs[1].Parts[0].(llms.TextContent).Text
		return textResponse("echo: "+user[strings.LastIndex(user, "#"):], map[string]any{"PromptTokens": 10, "CompletionTokens": 2}), nil
	}}
	a := fakeAgent(f)
	const n = 16
	var wg sync.WaitGroup
	replies := make([]agents.Reply, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = a.Run(context.Background(), agents.Request{Query: fmt.Sprintf("question #%d", i), Seed: i + 1})
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, fmt.Sprintf("echo: #%d\n", i), replies[i].Text)
		assert.Equal(t, agents.Usage{PromptTokens: 10, CompletionTokens: 2}, replies[i].Usage)
	}
	assert.Len(t, f.recorded(), n)
}

func TestSystemPrompt(t *testing.T) {
	tests := []struct {
		name string
		role roles.Role
		want string
	}{
		{
			name: "full role",
			role: mathSolver,
			want: "Role: Math Solver\n" +
				"You are a careful mathematician.\nCheck every step.\n" +
				"Output format: End with: The answer is <number>.\n",
		},
		{"name only", roles.Role{Name: "Critic"}, "Role: Critic\n"},
		{"no output format", roles.Role{Name: "Planner", SystemPrompt: "Plan."}, "Role: Planner\nPlan.\n"},
		{"no system prompt", roles.Role{Name: "Judge", OutputFormat: "(A)"}, "Role: Judge\nOutput format: (A)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := agents.SystemPrompt(tt.role)
			assert.Equal(t, tt.want, got)
			first, _, _ := strings.Cut(got, "\n")
			assert.Equal(t, agents.RolePrefix+tt.role.Name, first)
		})
	}
}

func TestUserPromptSteps(t *testing.T) {
	steps := []agents.Step{agents.StepAnswer, agents.StepReason, agents.StepReflect, agents.StepCollaborate, agents.StepPlan, agents.StepDecide}
	require.Len(t, agents.Instructions, len(steps), "every step has an instruction and every instruction a step")
	seen := map[string]agents.Step{}
	for _, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			instr := agents.Instructions[step]
			require.NotEmpty(t, instr)
			require.NotContains(t, instr, "\n")
			prev, dup := seen[instr]
			assert.False(t, dup, "step %s repeats the instruction of %s", step, prev)
			seen[instr] = step

			got := agents.UserPrompt(agents.Request{Step: step, Query: "What is 6 times 7?"})
			assert.Equal(t, instr+"\n\n"+agents.QuestionHeader+"\nWhat is 6 times 7?\n", got)
			assert.NotContains(t, got, agents.RepliesHeader, "no replies header without inputs")
		})
	}
	t.Run("empty step is answer", func(t *testing.T) {
		assert.Equal(t,
			agents.UserPrompt(agents.Request{Step: agents.StepAnswer, Query: "q"}),
			agents.UserPrompt(agents.Request{Query: "q"}))
	})
}

func TestUserPromptReplies(t *testing.T) {
	req := agents.Request{
		Step:  agents.StepDecide,
		Query: "Natalia sold 48 clips in April and half as many in May. How many in total?",
		Inputs: []agents.Message{
			{From: "a0", Role: "Math Solver", Content: "  48 + 24 = 72.\nThe answer is 72.\n\n"},
			{From: "a1.reflect", Role: "Math Critic", Content: "The answer is 70."},
		},
	}
	want := agents.Instructions[agents.StepDecide] + "\n" +
		"\n" +
		"Question:\n" +
		"Natalia sold 48 clips in April and half as many in May. How many in total?\n" +
		"\n" +
		"Replies from other agents:\n" +
		"=== reply from a0 (Math Solver) ===\n" +
		"48 + 24 = 72.\nThe answer is 72.\n" +
		"=== end of reply ===\n" +
		"=== reply from a1.reflect (Math Critic) ===\n" +
		"The answer is 70.\n" +
		"=== end of reply ===\n"
	got := agents.UserPrompt(req)
	assert.Equal(t, want, got)

	// The markers appear in order: question, replies header, then one
	// open/close pair per input in input order.
	q := strings.Index(got, agents.QuestionHeader)
	h := strings.Index(got, agents.RepliesHeader)
	o0 := strings.Index(got, agents.ReplyOpen+"a0 (Math Solver) ===")
	c0 := strings.Index(got, agents.ReplyClose)
	o1 := strings.Index(got, agents.ReplyOpen+"a1.reflect (Math Critic) ===")
	c1 := strings.LastIndex(got, agents.ReplyClose)
	for _, i := range []int{q, h, o0, c0, o1, c1} {
		require.GreaterOrEqual(t, i, 0)
	}
	assert.True(t, q < h && h < o0 && o0 < c0 && c0 < o1 && o1 < c1, "markers out of order: %v", []int{q, h, o0, c0, o1, c1})
	assert.Equal(t, 2, strings.Count(got, agents.ReplyOpen))
	assert.Equal(t, 2, strings.Count(got, agents.ReplyClose))
}

func BenchmarkAgentRun(b *testing.B) {
	f := &fakeLLM{respond: replyWith("48 + 24 = 72. The answer is 72.", map[string]any{"PromptTokens": 180, "CompletionTokens": 12, "LatencyMs": 900})}
	a := fakeAgent(f)
	req := agents.Request{
		Step:      agents.StepCollaborate,
		Query:     "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
		Inputs:    []agents.Message{{From: "a0", Role: "Math Solver", Content: "48 / 2 = 24 in May; 48 + 24 = 72. The answer is 72."}},
		MaxTokens: 512,
		Seed:      1,
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Run(ctx, req); err != nil {
			b.Fatal(err)
		}
		f.mu.Lock()
		f.calls = f.calls[:0]
		f.mu.Unlock()
	}
}
