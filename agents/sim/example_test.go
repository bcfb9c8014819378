package sim_test

import (
	"context"
	"fmt"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func ExampleNewPool() {
	pool, _, err := sim.NewPool(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	reg, err := roles.Default()
	if err != nil {
		fmt.Println(err)
		return
	}
	var solver roles.Role
	for _, r := range reg.Domain(tasks.DomainMath) {
		if r.Kind == roles.KindSolver {
			solver = r
			break
		}
	}
	gsm8k, err := tasks.Load("gsm8k", "test")
	if err != nil {
		fmt.Println(err)
		return
	}
	task := gsm8k[0]
	model, err := pool.Get("gpt-4o-mini")
	if err != nil {
		fmt.Println(err)
		return
	}

	a := agents.Agent{Role: solver, Model: model}
	rep, err := a.Run(context.Background(), agents.Request{Step: agents.StepAnswer, Query: task.Query})
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, _ := task.Scorer.Extract(rep.Text)
	score, err := tasks.Score(context.Background(), task, rep.Text)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(solver.Name, "on", rep.Model)
	fmt.Println("answer:", answer, "gold:", task.Gold, "correct:", score == 1)
	fmt.Printf("%d prompt + %d completion tokens, $%.7f\n", rep.Usage.PromptTokens, rep.Usage.CompletionTokens, rep.Dollars)
	// Output:
	// Math Solver on gpt-4o-mini
	// answer: 18 gold: 18 correct: true
	// 326 prompt + 9 completion tokens, $0.0000543
}

func ExampleWorld_ExpectedAccuracy() {
	w, err := sim.NewWorld(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range w.Models() {
		acc, ok := w.ExpectedAccuracy(name, "gsm8k")
		if !ok {
			continue
		}
		p, _ := w.Profile(name)
		fmt.Printf("%-18s expected %.1f%%, published %.1f%%\n", name, 100*acc, p.Targets["gsm8k"].Value)
	}
	_, ok := w.ExpectedAccuracy("gpt-4o-mini", "mmlu")
	fmt.Println("mmlu calibrated:", ok)
	// Output:
	// gemini-1.5-flash   expected 75.5%, published 75.5%
	// gpt-4o-mini        expected 87.0%, published 87.0%
	// llama-3.1-8b       expected 84.5%, published 84.5%
	// llama-3.1-70b      expected 95.1%, published 95.1%
	// llama-3.1-405b     expected 96.8%, published 96.8%
	// gpt-4o             expected 90.0%, published 90.0%
	// claude-3.5-sonnet  expected 91.6%, published 91.6%
	// mmlu calibrated: false
}
