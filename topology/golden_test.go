package topology_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/topology"
)

// goldenPlans is one plan per mode, in mode order, each on its mode's
// default decision.
func goldenPlans() []topology.Plan {
	tree := plan(topology.ModeTree, planner, solver, critic)
	tree.Decider = "large"
	return []topology.Plan{
		plan(topology.ModeIO, solver),
		plan(topology.ModeCoT, solver),
		plan(topology.ModeReflection, solver),
		plan(topology.ModeChain, solver, critic, checker),
		tree,
		plan(topology.ModeGraph, solver, critic, checker),
		plan(topology.ModeDebate, solver, critic, checker),
	}
}

// TestGoldenTraces pins each mode's whole trace on the fake model. Measured
// times are zeroed; reported latencies come from the fake and stay.
func TestGoldenTraces(t *testing.T) {
	lat := map[string]int{planner: 300, solver: 200, critic: 400, checker: 100}
	for _, p := range goldenPlans() {
		name := strings.ToLower(string(p.Mode))
		t.Run(name, func(t *testing.T) {
			// Give the agents different answers so the decisions show.
			f := &fakeModel{latencyMs: lat, answer: map[string]string{planner: "40", critic: "41"}}
			e := testExecutor(t, f, func(c *topology.Config) { c.Seed = 1 })
			tr, err := e.Run(context.Background(), p, testTask())
			require.NoError(t, err)
			tr.Latency = 0
			for i := range tr.Nodes {
				tr.Nodes[i].Start = 0
				tr.Nodes[i].Latency = 0
			}
			got, err := json.MarshalIndent(tr, "", "  ")
			require.NoError(t, err)
			golden(t, filepath.Join("testdata", "golden", name+".json"), append(got, '\n'))
		})
	}
}
