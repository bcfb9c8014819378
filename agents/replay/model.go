package replay

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
)

// ErrToolsUnsupported is returned when a call asks for tool use.
var ErrToolsUnsupported = errors.New("replay: tool calls are not supported")

// Model is one recorded model served as a langchaingo llms.Model. It is
// safe for concurrent use and deterministic: the reply depends only on the
// question the prompt carries.
//
// The question is read from the user message in the agents.UserPrompt
// layout (the text after agents.QuestionHeader, up to the other agents'
// replies) or, failing that, taken to be the whole user message. A known
// question is answered with Item.Reply; an unknown one with a short honest
// reply that says so ("Reply with 'X'" prompts get X, so langchaingo's
// conformance tests pass). Usage in GenerationInfo: prompt tokens are
// agents.EstimateTokens of the messages (plus 4 per message) and of the
// item's few-shot Prefix; completion tokens are the estimate of the reply;
// a pool built with PoolOptions.CallUsage reports that usage instead for
// every known question. "RecordedScore" carries the recorded score of a
// known question.
type Model struct {
	data  *Dataset
	index int
	usage *agents.Usage // fixed usage of known questions, if set
}

var _ llms.Model = (*Model)(nil)

// Name is the recorded model's name.
func (m *Model) Name() string { return m.data.Models[m.index].Name }

// Call implements llms.Model.
func (m *Model) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// GenerateContent implements llms.Model.
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
		return nil, errors.New("replay: no user message")
	}
	info := map[string]any{"Replayed": true}
	var text, prefix string
	switch it, known := m.data.lookup(QueryOf(user.String())); {
	case it != nil:
		text, prefix = it.Reply(m.index), it.Prefix
		info["RecordedScore"] = it.Outcomes[m.index].Score
		info["TaskID"] = it.Task.ID
	case known:
		text = fmt.Sprintf("This question appears more than once in the recorded %s/%s outcomes with different results, so %s has no single recorded answer to replay.", m.data.Source, m.data.Benchmark, m.Name())
	default:
		text = m.unknown(user.String())
	}
	promptTokens := agents.EstimateTokens(sys.String()) + agents.EstimateTokens(user.String()) + 4*len(messages) + agents.EstimateTokens(prefix)
	stop := "stop"
	if opts.MaxTokens > 0 && agents.EstimateTokens(text) > opts.MaxTokens {
		text = string([]rune(text)[:4*opts.MaxTokens])
		stop = "length"
	}
	completion := agents.EstimateTokens(text)
	if m.usage != nil && info["TaskID"] != nil {
		promptTokens, completion = m.usage.PromptTokens, m.usage.CompletionTokens
	}
	info["PromptTokens"] = promptTokens
	info["CompletionTokens"] = completion
	info["TotalTokens"] = promptTokens + completion
	if opts.StreamingFunc != nil {
		r := []rune(text)
		for len(r) > 0 {
			n := min(24, len(r))
			if err := opts.StreamingFunc(ctx, []byte(string(r[:n]))); err != nil {
				return nil, fmt.Errorf("replay: streaming: %w", err)
			}
			r = r[n:]
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        text,
		StopReason:     stop,
		GenerationInfo: info,
	}}}, nil
}

var (
	replyWithRe = regexp.MustCompile(`(?i)(?:reply|respond|answer|say)(?: with)? ['"]([^'"]+)['"]`)
	countToRe   = regexp.MustCompile(`(?i)count (?:from (\d+) )?to (\d+)`)
)

// unknown answers a prompt that carries no recorded question.
func (m *Model) unknown(user string) string {
	if g := replyWithRe.FindStringSubmatch(user); g != nil {
		return g[1]
	}
	if g := countToRe.FindStringSubmatch(user); g != nil {
		from := 1
		if g[1] != "" {
			from, _ = strconv.Atoi(g[1])
		}
		to, _ := strconv.Atoi(g[2])
		to = min(to, from+100)
		var parts []string
		for i := from; i <= to; i++ {
			parts = append(parts, strconv.Itoa(i))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("I replay %s's recorded answers to the %s/%s questions, and this question is not among them, so I have no answer to give.", m.Name(), m.data.Source, m.data.Benchmark)
}

// QueryOf returns the question a user message carries: the text after the
// agents.QuestionHeader line, up to the block of other agents' replies, or
// the whole message when it has no such header. Surrounding space is
// trimmed.
func QueryOf(user string) string {
	i := strings.Index(user, agents.QuestionHeader+"\n")
	if i < 0 {
		return strings.TrimSpace(user)
	}
	rest := user[i+len(agents.QuestionHeader)+1:]
	if j := strings.Index(rest, "\n\n"+agents.RepliesHeader+"\n"); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}
