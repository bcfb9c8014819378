package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuantile(t *testing.T) {
	s := []float64{0.1, 0.2, 0.8, 0.9}
	cases := []struct{ q, want float64 }{
		{0, 0.1}, {1, 0.9}, {0.5, 0.5}, {1.0 / 3, 0.2}, {0.25, 0.175}, {0.9, 0.87},
	}
	for _, c := range cases {
		assert.InDelta(t, c.want, Quantile(s, c.q), 1e-12, "q=%g", c.q)
	}
	assert.True(t, math.IsNaN(Quantile(nil, 0.5)))
	assert.Equal(t, 7.0, Quantile([]float64{7}, 0.3))
}

// TestThresholdCurveHandWorked: four queries; the router scores the two the
// strong model alone answers highest.
//
//	query  score  strong  weak
//	1      0.9    1       0
//	2      0.1    1       1
//	3      0.2    0       0
//	4      0.8    1       0
//
// Bin edges (2 bins): 0.1, 0.5, 0.9. Threshold 0.1 calls all (quality
// 3/4); 0.5 calls queries 1 and 4 (quality 3/4); "> 0.9" calls none (1/4).
// AUC = 0.5·(0.25+0.75)/2 + 0.5·0.75 = 0.625; APGR = (0.625−0.25)/0.5 =
// 0.75. CPT(50%): quality 0.5 on the segment (0, 0.25)–(0.5, 0.75) is at
// 0.25 strong calls.
func TestThresholdCurveHandWorked(t *testing.T) {
	scores := []float64{0.9, 0.1, 0.2, 0.8}
	strong := []float64{1, 1, 0, 1}
	weak := []float64{0, 1, 0, 0}
	c, err := ThresholdCurve(scores, strong, weak, 2)
	require.NoError(t, err)
	want := CallCurve{
		{Threshold: 0.9, StrongCalls: 0, Quality: 0.25},
		{Threshold: 0.5, StrongCalls: 0.5, Quality: 0.75},
		{Threshold: 0.1, StrongCalls: 1, Quality: 0.75},
	}
	require.Len(t, c, 3)
	for i := range want {
		assert.InDelta(t, want[i].Threshold, c[i].Threshold, 1e-12)
		assert.InDelta(t, want[i].StrongCalls, c[i].StrongCalls, 1e-12)
		assert.InDelta(t, want[i].Quality, c[i].Quality, 1e-12)
	}
	ws, ss := Mean(weak), Mean(strong)
	apgr, err := APGR(c, ws, ss)
	require.NoError(t, err)
	assert.InDelta(t, 0.75, apgr, 1e-12)
	cases := []struct{ x, want float64 }{
		{0.5, 0.25},
		{0.8, 0.4},
		// numpy.interp returns the last of the points at the target quality.
		{1, 1},
		{0, 0},
		{1.2, 1},
		{-0.5, 0},
	}
	for _, cc := range cases {
		got, err := CPT(c, ws, ss, cc.x)
		require.NoError(t, err)
		assert.InDelta(t, cc.want, got, 1e-12, "CPT(%g)", cc.x)
	}
}

func TestThresholdCurveTies(t *testing.T) {
	// A constant score: every edge ties; ≥ calls everything, the last "> "
	// calls nothing, so the curve jumps from the weak to the strong model.
	c, err := ThresholdCurve([]float64{1, 1, 1, 1}, []float64{1, 1, 1, 0}, []float64{0, 0, 1, 0}, DefaultBins)
	require.NoError(t, err)
	require.Len(t, c, 11)
	assert.Equal(t, CallPoint{Threshold: 1, StrongCalls: 0, Quality: 0.25}, c[0])
	for _, p := range c[1:] {
		assert.Equal(t, CallPoint{Threshold: 1, StrongCalls: 1, Quality: 0.75}, p)
	}
	apgr, err := APGR(c, 0.25, 0.75)
	require.NoError(t, err)
	assert.InDelta(t, 0.5, apgr, 1e-12)
}

