package replay_test

import (
	"context"
	"fmt"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// Replay GPT-4 and Mixtral on a recorded GSM8K question through an agent,
// and score the replies with the task's own scorer.
func ExampleLoadRouteLLM() {
	d, err := replay.LoadRouteLLM("gsm8k")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d questions after removing %d contaminated ones\n", len(d.Items), d.Stats.Contaminated)
	pool, err := d.Pool(replay.PoolOptions{})
	if err != nil {
		panic(err)
	}
	reg, err := roles.Default()
	if err != nil {
		panic(err)
	}
	role := reg.Domain(tasks.DomainMath)[0]
	it := d.Items[1]
	for _, m := range pool.Models() {
		rep, err := agents.Agent{Role: role, Model: m}.Run(context.Background(), agents.Request{Query: it.Task.Query})
		if err != nil {
			panic(err)
		}
		score, err := tasks.Score(context.Background(), it.Task, rep.Text)
		if err != nil {
			panic(err)
		}
		recorded, err := d.Score(it.Task.ID, m.Name)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s on %s: score %g (recorded %g), %d+%d tokens, $%.5f\n", m.Name, it.Task.ID, score, recorded, rep.Usage.PromptTokens, rep.Usage.CompletionTokens, rep.Dollars)
	}
	// Output:
	// 1307 questions after removing 12 contaminated ones
	// gpt-4-1106-preview on gsm8k/test/4: score 1 (recorded 1), 1248+123 tokens, $0.01617
	// mistralai/Mixtral-8x7B-Instruct-v0.1 on gsm8k/test/4: score 0 (recorded 0), 1248+29 tokens, $0.00031
}
