package sandbox

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// benchProgram is a typical MBPP check: a short function and three asserts.
// Every call gets a distinct program so the memo never answers.
func benchProgram(i int64, fail bool) Program {
	want := 6
	if fail {
		want = 7
	}
	return Program{
		Code: fmt.Sprintf("def tri(n):\n    # variant %d\n    total = 0\n    for i in range(1, n + 1):\n        total += i\n    return total\n", i),
		Test: fmt.Sprintf("assert tri(1) == 1\nassert tri(3) == %d\nassert tri(10) == 55\n", want),
	}
}

// BenchmarkCheck measures sandboxed candidate checks per second with checks
// running concurrently (Config.MaxParallel interpreters at once, default
// one per CPU), each a fresh interpreter with every isolation layer the
// platform allows (and, for comparison, with no namespaces). Half the
// candidates fail, which costs the harness a parse of the tests to name the
// failing assertion. cpu-ms/check is the CPU time of this process and its
// children per check: on an idle machine, cores*1000/cpu-ms is the rate.
func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"isolated", Config{CacheSize: -1}},
		{"isolated/parallel=4", Config{CacheSize: -1, MaxParallel: 4}},
		{"no-namespaces", Config{CacheSize: -1, NoNamespaces: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := newRunner(b, bc.cfg)
			b.Logf("python %s, isolation: %s, %d interpreters at once", r.Python(), r.Isolation(), r.Config().MaxParallel)
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(2)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					res, err := r.Check(context.Background(), benchProgram(i, i%2 == 0))
					if err != nil {
						b.Error(err)
						return
					}
					if res.Passed() == (i%2 == 0) {
						b.Errorf("check %d: %s %s", i, res.Status, res.Failure)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/check")
		})
	}
}

// BenchmarkCheckCached measures a check the memo answers.
func BenchmarkCheckCached(b *testing.B) {
	r, _ := newRunner(b, Config{})
	p := benchProgram(0, false)
	if _, err := r.Check(context.Background(), p); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Check(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}