func TestMetricErrors(t *testing.T) {
	_, err := ThresholdCurve([]float64{1}, []float64{1, 0}, []float64{0, 0}, 10)
	assert.ErrorContains(t, err, "1 scores for 2 queries")
	_, err = ThresholdCurve([]float64{math.NaN()}, []float64{1}, []float64{0}, 10)
	assert.ErrorContains(t, err, "score 0 is NaN")
	_, err = ThresholdCurve(nil, nil, nil, 10)
	assert.ErrorContains(t, err, "no queries")
	_, err = ThresholdCurve([]float64{1}, []float64{1}, []float64{0}, 0)
	assert.ErrorContains(t, err, "0 bins")
	_, err = OptimalCurve([]float64{0.5}, []float64{0}, 10)
	assert.ErrorContains(t, err, "want correctness 0 or 1")
	_, err = APGR(CallCurve{{StrongCalls: 1}, {StrongCalls: 0}}, 0, 1)
	assert.ErrorContains(t, err, "not sorted")
	_, err = APGR(CallCurve{{}, {StrongCalls: 1}}, 0.5, 0.5)
	assert.ErrorContains(t, err, "same quality")
	_, err = CPT(nil, 0, 1, 0.5)
	assert.Error(t, err)
}

func TestNumPyInterp(t *testing.T) {
	cases := []struct {
		name   string
		x      float64
		xp, fp []float64
		want   float64
	}{
		{"linear", 2.5, []float64{1, 2, 3}, []float64{10, 20, 30}, 25},
		{"left", 0, []float64{1, 2, 3}, []float64{10, 20, 30}, 10},
		{"right", 4, []float64{1, 2, 3}, []float64{10, 20, 30}, 30},
		{"exact", 2, []float64{1, 2, 3}, []float64{10, 20, 30}, 20},
		{"last", 3, []float64{1, 2, 3}, []float64{10, 20, 30}, 30},
		{"one point", 7, []float64{1}, []float64{5}, 5},
		// Not ascending: NumPy compares with the last xp first, so a key
		// above it is "right" although the first segment contains it.
		{"dip right", 4, []float64{0, 5, 3}, []float64{0, 1, 2}, 2},
		// 11 points (a RouteLLM curve), guess path then bisection:
		// guess 1, key ≥ xp[3], so bisect [3, 9) and land on segment 4.
		{"dip bisect", 4, []float64{0, 1, 2, 3, 2.5, 5, 6, 7, 8, 9, 10}, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 4.6},
		{"guess+1", 2.7, []float64{0, 1, 2, 3, 2.5, 5, 6, 7, 8, 9, 10}, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2.7},
		{"flat", 0.5, []float64{0, 0.5, 0.5, 1, 1.5}, []float64{0, 1, 2, 3, 4}, 2},
		{"nan", math.NaN(), []float64{1, 2}, []float64{1, 2}, math.NaN()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := NumPyInterp(c.x, c.xp, c.fp)
			if math.IsNaN(c.want) {
				assert.True(t, math.IsNaN(got))
				return
			}
			assert.InDelta(t, c.want, got, 1e-12)
		})
	}
}

// outcomesFromCounts builds per-query correctness of a strong and a weak
// model from the four counts of a recorded benchmark.
func outcomesFromCounts(both, strongOnly, weakOnly, neither int) (strong, weak []float64) {
	add := func(n int, s, w float64) {
		for range n {
			strong = append(strong, s)
			weak = append(weak, w)
		}
	}
	add(both, 1, 1)
	add(strongOnly, 1, 0)
	add(weakOnly, 0, 1)
	add(neither, 0, 0)
	return strong, weak
}

// TestRouteLLMFixtures checks the figures recomputed from RouteLLM's
// recorded outcomes (PROVENANCE.md): the optimal router's APGR is 1.290 on
// MMLU and 1.131 on GSM8K, and a random router's is 0.5.
func TestRouteLLMFixtures(t *testing.T) {
	cases := []struct {
		name                                string
		both, strongOnly, weakOnly, neither int
		optimal                             float64
	}{
		{"mmlu", 8816, 2496, 742, 1983, 1.290},
		{"gsm8k", 739, 382, 94, 92, 1.131},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			strong, weak := outcomesFromCounts(c.both, c.strongOnly, c.weakOnly, c.neither)
			ss, ws := Mean(strong), Mean(weak)
			opt, err := OptimalCurve(strong, weak, DefaultBins)
			require.NoError(t, err)
			apgr, err := APGR(opt, ws, ss)
			require.NoError(t, err)
			assert.InDelta(t, c.optimal, apgr, 0.0005)

			var sum float64
			const seeds = 20
			for seed := range uint64(seeds) {
				r := rand.New(rand.NewPCG(seed, 7))
				scores := make([]float64, len(strong))
				for i := range scores {
					scores[i] = r.Float64()
				}
				curve, err := ThresholdCurve(scores, strong, weak, DefaultBins)
				require.NoError(t, err)
				a, err := APGR(curve, ws, ss)
				require.NoError(t, err)
				sum += a
				cpt, err := CPT(curve, ws, ss, 0.5)
				require.NoError(t, err)
				assert.InDelta(t, 0.5, cpt, 0.15)
			}
			assert.InDelta(t, 0.5, sum/seeds, 0.02, "mean APGR of random routers")
		})
	}
}

