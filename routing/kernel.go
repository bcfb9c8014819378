package routing

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// The kernels below work on the raw row-major slices behind the gonum
// matrices of Params, so the hot path makes no interface calls and no
// allocations.

// blasImpl runs the dense kernels (gonum's assembly-backed BLAS).
var blasImpl = blas64.Implementation()

func dot(a, b []float64) float64 { return floats.Dot(a, b) }

// axpy sets y += alpha·x.
func axpy(alpha float64, x, y []float64) { floats.AddScaled(y, alpha, x) }

// addRows adds Σ_k val[k]·w[idx[k]] to dst, where w[j] is row j of the
// row-major w with rows of len(dst). It folds four rows into dst per pass, so
// dst is read and written once per four rows instead of once per row.
func addRows(dst []float64, idx []int, val []float64, w []float64) {
	h := len(dst)
	val = val[:len(idx)]
	k := 0
	for ; k+4 <= len(idx); k += 4 {
		a0, a1, a2, a3 := val[k], val[k+1], val[k+2], val[k+3]
		j0, j1, j2, j3 := idx[k]*h, idx[k+1]*h, idx[k+2]*h, idx[k+3]*h
		w0 := w[j0 : j0+h : j0+h][:len(dst)]
		w1 := w[j1 : j1+h : j1+h][:len(dst)]
		w2 := w[j2 : j2+h : j2+h][:len(dst)]
		w3 := w[j3 : j3+h : j3+h][:len(dst)]
		for i := range dst {
			dst[i] += (a0*w0[i] + a1*w1[i]) + (a2*w2[i] + a3*w3[i])
		}
	}
	for ; k < len(idx); k++ {
		j := idx[k] * h
		axpy(val[k], w[j:j+h], dst)
	}
}

// embedAdd adds Wᵀf to dst for a sparse f and a row-major W with rows of len(dst).
func embedAdd(dst []float64, f Features, w []float64) { addRows(dst, f.Index, f.Value, w) }

// embedGrad adds f ⊗ grad to the row-major gradient gw.
func embedGrad(gw []float64, f Features, grad []float64) {
	h := len(grad)
	for k, j := range f.Index {
		axpy(f.Value[k], grad, gw[j*h:(j+1)*h])
	}
}

// matVec sets dst = W x + bias for a row-major W of len(dst) rows.
func matVec(dst, w, x, bias []float64) {
	copy(dst, bias)
	blasImpl.Dgemv(blas.NoTrans, len(dst), len(x), 1, w, len(x), x, 1, 1, dst, 1)
}

// matTVec adds Wᵀd to dst for a row-major W of len(d) rows.
func matTVec(dst, w, d []float64) {
	blasImpl.Dgemv(blas.Trans, len(d), len(dst), 1, w, len(dst), d, 1, 1, dst, 1)
}

// outer adds d ⊗ x to the row-major W of len(d) rows.
func outer(w, d, x []float64) {
	blasImpl.Dger(len(d), len(x), 1, d, 1, x, 1, w, len(x))
}

// matTVecGrad adds Wᵀd to gx and d ⊗ x to gw for a row-major W of len(d) rows.
func matTVecGrad(gx, gw, w, x, d []float64) {
	matTVec(gx, w, d)
	outer(gw, d, x)
}

// sparseT is the transpose of a small set of sparse rows (the description
// features of a domain's roles or models): for each column that any row
// uses, the rows that use it and their values. It turns Σ_r f_r ⊗ g_r into
// one pass per column, adding every row's contribution at once.
type sparseT struct {
	col   []int // the columns used, increasing
	start []int // the entries of col[c] are [start[c], start[c+1])
	row   []int
	val   []float64
}

func transpose(fs []Features) sparseT {
	var n int
	for _, f := range fs {
		n = max(n, f.Dim)
	}
	count := make([]int, n)
	for _, f := range fs {
		for _, j := range f.Index {
			count[j]++
		}
	}
	var t sparseT
	pos := make([]int, n)
	for j, c := range count {
		if c > 0 {
			pos[j] = len(t.row)
			t.col = append(t.col, j)
			t.start = append(t.start, len(t.row))
			t.row = append(t.row, make([]int, c)...)
		}
	}
	t.start = append(t.start, len(t.row))
	t.val = make([]float64, len(t.row))
	for r, f := range fs {
		for k, j := range f.Index {
			t.row[pos[j]] = r
			t.val[pos[j]] = f.Value[k]
			pos[j]++
		}
	}
	return t
}

// outerAdd adds Σ_r f_r ⊗ g[r] to the row-major gw, for the rows f_r that t
// transposes and the row-major g with rows of h.
func (t *sparseT) outerAdd(gw, g []float64, h int) {
	for c, j := range t.col {
		lo, hi := t.start[c], t.start[c+1]
		addRows(gw[j*h:(j+1)*h], t.row[lo:hi], t.val[lo:hi], g)
	}
}

// Constants of tanhInPlace: e^y = 2^m · 2^(i/128) · e^r with y = (128m+i)·ln2/128 + r.
const (
	expSteps      = 128
	expStepsShift = 7
	invLn2xSteps  = expSteps / math.Ln2
	// ln2/128 split so that k·ln2Hi is exact for the k that occur.
	ln2Hi = 6.93147180369123816490e-01 / expSteps
	ln2Lo = 1.90821492927058770002e-10 / expSteps
)

// exp2Frac[i] is 2^(i/128) and exp2FracM1[i] is 2^(i/128) − 1, both
// correctly rounded.
var exp2Frac, exp2FracM1 = func() (t, m1 [expSteps]float64) {
	for i := range t {
		t[i] = math.Exp2(float64(i) / expSteps)
		m1[i] = math.Expm1(float64(i) / expSteps * math.Ln2)
	}
	return t, m1
}()

// tanhInPlace sets x[i] = tanh(x[i]) for every i, within a few ulps of
// math.Tanh but faster: it computes tanh|x| = u/(u+2) with u = e^{2|x|} − 1
// from a 128-entry table and a degree-5 polynomial, with no calls.
func tanhInPlace(x []float64) {
	for i, v := range x {
		a := math.Abs(v)
		if !(a < 19) { // tanh is ±1 to float64 precision from 19 on; NaN stays NaN
			if a == a {
				x[i] = math.Copysign(1, v)
			}
			continue
		}
		y := 2 * a
		k := uint(int(y*invLn2xSteps + 0.5)) // y ≥ 0, so this rounds to nearest
		kf := float64(k)
		r := (y - kf*ln2Hi) - kf*ln2Lo // |r| ≤ ln2/256
		// e^r − 1 = r·(1 + r/2 + r²/6 + r³/24 + r⁴/120); the next term is below 1e-18.
		er := r * (1 + r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
		j, m := k&(expSteps-1), k>>expStepsShift
		// u = 2^m·2^(j/128)·e^r − 1, arranged so that no rounding error is
		// amplified by cancellation when m = 0.
		scale := math.Float64frombits(uint64(m+1023) << 52) // 2^m, m ≤ 55
		u := scale*(exp2FracM1[j]+exp2Frac[j]*er) + (scale - 1)
		x[i] = math.Copysign(u/(u+2), v)
	}
}
