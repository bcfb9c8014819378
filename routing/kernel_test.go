package routing

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTanhInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	xs := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 5e-324, 1e-17, -1e-9, 0.01, 0.5, 0.625, -0.625,
		1, -1, 2.5, 10, -18.999, 19, -19, 19.5, 300, -300, math.MaxFloat64, math.Inf(1), math.Inf(-1)}
	for range 100000 {
		// Pre-activations of every size, from far below one ulp of 1 to saturation.
		xs = append(xs, rng.NormFloat64()*math.Pow(10, 4*rng.Float64()-3))
	}
	got := append([]float64(nil), xs...)
	tanhInPlace(got)
	worst := 0.0
	for i, x := range xs {
		// Plain comparisons: testify per element would dominate the test's time.
		want := math.Tanh(x)
		if math.Signbit(want) != math.Signbit(got[i]) {
			t.Fatalf("tanh(%g) = %g, want %g: the sign differs", x, got[i], want)
		}
		if want == 0 || math.Abs(want) == 1 {
			if got[i] != want {
				t.Fatalf("tanh(%g) = %g, want exactly %g", x, got[i], want)
			}
			continue
		}
		rel := math.Abs(got[i]-want) / math.Abs(want)
		worst = max(worst, rel)
		if rel > 1e-15 {
			t.Fatalf("tanh(%g) = %g, want %g (relative error %.3g)", x, got[i], want, rel)
		}
	}
	t.Logf("worst relative error against math.Tanh: %.3g", worst)

	nan := []float64{math.NaN()}
	tanhInPlace(nan)
	assert.True(t, math.IsNaN(nan[0]), "NaN stays NaN, so diverged parameters are still caught")
}

func TestAddRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, h := range []int{1, 3, 32} {
		for n := 0; n <= 9; n++ { // every remainder of the four-row unrolling
			w := make([]float64, 20*h)
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			idx := rng.Perm(20)[:n]
			val := make([]float64, n)
			for k := range val {
				val[k] = rng.NormFloat64()
			}
			dst := make([]float64, h)
			want := make([]float64, h)
			for i := range dst {
				dst[i] = rng.NormFloat64()
				want[i] = dst[i]
			}
			for k, j := range idx {
				for i := range want {
					want[i] += val[k] * w[j*h+i]
				}
			}
			addRows(dst, idx, val, w)
			assert.InDeltaSlice(t, want, dst, 1e-12, "h=%d n=%d", h, n)
		}
	}
}

func TestSparseTOuterAdd(t *testing.T) {
	fs := []Features{
		{Dim: 6, Index: []int{0, 2, 5}, Value: []float64{1, -2, 0.5}},
		{Dim: 6, Index: []int{0, 3}, Value: []float64{1, 4}},
		{Dim: 6},
		{Dim: 6, Index: []int{0, 2, 3, 4, 5}, Value: []float64{1, 1, 1, 1, 1}},
	}
	st := transpose(fs)
	require.Len(t, st.start, len(st.col)+1)
	assert.Equal(t, []int{0, 2, 3, 4, 5}, st.col, "only the columns some row uses")
	const h = 3
	g := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	got := make([]float64, 6*h)
	want := make([]float64, 6*h)
	for r, f := range fs {
		for k, j := range f.Index {
			for i := range h {
				want[j*h+i] += f.Value[k] * g[r*h+i]
			}
		}
	}
	st.outerAdd(got, g, h)
	assert.InDeltaSlice(t, want, got, 1e-12)
}

// BenchmarkTanh is the cost of 256 tanh evaluations, the order of one
// gradient call's.
func BenchmarkTanh(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 256)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := make([]float64, len(x))
	b.ReportAllocs()
	for b.Loop() {
		copy(y, x)
		tanhInPlace(y)
	}
}
