package train

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
)

// BenchmarkOfflineTraining measures offline policy-gradient throughput on
// the default controller over the simulated pool: per logged trajectory, the
// importance weight (a forward pass), the gradient (forward and backward)
// and a share of the Adam update, with each query's features cached as in
// real training, in batches of 256 (logs are plentiful offline; the Adam
// update over every parameter is then a small share). Run with -cpu 1 for
// the per-core figure.
func BenchmarkOfflineTraining(b *testing.B) {
	pool, _, err := sim.NewPool(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}})
	require.NoError(b, err)
	ts, err := tasks.Load("gsm8k", "test")
	require.NoError(b, err)
	ts = ts[:512]
	random, err := routing.NewRandom(pool, nil, 1, 4)
	require.NoError(b, err)
	rng := rand.New(rand.NewPCG(1, 2))
	logs := make([]Logged, 0, 4096)
	for i := 0; i < cap(logs); i++ {
		t := ts[i%len(ts)]
		p, err := random.Route(context.Background(), &tasks.Task{ID: t.ID + "/" + string(rune('a'+i/len(ts))), Domain: t.Domain, Query: t.Query})
		require.NoError(b, err)
		logs = append(logs, Logged{Task: t, Plan: p, BehaviourLogProb: p.LogProb(), Score: float64(rng.IntN(2)), Dollars: 0.001 * rng.Float64()})
	}
	ctrl, err := routing.NewController(routing.ControllerConfig{Pool: pool, Seed: 1})
	require.NoError(b, err)
	tr, err := NewTrainer(ctrl, Config{Lambda: 20, Epochs: 1, BatchSize: 256})
	require.NoError(b, err)
	_, err = tr.Offline(context.Background(), logs) // encode and cache the queries once
	require.NoError(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0, cpuOK := cpuTime()
	for b.Loop() {
		if _, err := tr.Offline(context.Background(), logs); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(len(logs) * b.N)
	b.ReportMetric(n/time.Since(start).Seconds(), "trajectories/s")
	if cpu1, ok := cpuTime(); ok && cpuOK && cpu1 > cpu0 {
		// Per CPU-second: the per-core figure, robust to a loaded machine.
		b.ReportMetric(n/(cpu1-cpu0).Seconds(), "trajectories/cpu-s")
	}
}
