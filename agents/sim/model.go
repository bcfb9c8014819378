// Package sim is masrouter's offline model provider: a pool of simulated
// LLMs that answer real benchmark questions deterministically.
//
// Each simulated model has a list price and a per-benchmark skill calibrated
// so that a single agent answering directly (IO) reaches the model's
// published accuracy (data/models.yaml names every source). Each question has
// a difficulty from its own features (GSM8K solution length, MATH level and
// subject, MMLU subject, the length and control flow of a HumanEval or MBPP
// reference solution) plus an idiosyncratic part; how strongly questions
// rather than calls decide outcomes is fitted to the correlation of real
// recorded outcomes (data/world.yaml). Agents are swayed by what their
// predecessors said: a correct majority helps, a wrong one misleads. Replies
// are text in the format the role asks for, built from the dataset's own
// reference solution (or a perturbation of it when the simulated answer is
// wrong), so the real scorers and answer extraction run on them. On code the
// reply is a fenced Python block: the reference solution, or a breakage of it
// (an off-by-one, a flipped comparison, a swapped operator, a dropped guard
// clause, a wrong output form, a syntax error) that was checked to fail the
// task's hidden tests (data/code_breakages.tsv), and an agent that reads a
// visible-test failure appended to an earlier reply is a little more likely
// to fix it (data/world.yaml code_feedback). Token counts
// follow the real prompt and reply lengths. Everything is deterministic for a
// seed.
//
// It is a simulation: no language model runs, and reports built on it say so.
package sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
)

// ErrToolsUnsupported is returned when a call asks for tool use.
var ErrToolsUnsupported = errors.New("sim: tool calls are not supported")

// Model is one simulated LLM. It implements llms.Model and is safe for
// concurrent use.
type Model struct {
	world   *World
	profile *Profile
}

var _ llms.Model = (*Model)(nil)

// Name is the simulated model's name.
func (m *Model) Name() string { return m.profile.Name }

// Call implements llms.Model.
func (m *Model) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// GenerateContent implements llms.Model. The reply depends only on the
// world's seed, the model, the messages and the call's seed option.
func (m *Model) GenerateContent(ctx context.Context, messages []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}
	if len(opts.Tools) > 0 || len(opts.Functions) > 0 {
		return nil, ErrToolsUnsupported
	}
	var sys, user strings.Builder
	for _, msg := range messages {
		dst := &user
		if msg.Role == llms.ChatMessageTypeSystem {
			dst = &sys
		}
		for _, part := range msg.Parts {
			if tc, ok := part.(llms.TextContent); ok {
				if dst.Len() > 0 {
					dst.WriteString("\n")
				}
				dst.WriteString(tc.Text)
			}
		}
	}
	if user.Len() == 0 {
		return nil, errors.New("sim: no user message")
	}
	p := parsePrompt(sys.String(), user.String())
	var text string
	if e := m.world.lookup(p); e != nil {
		key := hashOf("call", strconv.FormatUint(m.world.seed, 10), m.profile.Name, sys.String(), user.String(), strconv.Itoa(opts.Seed))
		o := m.world.decide(ctx, m.profile.Name, e, p, key)
		text = render(e, p, o)
	} else {
		text = generic(p.user)
	}
	promptTokens := agents.EstimateTokens(sys.String()) + agents.EstimateTokens(user.String()) + 4*len(messages)
	stop := "stop"
	if opts.MaxTokens > 0 && agents.EstimateTokens(text) > opts.MaxTokens {
		text = truncateTokens(text, opts.MaxTokens)
		stop = "length"
	}
	completion := agents.EstimateTokens(text)
	lat := m.profile.latency(promptTokens, completion)
	if m.world.timeScale > 0 {
		if err := sleep(ctx, time.Duration(float64(lat)*m.world.timeScale)); err != nil {
			return nil, err
		}
	}
	if opts.StreamingFunc != nil {
		for _, chunk := range chunks(text, 24) {
			if err := opts.StreamingFunc(ctx, []byte(chunk)); err != nil {
				return nil, fmt.Errorf("sim: streaming: %w", err)
			}
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:    text,
		StopReason: stop,
		GenerationInfo: map[string]any{
			"PromptTokens":     promptTokens,
			"CompletionTokens": completion,
			"TotalTokens":      promptTokens + completion,
			"LatencyMs":        int(lat / time.Millisecond),
			"Simulated":        true,
		},
	}}}, nil
}

func truncateTokens(s string, maxTokens int) string {
	r := []rune(s)
	if n := maxTokens * 4; n < len(r) {
		return string(r[:n])
	}
	return s
}

func chunks(s string, size int) []string {
	r := []rune(s)
	var out []string
	for len(r) > 0 {
		n := min(size, len(r))
		out = append(out, string(r[:n]))
		r = r[n:]
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
