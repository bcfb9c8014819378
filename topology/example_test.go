package topology_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func ExampleBuild() {
	p := topology.Plan{
		Mode:   topology.ModeChain,
		Domain: tasks.DomainMath,
		Agents: []topology.AgentSpec{
			{Role: "Math Solver", Model: "gpt-4o-mini"},
			{Role: "Math Critic", Model: "gpt-4o"},
		},
	}
	d, err := topology.Build(p)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range d.Nodes() {
		fmt.Println(n.ID, n.Step, d.Inputs(n.ID))
	}
	fmt.Print(d.DOT())
	// Output:
	// a0 reason []
	// a1 collaborate [a0]
	// decision  [a1]
	// digraph "Chain[Math Solver@gpt-4o-mini -> Math Critic@gpt-4o]" {
	// 	rankdir=LR;
	// 	node [shape=box, fontname="Helvetica"];
	// 	"a0" [label="a0 (reason)\nMath Solver\ngpt-4o-mini"];
	// 	"a1" [label="a1 (collaborate)\nMath Critic\ngpt-4o"];
	// 	"decision" [shape=doubleoctagon, label="decision\ndecide: last"];
	// 	"a0" -> "a1";
	// 	"a1" -> "decision";
	// }
}

// echoModel answers every call with the same boxed number and its usage.
type echoModel struct{}

func (echoModel) GenerateContent(_ context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        `6 * 7 = 42, so the answer is \boxed{42}.`,
		GenerationInfo: map[string]any{"PromptTokens": 120, "CompletionTokens": 15},
	}}}, nil
}

func (m echoModel) Call(ctx context.Context, prompt string, opts ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, opts...)
}

func ExampleExecutor_Run() {
	reg := &roles.Registry{}
	for _, name := range []string{"Solver", "Critic"} {
		err := reg.Add(roles.Role{
			Name: name, Domain: tasks.DomainMath, Kind: roles.KindSolver,
			SystemPrompt: "You solve math problems.", OutputFormat: `End with \boxed{answer}.`,
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	pool, err := agents.NewPool(&agents.Model{
		Name: "echo", LLM: echoModel{},
		Price: agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.60},
	})
	if err != nil {
		log.Fatal(err)
	}
	e, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg, Budget: 0.01})
	if err != nil {
		log.Fatal(err)
	}
	p := topology.Plan{
		Mode:   topology.ModeDebate,
		Domain: tasks.DomainMath,
		Agents: []topology.AgentSpec{{Role: "Solver", Model: "echo"}, {Role: "Critic", Model: "echo"}},
	}
	// boxedScorer is the tiny tasks.Scorer of these tests: it reads \boxed{...}.
	task := &tasks.Task{ID: "demo/1", Domain: tasks.DomainMath, Query: "What is 6 * 7?", Gold: "42", Scorer: boxedScorer{}}
	tr, err := e.Run(context.Background(), p, task)
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range tr.Nodes {
		fmt.Printf("%-8s %-11s inputs=%v answer=%s\n", n.ID, n.Step, n.Inputs, n.Answer)
	}
	fmt.Printf("answer %s, score %.0f, %d calls, %d tokens, $%.6f\n",
		tr.Answer, tr.Score, tr.Agents(), tr.PromptTokens+tr.CompletionTokens, tr.Dollars)
	// Output:
	// a0       reason      inputs=[] answer=42
	// a1       reason      inputs=[] answer=42
	// a0.r1    collaborate inputs=[a0 a1] answer=42
	// a1.r1    collaborate inputs=[a0 a1] answer=42
	// decision             inputs=[a0.r1 a1.r1] answer=42
	// answer 42, score 1, 4 calls, 540 tokens, $0.000108
}
