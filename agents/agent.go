// Package agents binds roles to priced models and calls them.
//
// An Agent is a roles.Role running on a Model from a Pool. Every call goes
// through the model's langchaingo llms.Model; token usage reported by the
// provider (OpenAI, Anthropic or Ollama field names) is normalised into Usage
// and priced into dollars. Providers live in subpackages: sim (the calibrated
// offline simulator) and replay (recorded real outcomes).
//
// A pool file (ParsePoolFile, LoadPoolFile) describes a pool of real or
// simulated models: provider, endpoint, the environment variable holding
// the key, prices, skills and resilience settings. Every model it builds
// is Resilient: a timeout per attempt, retries with backoff on transient
// failures, and a fallback model, with every attempt recorded.
package agents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/roles"
)

// Step says what an agent is asked to do at one node of a plan.
type Step string

// The steps an executor asks agents to take.
const (
	// StepAnswer asks for a direct answer (IO).
	StepAnswer Step = "answer"
	// StepReason asks for step-by-step reasoning before the answer (CoT).
	StepReason Step = "reason"
	// StepReflect asks an agent to check and correct its own earlier reply.
	StepReflect Step = "reflect"
	// StepCollaborate asks an agent to solve while reading other agents' replies.
	StepCollaborate Step = "collaborate"
	// StepPlan asks an agent to outline how to solve before others solve.
	StepPlan Step = "plan"
	// StepDecide asks an agent to merge other agents' replies into one final answer.
	StepDecide Step = "decide"
)

// Instructions are the exact sentences the prompt uses for each step. They are
// exported so providers that simulate models can recognise the step.
var Instructions = map[Step]string{
	StepAnswer:      "Answer the question directly. Do not show your work; give only the final answer in the required output format.",
	StepReason:      "Think through the problem step by step, then give the final answer in the required output format.",
	StepReflect:     "Below is your previous reply. Check it critically for mistakes, then give a corrected (or confirmed) final answer in the required output format.",
	StepCollaborate: "Other agents' replies are shown below; they may contain mistakes. Use what is right in them, solve the problem yourself step by step, and give the final answer in the required output format.",
	StepPlan:        "Outline a plan for solving the problem: the key facts, the sub-steps and a tentative final answer in the required output format. Other agents will follow your plan.",
	StepDecide:      "You make the final decision. Read the agents' replies below, weigh them, and give the single best final answer in the required output format.",
}

// Prompt markers. They are exported so simulated providers can parse prompts.
const (
	// RolePrefix starts the first line of every system message.
	RolePrefix = "Role: "
	// QuestionHeader precedes the query in every user message.
	QuestionHeader = "Question:"
	// RepliesHeader precedes the replies of other agents.
	RepliesHeader = "Replies from other agents:"
	// ReplyOpen starts one reply block; it is followed by the author and " ===".
	ReplyOpen = "=== reply from "
	// ReplyClose ends one reply block.
	ReplyClose = "=== end of reply ==="
)

// Message is one reply an agent reads from another node.
type Message struct {
	// From is the node id that wrote it.
	From string `json:"from"`
	// Role is the author's role name.
	Role string `json:"role"`
	// Content is the reply text.
	Content string `json:"content"`
}

// Request is everything an agent needs for one call.
type Request struct {
	Step  Step
	Query string
	// Inputs are replies from predecessor nodes, in a stable order.
	Inputs []Message
	// MaxTokens caps the completion; 0 leaves the provider default.
	MaxTokens int
	// Temperature is passed through when Temperature > 0.
	Temperature float64
	// Seed is passed through when non-zero, for providers that honour it.
	Seed int
}

// Reply is the outcome of one agent call.
type Reply struct {
	Text string `json:"text"`
	// Prompt is the rendered system and user messages, for traces.
	Prompt string `json:"prompt"`
	Usage  Usage  `json:"usage"`
	// UsageEstimated is true when the provider reported no usage and the
	// counts come from EstimateTokens.
	UsageEstimated bool          `json:"usage_estimated,omitempty"`
	Dollars        float64       `json:"dollars"`
	Latency        time.Duration `json:"latency"`
	// ReportedLatency is the latency the provider claims (the simulator
	// reports the latency the real model would have had); zero if none.
	ReportedLatency time.Duration `json:"reported_latency,omitempty"`
	Model           string        `json:"model"`
	// AnsweredBy names the fallback model that wrote Text when Model itself
	// failed; empty when Model answered. Usage is priced at its price.
	AnsweredBy string `json:"answered_by,omitempty"`
	// Attempts lists every provider call the reply took, retries and
	// fallbacks included, when the model is Resilient; empty otherwise.
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Agent is a role bound to a model.
type Agent struct {
	Role  roles.Role
	Model *Model
}

// Messages renders the system and user messages for req.
func (a Agent) Messages(req Request) []llms.MessageContent {
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, SystemPrompt(a.Role)),
		llms.TextParts(llms.ChatMessageTypeHuman, UserPrompt(req)),
	}
}

