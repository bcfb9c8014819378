package tasks

import (
	"context"
	"testing"
)

func BenchmarkLoadGSM8K(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("gsm8k", "test"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadMMLU(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("mmlu", "test"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkScore scores each task's reference solution (a real, multi-line
// worked answer) in turn; one op is one Score call.
func benchmarkScore(b *testing.B, benchmark string, reply func(*Task) string) {
	ts, err := Load(benchmark, "test")
	if err != nil {
		b.Fatal(err)
	}
	replies := make([]string, len(ts))
	for i, t := range ts {
		replies[i] = reply(t)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := Score(ctx, ts[i], replies[i]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(ts)
	}
}

func BenchmarkScoreMATH(b *testing.B) {
	benchmarkScore(b, "math500", func(t *Task) string { return t.Solution })
}

func BenchmarkScoreGSM8K(b *testing.B) {
	benchmarkScore(b, "gsm8k", func(t *Task) string { return t.Solution + "\nSo the answer is " + t.Gold + "." })
}

func BenchmarkScoreMMLU(b *testing.B) {
	benchmarkScore(b, "mmlu", func(t *Task) string {
		return "Let me consider each option in turn.\nA. " + t.Meta["choice_A"] + " seems unlikely.\nThe answer is (" + t.Gold + ")."
	})
}
