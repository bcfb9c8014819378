package routing_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"

	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// offline stands in for a real provider; routing never calls it.
type offline struct{}

func (offline) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return nil, errors.New("offline")
}

func (offline) Call(context.Context, string, ...llms.CallOption) (string, error) {
	return "", errors.New("offline")
}

// setup builds a two-model pool and a registry of four math roles.
func setup() (*agents.Pool, *roles.Registry) {
	pool, err := agents.NewPool(
		&agents.Model{Name: "gpt-4o", LLM: offline{}, Price: agents.Price{InputPerMillion: 2.5, OutputPerMillion: 10},
			Description: "Flagship model.", Skills: map[string]float64{"math": 0.76}},
		&agents.Model{Name: "gpt-4o-mini", LLM: offline{}, Price: agents.Price{InputPerMillion: 0.15, OutputPerMillion: 0.6},
			Description: "Small, cheap model.", Skills: map[string]float64{"math": 0.70}},
	)
	if err != nil {
		log.Fatal(err)
	}
	reg := &roles.Registry{}
	for _, r := range []struct {
		name string
		kind roles.Kind
	}{
		{"Math Solver", roles.KindSolver},
		{"Math Planner", roles.KindPlanner},
		{"Math Critic", roles.KindCritic},
		{"Math Verifier", roles.KindVerifier},
	} {
		err := reg.Add(roles.Role{Name: r.name, Domain: tasks.DomainMath, Kind: r.kind,
			Description: r.name + ".", SystemPrompt: "You are a " + r.name + ".", OutputFormat: "End with \\boxed{answer}."})
		if err != nil {
			log.Fatal(err)
		}
	}
	return pool, reg
}

var task = &tasks.Task{ID: "demo/1", Domain: tasks.DomainMath,
	Query: "Janet's ducks lay 16 eggs per day. She eats three and bakes with four. She sells the rest for $2 each. How much does she make?"}

func ExampleNewController() {
	pool, reg := setup()
	c, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: 1, Greedy: true})
	if err != nil {
		log.Fatal(err)
	}
	plan, err := c.Route(context.Background(), task)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name(), plan)
	// Every decision is recorded with its log-probability; they sum to
	// log π(plan), which LogProb recomputes from the plan alone.
	for _, ch := range plan.Choices {
		fmt.Printf("%s[%d] = %s (p=%.2f)\n", ch.Stage, ch.Index, ch.Value, math.Exp(ch.LogProb))
	}
	lp, _, err := c.LogProb(context.Background(), task, plan)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("log π = %.4f = %.4f\n", plan.LogProb(), lp)
	// An untrained controller's choices are arbitrary; training shapes them.
	// Output:
	// masrouter Tree[Math Critic@gpt-4o, Math Planner@gpt-4o, Math Critic@gpt-4o]
	// mode[0] = Tree (p=0.28)
	// count[0] = 3 (p=0.51)
	// role[0] = Math Critic (p=0.31)
	// role[1] = Math Planner (p=0.29)
	// role[2] = Math Critic (p=0.29)
	// model[0] = gpt-4o (p=0.51)
	// model[1] = gpt-4o (p=0.55)
	// model[2] = gpt-4o (p=0.51)
	// log π = -7.5155 = -7.5155
}

func ExampleController_Gradient() {
	pool, reg := setup()
	c, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	f, err := c.Encode(context.Background(), task)
	if err != nil {
		log.Fatal(err)
	}
	plan := topology.Plan{Mode: topology.ModeChain, Agents: []topology.AgentSpec{
		{Role: "Math Solver", Model: "gpt-4o-mini"},
		{Role: "Math Verifier", Model: "gpt-4o"},
	}}
	// One REINFORCE step: raise log π(plan) in proportion to its advantage.
	const advantage, lr = 1.0, 0.1
	before, _, _ := c.LogProbFeatures(f, tasks.DomainMath, plan)
	g := c.Params().Clone()
	g.Zero()
	if _, _, err := c.Gradient(f, tasks.DomainMath, plan, advantage, 0, g); err != nil {
		log.Fatal(err)
	}
	if err := c.Params().AddScaled(lr, g); err != nil {
		log.Fatal(err)
	}
	after, _, _ := c.LogProbFeatures(f, tasks.DomainMath, plan)
	fmt.Println(after > before)
	// Output: true
}

func ExampleNewStatic() {
	pool, reg := setup()
	s, err := routing.NewStatic(routing.StaticConfig{Pool: pool, Roles: reg})
	if err != nil {
		log.Fatal(err)
	}
	plan, err := s.Route(context.Background(), task)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name())
	fmt.Println(plan)
	// Output:
	// static-delegation
	// Chain[Math Planner@gpt-4o -> Math Solver@gpt-4o -> Math Critic@gpt-4o -> Math Verifier@gpt-4o]
}

func ExampleNewSingle() {
	_, reg := setup()
	s, err := routing.NewSingle("gpt-4o-mini", topology.ModeCoT, reg)
	if err != nil {
		log.Fatal(err)
	}
	plan, err := s.Route(context.Background(), task)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Name())
	fmt.Println(plan)
	// Output:
	// single/gpt-4o-mini/CoT
	// CoT[Math Solver@gpt-4o-mini]
}

func ExampleNewRandom() {
	pool, reg := setup()
	r, err := routing.NewRandom(pool, reg, 42, 4)
	if err != nil {
		log.Fatal(err)
	}
	plan, err := r.Route(context.Background(), task)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Name())
	// Each choice carries its uniform log-probability, e.g. log 1/7 for the mode.
	fmt.Printf("%s %.4f\n", plan.Choices[0].Stage, plan.Choices[0].LogProb)
	// Output:
	// random
	// mode -1.9459
}