func TestPGR(t *testing.T) {
	assert.InDelta(t, 0.5, PGR(0.75, 0.5, 1), 1e-12)
	assert.InDelta(t, 1.25, PGR(0.75, 0.55, 0.71), 1e-12)
}

func TestCostQualityArea(t *testing.T) {
	cheap := CostPoint{Label: "cheap", Dollars: 1, Quality: 0.5}
	strong := CostPoint{Label: "strong", Dollars: 3, Quality: 0.7}
	at := func(u, g float64) CostPoint {
		return CostPoint{Dollars: 1 + 2*u, Quality: 0.5 + 0.2*g}
	}
	cases := []struct {
		name   string
		points []CostPoint
		want   float64
	}{
		{"strong alone", []CostPoint{strong}, 0.5},
		{"random mixes", []CostPoint{at(0.25, 0.25), at(0.5, 0.5), at(1, 1)}, 0.5},
		{"cheap alone", []CostPoint{cheap}, 0},
		// (0,0)–(0.5,1) then flat: 0.25 + 0.5.
		{"strong quality at half the cost", []CostPoint{at(0.5, 1)}, 0.75},
		// A point under the chord does not lower the curve.
		{"dominated point ignored", []CostPoint{at(0.5, 1), at(0.8, 0.9), at(0.25, 0.1)}, 0.75},
		{"worse than the line", []CostPoint{at(0.5, 0.2)}, 0.05 + 0.1},
		{"cheaper than the cheap reference", []CostPoint{at(-0.5, 0.5)}, 0.5},
		{"beyond the strong reference", []CostPoint{at(2, 1.2)}, 0.3},
		{"better than strong for less", []CostPoint{at(0.4, 1.2)}, 0.4*1.2/2 + 0.6*1.2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := CostQualityArea(c.points, cheap, strong)
			require.NoError(t, err)
			assert.InDelta(t, c.want, got, 1e-12)
		})
	}
	_, err := CostQualityArea(nil, strong, cheap)
	assert.ErrorContains(t, err, "must cost more and score higher")
	_, err = CostQualityArea([]CostPoint{{Label: "x", Dollars: math.Inf(1)}}, cheap, strong)
	assert.ErrorContains(t, err, `point "x"`)

	curve, err := CostQualityCurve([]CostPoint{at(0.5, 1), at(0.8, 0.9), at(0.25, 0.1)}, cheap, strong)
	require.NoError(t, err)
	require.Len(t, curve, 2)
	assert.InDelta(t, 0.5, curve[1].Cost, 1e-12)
	assert.InDelta(t, 1, curve[1].Gain, 1e-12)
}

func BenchmarkThresholdCurve(b *testing.B) {
	strong, weak := outcomesFromCounts(8816, 2496, 742, 1983)
	r := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, len(strong))
	for i := range scores {
		scores[i] = r.Float64()
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ThresholdCurve(scores, strong, weak, DefaultBins); err != nil {
			b.Fatal(err)
		}
	}
}

// RouteLLM's metrics of a router that scores queries: APGR, CPT(50%) and
// CPT(80%) from its 11-point threshold curve.
func ExampleThresholdCurve() {
	// Ten queries: per-query correctness of the strong and weak model and
	// the router's score (higher: more in need of the strong model).
	strong := []float64{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}
	weak := []float64{0, 0, 0, 1, 1, 1, 1, 1, 0, 1}
	score := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05}
	curve, err := ThresholdCurve(score, strong, weak, DefaultBins)
	if err != nil {
		panic(err)
	}
	ws, ss := Mean(weak), Mean(strong)
	apgr, _ := APGR(curve, ws, ss)
	cpt50, _ := CPT(curve, ws, ss, 0.5)
	cpt80, _ := CPT(curve, ws, ss, 0.8)
	fmt.Printf("weak %.0f%%, strong %.0f%%: APGR %.3f, CPT(50%%) %.0f%%, CPT(80%%) %.0f%%\n", 100*ws, 100*ss, apgr, 100*cpt50, 100*cpt80)
	// Output:
	// weak 60%, strong 80%: APGR 1.250, CPT(50%) 10%, CPT(80%) 16%
}
