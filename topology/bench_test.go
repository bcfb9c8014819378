package topology_test

import (
	"context"
	"testing"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/topology"
)

// instantModel answers every call at once with a fixed reply and usage, so a
// benchmark measures the executor rather than the model.
type instantModel struct{}

var instantResponse = &llms.ContentResponse{Choices: []*llms.ContentChoice{{
	Content:        `The answer is \boxed{42}`,
	GenerationInfo: map[string]any{"PromptTokens": 100, "CompletionTokens": 10},
}}}

func (instantModel) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return instantResponse, nil
}

func (instantModel) Call(context.Context, string, ...llms.CallOption) (string, error) {
	return `The answer is \boxed{42}`, nil
}

func benchPlans() []topology.Plan {
	debate := plan(topology.ModeDebate, solver, critic, checker, planner)
	debate.Rounds = 3
	return []topology.Plan{
		plan(topology.ModeCoT, solver),
		plan(topology.ModeChain, solver, critic, checker),
		plan(topology.ModeTree, planner, solver, critic, checker),
		plan(topology.ModeGraph, solver, critic, checker, planner, solver, critic),
		debate,
	}
}

// BenchmarkExecutorOverhead runs plans on a model that answers instantly and
// reports the executor's cost per DAG node (model calls, prompt rendering,
// scheduling, budget and scoring included).
func BenchmarkExecutorOverhead(b *testing.B) {
	for _, p := range benchPlans() {
		b.Run(string(p.Mode), func(b *testing.B) {
			e := testExecutor(b, instantModel{}, func(c *topology.Config) { c.Budget = 10 })
			d, err := topology.Build(p)
			if err != nil {
				b.Fatal(err)
			}
			task := testTask()
			ctx := context.Background()
			b.ReportAllocs()
			runs := 0
			for b.Loop() {
				if _, err := e.RunDAG(ctx, d, task); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(runs*d.Len()), "ns/node")
		})
	}
}

// BenchmarkBuild measures turning a plan into a DAG.
func BenchmarkBuild(b *testing.B) {
	for _, p := range benchPlans() {
		b.Run(string(p.Mode), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := topology.Build(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
