// Quickstart: define a task in Go, route it to a multi-agent system, run it.
//
// Offline, the simulated pool answers; because it is a simulation it must be
// told the task's answer key (sim.Config.Tasks). With real models, build the
// pool from your providers instead and drop the answer key.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

var number = regexp.MustCompile(`-?\d+`)

func run(ctx context.Context, out io.Writer) error {
	// A task: a query, a domain, a gold answer and a scorer function.
	scorer := tasks.NewScorer("last-number", func(reply string) (string, bool) {
		n := number.FindAllString(reply, -1)
		return strings.Join(n[max(len(n)-1, 0):], ""), len(n) > 0
	}, nil)
	task := &tasks.Task{ID: "orchard/1", Domain: tasks.DomainMath, Scorer: scorer, Gold: "391",
		Query: "An orchard has 17 rows of 23 apple trees. How many apple trees are there?"}

	pool, _, err := sim.NewPool(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}, Tasks: []*tasks.Task{task}})
	if err != nil {
		return err
	}
	router, err := routing.NewController(routing.ControllerConfig{Pool: pool, Greedy: true})
	if err != nil {
		return err
	}
	exec, err := topology.NewExecutor(topology.Config{Pool: pool})
	if err != nil {
		return err
	}
	plan, err := router.Route(ctx, task)
	if err != nil {
		return err
	}
	trace, err := exec.Run(ctx, plan, task)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "plan:    %s\nanswer:  %s (score %.0f)\ncost:    $%.6f for %d model calls\n",
		plan, trace.Answer, trace.Score, trace.Dollars, trace.Agents())
	return nil
}
