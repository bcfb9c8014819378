package replay

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/testing/llmtest"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func TestLLMConformance(t *testing.T) {
	for _, bench := range []string{"gsm8k", "llmrouter"} {
		d := load(t, bench)
		m, err := d.ModelFor(d.Models[0].Name)
		require.NoError(t, err)
		t.Run(bench, func(t *testing.T) { llmtest.TestLLM(t, m) })
	}
}

func solver(t testing.TB, reg *roles.Registry, dom tasks.Domain) roles.Role {
	t.Helper()
	for _, r := range reg.Domain(dom) {
		if r.Kind == roles.KindSolver {
			return r
		}
	}
	t.Fatalf("domain %s has no solver", dom)
	return roles.Role{}
}

// TestScoresAsRecorded runs every recorded model on every recorded
// question through agents.Agent and tasks.Score and checks the score is the
// recorded one (LLMRouter CommonGen: the recorded coverage fraction).
func TestScoresAsRecorded(t *testing.T) {
	t.Parallel()
	reg, err := roles.Default()
	require.NoError(t, err)
	for _, bench := range []string{"gsm8k", "mmlu", "llmrouter"} {
		t.Run(bench, func(t *testing.T) {
			t.Parallel()
			d := load(t, bench)
			pool, err := d.Pool(PoolOptions{})
			require.NoError(t, err)
			ctx := context.Background()
			items := d.Items
			if testing.Short() {
				items = items[:min(len(items), 300)]
			}
			var mismatches, n int
			for _, m := range pool.Models() {
				mi, err := d.ModelIndex(m.Name)
				require.NoError(t, err)
				for _, it := range items {
					a := agents.Agent{Role: solver(t, reg, it.Task.Domain), Model: m}
					rep, err := a.Run(ctx, agents.Request{Step: agents.StepAnswer, Query: it.Task.Query})
					require.NoError(t, err)
					s, err := tasks.Score(ctx, it.Task, rep.Text)
					require.NoError(t, err)
					n++
					// LLMRouter stores fractions to 10 decimal places.
					if !assert.InDelta(t, it.Outcomes[mi].Score, s, 1e-9, "%s on %s: reply %q", m.Name, it.Task.ID, rep.Text) {
						if mismatches++; mismatches > 5 {
							t.FailNow()
						}
					}
					require.False(t, rep.UsageEstimated)
					require.Greater(t, rep.Usage.PromptTokens, agents.EstimateTokens(it.Task.Query))
					require.Positive(t, rep.Dollars)
				}
			}
			t.Logf("%s: %d replayed calls scored as recorded", bench, n)
		})
	}
}

// TestGSM8KScorerAgreement reports how often the tasks GSM8K scorer, reading
// RouteLLM's recorded replies as they are, agrees with the correctness
// RouteLLM recorded (the last integer of the reply against the gold's).
func TestGSM8KScorerAgreement(t *testing.T) {
	t.Parallel()
	d := load(t, "gsm8k")
	ctx := context.Background()
	var agree, total, onlyRecorded, onlyOurs int
	for _, it := range d.Items {
		for _, o := range it.Outcomes {
			s, err := tasks.Score(ctx, it.Task, o.Response)
			require.NoError(t, err)
			total++
			switch {
			case s == o.Score:
				agree++
			case o.Score == 1:
				onlyRecorded++
			default:
				onlyOurs++ // mostly "$20.00": RouteLLM's last integer is "00"
			}
		}
	}
	assert.Equal(t, total-agree, d.Stats.RepliesAmended)
	t.Logf("GSM8K: the tasks scorer agrees with RouteLLM's recorded correctness on %d of %d replies (%.2f%%); "+
		"it rejects %d that RouteLLM counted right and accepts %d that RouteLLM counted wrong; those %d replies get a final \"#### N\" line",
		agree, total, 100*float64(agree)/float64(total), onlyRecorded, onlyOurs, d.Stats.RepliesAmended)
	assert.Equal(t, [3]int{2560, 6, 48}, [3]int{agree, onlyRecorded, onlyOurs})
}

func TestReplyForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gsm := load(t, "gsm8k")
	mmlu := load(t, "mmlu")
	lr := load(t, "llmrouter")
	call := func(d *Dataset, model, user string, opts ...llms.CallOption) *llms.ContentChoice {
		t.Helper()
		m, err := d.ModelFor(model)
		require.NoError(t, err)
		resp, err := m.GenerateContent(ctx, []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, user)}, opts...)
		require.NoError(t, err)
		require.Len(t, resp.Choices, 1)
		return resp.Choices[0]
	}
	t.Run("gsm8k recorded reply", func(t *testing.T) {
		it := gsm.Items[0]
		c := call(gsm, RouteLLMStrong, agents.UserPrompt(agents.Request{Query: it.Task.Query}))
		assert.Equal(t, it.Outcomes[0].Response, c.Content)
		assert.Equal(t, 1.0, c.GenerationInfo["RecordedScore"])
		assert.Equal(t, it.Task.ID, c.GenerationInfo["TaskID"])
		// The 8-shot prefix the recorded run sent counts as prompt tokens.
		assert.Greater(t, c.GenerationInfo["PromptTokens"], 600)
	})
	t.Run("mmlu letter", func(t *testing.T) {
		for _, it := range mmlu.Items[:50] {
			for m, info := range mmlu.Models {
				c := call(mmlu, info.Name, agents.UserPrompt(agents.Request{Query: it.Task.Query}))
				require.Len(t, c.Content, 1)
				assert.Equal(t, it.Outcomes[m].Score == 1, c.Content == it.Task.Gold)
			}
		}
	})
	t.Run("mmlu without subject line", func(t *testing.T) {
		it := mmlu.Items[3]
		plain := strings.TrimPrefix(it.Task.Query, MMLUHeader(it.Task.Meta["subject"])+"\n\n")
		c := call(mmlu, RouteLLMWeak, agents.UserPrompt(agents.Request{Query: plain}))
		assert.Equal(t, it.Reply(1), c.Content)
	})
	t.Run("ambiguous question", func(t *testing.T) {
		// 4 MMLU questions appear under two subjects with different
		// outcomes: without the subject line there is no single answer.
		var ambiguous []string
		for q, it := range mmlu.alias {
			if it == nil {
				ambiguous = append(ambiguous, q)
			}
		}
		require.Len(t, ambiguous, 4)
		c := call(mmlu, RouteLLMStrong, agents.UserPrompt(agents.Request{Query: ambiguous[0]}))
		assert.Contains(t, c.Content, "more than once")
		assert.NotContains(t, c.GenerationInfo, "RecordedScore")
	})
	t.Run("replies of other agents are ignored", func(t *testing.T) {
		it := lr.Items[10]
		user := agents.UserPrompt(agents.Request{Step: agents.StepCollaborate, Query: it.Task.Query, Inputs: []agents.Message{{From: "a", Role: "r", Content: "Answer: 42"}}})
		c := call(lr, lr.Models[2].Name, user)
		assert.Equal(t, it.Reply(2), c.Content)
	})
	t.Run("unknown question", func(t *testing.T) {
		c := call(lr, lr.Models[0].Name, agents.UserPrompt(agents.Request{Query: "What is the capital of Atlantis?"}))
		assert.Contains(t, c.Content, "not among them")
		assert.NotContains(t, c.GenerationInfo, "RecordedScore")
	})
	t.Run("reply with", func(t *testing.T) {
		assert.Equal(t, "Hello", call(lr, lr.Models[0].Name, "Reply with 'Hello' and nothing else").Content)
		assert.Equal(t, "1, 2, 3", call(lr, lr.Models[0].Name, "Count from 1 to 3").Content)
	})
	t.Run("max tokens", func(t *testing.T) {
		it := gsm.Items[0]
		c := call(gsm, RouteLLMStrong, agents.UserPrompt(agents.Request{Query: it.Task.Query}), llms.WithMaxTokens(5))
		assert.Equal(t, "length", c.StopReason)
		assert.Equal(t, 5, c.GenerationInfo["CompletionTokens"])
	})
	t.Run("tools", func(t *testing.T) {
		m, err := lr.ModelFor(lr.Models[0].Name)
		require.NoError(t, err)
		_, err = m.GenerateContent(ctx, []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "x")}, llms.WithTools([]llms.Tool{{Type: "function"}}))
		assert.ErrorIs(t, err, ErrToolsUnsupported)
	})
	t.Run("cancelled", func(t *testing.T) {
		m, err := lr.ModelFor(lr.Models[0].Name)
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = m.GenerateContent(cctx, []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, "x")})
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("unknown model", func(t *testing.T) {
		_, err := lr.ModelFor("gpt-5")
		assert.ErrorIs(t, err, agents.ErrUnknownModel)
	})
}

func TestPoolSkills(t *testing.T) {
	t.Parallel()
	d := load(t, "llmrouter")
	train, _ := tasks.SplitByID(d.Tasks(), 0.8, 1)
	pool, err := d.Pool(PoolOptions{SkillTasks: train})
	require.NoError(t, err)
	require.Equal(t, len(d.Models), pool.Len())
	// A skill is the model's mean recorded score over the training tasks of the domain.
	m := pool.Models()[0]
	var sum, n float64
	for _, task := range train {
		if task.Domain == tasks.DomainMath {
			s, err := d.Score(task.ID, m.Name)
			require.NoError(t, err)
			sum += s
			n++
		}
	}
	assert.InDelta(t, sum/n, m.Skills["math"], 1e-12)
	// And one per LLMRouter task (its skill key), over that task's questions.
	sum, n = 0, 0
	for _, task := range train {
		if task.Meta["task"] == "gsm8k" {
			s, err := d.Score(task.ID, m.Name)
			require.NoError(t, err)
			sum += s
			n++
		}
	}
	assert.InDelta(t, sum/n, m.Skills["llmrouter/gsm8k"], 1e-12)
	assert.Len(t, m.Skills, 3+14, "three domains and 14 tasks")
	assert.Equal(t, "replay", m.Provider)

	_, err = d.Pool(PoolOptions{SkillTasks: []*tasks.Task{{ID: "nope"}}})
	assert.ErrorContains(t, err, "skill task nope is not in llmrouter/llmrouter")
}

func TestQueryOf(t *testing.T) {
	cases := []struct{ in, want string }{
		{agents.UserPrompt(agents.Request{Query: "  What is 2+2?\n"}), "What is 2+2?"},
		{agents.UserPrompt(agents.Request{Query: "Q", Inputs: []agents.Message{{From: "n1", Role: "r", Content: "x"}}}), "Q"},
		{"plain text", "plain text"},
		{"Question:\n", ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, QueryOf(c.in))
	}
}