// SystemPrompt renders a role's system message.
func SystemPrompt(r roles.Role) string {
	var b strings.Builder
	b.WriteString(RolePrefix)
	b.WriteString(r.Name)
	b.WriteString("\n")
	if r.SystemPrompt != "" {
		b.WriteString(strings.TrimSpace(r.SystemPrompt))
		b.WriteString("\n")
	}
	if r.OutputFormat != "" {
		b.WriteString("Output format: ")
		b.WriteString(strings.TrimSpace(r.OutputFormat))
		b.WriteString("\n")
	}
	return b.String()
}

// UserPrompt renders the user message for req.
func UserPrompt(req Request) string {
	var b strings.Builder
	step := req.Step
	if step == "" {
		step = StepAnswer
	}
	b.WriteString(Instructions[step])
	b.WriteString("\n\n")
	b.WriteString(QuestionHeader)
	b.WriteString("\n")
	b.WriteString(req.Query)
	b.WriteString("\n")
	if len(req.Inputs) > 0 {
		b.WriteString("\n")
		b.WriteString(RepliesHeader)
		b.WriteString("\n")
		for _, in := range req.Inputs {
			fmt.Fprintf(&b, "%s%s (%s) ===\n", ReplyOpen, in.From, in.Role)
			b.WriteString(strings.TrimSpace(in.Content))
			b.WriteString("\n")
			b.WriteString(ReplyClose)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Run calls the agent's model once. When the call fails after ctx is done,
// the context's error is returned instead of the provider's, because
// langchaingo providers lose its type; a call that completed is returned and
// priced even if ctx ended meanwhile, since it was paid for. A Resilient
// model's attempts are returned in Reply.Attempts, on failure too, and a
// reply written by its fallback is priced at the fallback's price.
func (a Agent) Run(ctx context.Context, req Request) (Reply, error) {
	if a.Model == nil || a.Model.LLM == nil {
		return Reply{}, errors.New("agent: no model")
	}
	if _, ok := Instructions[req.Step]; !ok && req.Step != "" {
		return Reply{}, fmt.Errorf("agent %s on %s: unknown step %q", a.Role.Name, a.Model.Name, req.Step)
	}
	msgs := a.Messages(req)
	rep := Reply{Model: a.Model.Name, Prompt: renderMessages(msgs)}
	var opts []llms.CallOption
	maxTok := req.MaxTokens
	if a.Model.MaxTokens > 0 && (maxTok == 0 || a.Model.MaxTokens < maxTok) {
		maxTok = a.Model.MaxTokens
	}
	if maxTok > 0 {
		opts = append(opts, llms.WithMaxTokens(maxTok))
	}
	if req.Temperature > 0 {
		opts = append(opts, llms.WithTemperature(req.Temperature))
	}
	if req.Seed != 0 {
		opts = append(opts, llms.WithSeed(req.Seed))
	}
	start := time.Now()
	callCtx, attempts := RecordAttempts(ctx)
	resp, err := a.Model.LLM.GenerateContent(callCtx, msgs, opts...)
	rep.Latency = time.Since(start)
	rep.Attempts = attempts()
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (provider: %v)", cerr, err)
		}
		return rep, fmt.Errorf("agent %s on %s: %w", a.Role.Name, a.Model.Name, err)
	}
	if resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil {
		return rep, fmt.Errorf("agent %s on %s: empty response", a.Role.Name, a.Model.Name)
	}
	choice := resp.Choices[0]
	rep.Text = choice.Content
	if u, ok := UsageFromGenerationInfo(choice.GenerationInfo); ok {
		rep.Usage = u
	} else {
		rep.UsageEstimated = true
		rep.Usage = Usage{PromptTokens: EstimateTokens(rep.Prompt), CompletionTokens: EstimateTokens(rep.Text)}
	}
	if ms, ok := intField(choice.GenerationInfo, "LatencyMs"); ok && ms > 0 {
		rep.ReportedLatency = time.Duration(ms) * time.Millisecond
	}
	price := a.Model.Price
	if n := len(rep.Attempts); n > 0 && rep.Attempts[n-1].OK() && rep.Attempts[n-1].Model != a.Model.Name {
		rep.AnsweredBy = rep.Attempts[n-1].Model
		for _, fb := range a.Model.Fallbacks() {
			if fb.Name == rep.AnsweredBy {
				price = fb.Price
				break
			}
		}
	}
	rep.Dollars = price.Cost(rep.Usage)
	return rep, nil
}

func renderMessages(msgs []llms.MessageContent) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(string(m.Role))
		b.WriteString(":\n")
		for _, p := range m.Parts {
			if t, ok := p.(llms.TextContent); ok {
				b.WriteString(t.Text)
			}
		}
	}
	return b.String()
}
