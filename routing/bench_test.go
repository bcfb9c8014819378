package routing

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// benchController is a default-shaped controller (HashEncoder with 1024
// buckets, Hidden 32, MaxAgents 4, all modes) over five models and the six
// math roles of testRegistry.
func benchController(b *testing.B, greedy bool) *Controller {
	b.Helper()
	models := append(testModels(), testModel("deepseek-v3", 0.27, 1.1, "Open-weight mixture-of-experts model, strong at maths.", map[string]float64{"math": 0.90, "code": 0.89}))
	pool, err := agents.NewPool(models...)
	require.NoError(b, err)
	c, err := NewController(ControllerConfig{Pool: pool, Roles: testRegistry(b), Seed: 1, Greedy: greedy})
	require.NoError(b, err)
	return c
}

// reportCPU adds a cpu-ns/op metric: CPU time rather than wall time, the
// per-core cost when other processes share the machine. Call it after the loop
// with the CPU time read before it.
func reportCPU(b *testing.B, start time.Duration, ok bool) {
	end, ok2 := cpuTime()
	if ok && ok2 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkEncode(b *testing.B) {
	e := &HashEncoder{}
	ctx := context.Background()
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		if _, err := e.Encode(ctx, gsm8kQuestion); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, ok)
}

// BenchmarkRoute is one full routing decision: encode a GSM8K question,
// then sample mode, count, roles and models.
func BenchmarkRoute(b *testing.B) {
	c := benchController(b, false)
	task := testTask(tasks.DomainMath, gsm8kQuestion)
	ctx := context.Background()
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		if _, err := c.Route(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, ok)
}

// BenchmarkRouteFeatures is the decision alone, on cached features.
func BenchmarkRouteFeatures(b *testing.B) {
	c := benchController(b, false)
	f := encode(b, c, gsm8kQuestion)
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	start, ok := cpuTime()
	for b.Loop() {
		if _, err := c.SampleFeatures(f, tasks.DomainMath, rng); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start, ok)
}

// BenchmarkGradient is forward and backward of one logged plan on cached
// features, cycling over plans sampled from the policy (every mode occurs).
// The parameters stay fixed, as within a minibatch, so the role and model
// embeddings come from the controller's cache. The accumulator is read every
// 32 plans, as a trainer reads it once per minibatch, so the cost of folding
// its pending sums is included.
func BenchmarkGradient(b *testing.B) { benchmarkGradient(b, false) }

// BenchmarkGradientAfterUpdate is BenchmarkGradient with the parameters
// marked changed before every plan, as in per-trajectory SGD: the role and
// model embeddings are recomputed each time.
func BenchmarkGradientAfterUpdate(b *testing.B) { benchmarkGradient(b, true) }

func benchmarkGradient(b *testing.B, update bool) {
	c := benchController(b, false)
	f := encode(b, c, gsm8kQuestion)
	rng := rand.New(rand.NewPCG(3, 4))
	var plans []topology.Plan
	for i := 0; len(plans) < 64; i++ {
		p, err := c.SampleFeatures(f, tasks.DomainMath, rng)
		require.NoError(b, err)
		plans = append(plans, p)
	}
	g := c.Params().Clone()
	g.Zero()
	b.ReportAllocs()
	start, ok := cpuTime()
	i := 0
	for b.Loop() {
		if update {
			c.params.changed()
		}
		if _, _, err := c.Gradient(f, tasks.DomainMath, plans[i%len(plans)], 1, 0.01, g); err != nil {
			b.Fatal(err)
		}
		i++
		if i%32 == 0 {
			g.fold()
		}
	}
	reportCPU(b, start, ok)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "plans/s")
}
