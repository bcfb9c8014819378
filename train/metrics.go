package train

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// This file implements RouteLLM's router metrics (Ong et al., "RouteLLM:
// Learning to Route LLMs with Preference Data", Sec. 3.2) exactly as its
// code (routellm/evals/benchmarks.py and evaluate.py) computes them, and a
// cost–quality curve with a normalised area for routers over N models.

// DefaultBins is the number of equal-count bins RouteLLM cuts router scores
// into: 10, giving 11 thresholds and 11 curve points.
const DefaultBins = 10

// CallPoint is one point of a call–performance curve.
type CallPoint struct {
	// Threshold is the router-score threshold that made the point; zero for
	// curves not built from thresholds (OptimalCurve).
	Threshold float64 `json:"threshold"`
	// StrongCalls is the share of queries sent to the strong model, in [0, 1].
	StrongCalls float64 `json:"strong_calls"`
	// Quality is the mean per-query quality of the routed answers.
	Quality float64 `json:"quality"`
}

// CallCurve is a call–performance curve, sorted by StrongCalls (ties keep
// their order).
type CallCurve []CallPoint

// Mean returns the mean of xs, or NaN for none.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// checkPair validates the per-query quality of the strong and weak models.
func checkPair(strong, weak []float64) error {
	switch {
	case len(strong) == 0:
		return errors.New("no queries")
	case len(strong) != len(weak):
		return fmt.Errorf("%d strong-model outcomes but %d weak-model ones", len(strong), len(weak))
	}
	for i := range strong {
		if !isFinite(strong[i]) || !isFinite(weak[i]) {
			return fmt.Errorf("query %d: quality %g (strong), %g (weak) is not finite", i, strong[i], weak[i])
		}
	}
	return nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Quantile returns the q-quantile of sorted (ascending) by NumPy's default
// "linear" method: the virtual index q·(n−1) interpolated between its two
// neighbours with NumPy's _lerp (which, for a fraction t ≥ 0.5, computes
// b − (b−a)(1−t) so that t = 1 gives b exactly).
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	v := q * float64(n-1)
	lo := int(math.Floor(v))
	lo = min(max(lo, 0), n-1)
	hi := min(lo+1, n-1)
	t := v - float64(lo)
	a, b := sorted[lo], sorted[hi]
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// ThresholdCurve is RouteLLM's call–performance curve of a threshold router:
// query i goes to the strong model when scores[i] ≥ threshold, and earns
// strong[i] there and weak[i] otherwise. The thresholds are the bins+1
// equal-count bin edges of the scores (pandas.qcut(scores, bins): the k/bins
// quantiles, k = 0..bins, see Quantile); the last point uses score >
// threshold, so it sends no query to the strong model, and the first sends
// all. Where pandas would refuse tied edges (duplicates='raise'), the ties
// are kept, as RouteLLM's comment "including duplicates" intends; with
// distinct edges the curve is RouteLLM's. The points are sorted by
// StrongCalls.
func ThresholdCurve(scores, strong, weak []float64, bins int) (CallCurve, error) {
	if err := checkPair(strong, weak); err != nil {
		return nil, fmt.Errorf("threshold curve: %w", err)
	}
	if len(scores) != len(strong) {
		return nil, fmt.Errorf("threshold curve: %d scores for %d queries", len(scores), len(strong))
	}
	if bins < 1 {
		return nil, fmt.Errorf("threshold curve: %d bins, want ≥ 1", bins)
	}
	for i, s := range scores {
		if !isFinite(s) {
			return nil, fmt.Errorf("threshold curve: score %d is %g", i, s)
		}
	}
	sorted := slices.Clone(scores)
	slices.Sort(sorted)
	n := float64(len(scores))
	curve := make(CallCurve, 0, bins+1)
	for k := 0; k <= bins; k++ {
		th := Quantile(sorted, float64(k)/float64(bins))
		var calls int
		var q float64
		for i, s := range scores {
			if s >= th && (k < bins || s > th) {
				calls++
				q += strong[i]
			} else {
				q += weak[i]
			}
		}
		curve = append(curve, CallPoint{Threshold: th, StrongCalls: float64(calls) / n, Quality: q / n})
	}
	slices.SortStableFunc(curve, func(a, b CallPoint) int { return cmp.Compare(a.StrongCalls, b.StrongCalls) })
	return curve, nil
}

// OptimalCurve is RouteLLM's "optimal" router (get_optimal_accuracy) at
// strong-call shares c = 0, 1/bins, ..., 1: every query the weak model
// answers keeps its answer, and the c·n strong calls go to the queries only
// the strong model answers, as many as there are. Quality must be 0 or 1.
func OptimalCurve(strong, weak []float64, bins int) (CallCurve, error) {
	if err := checkPair(strong, weak); err != nil {
		return nil, fmt.Errorf("optimal curve: %w", err)
	}
	if bins < 1 {
		return nil, fmt.Errorf("optimal curve: %d bins, want ≥ 1", bins)
	}
	var weakRight, onlyStrong float64
	for i := range strong {
		if (strong[i] != 0 && strong[i] != 1) || (weak[i] != 0 && weak[i] != 1) {
			return nil, fmt.Errorf("optimal curve: query %d has quality %g, %g; want correctness 0 or 1", i, strong[i], weak[i])
		}
		switch {
		case weak[i] == 1:
			weakRight++
		case strong[i] == 1:
			onlyStrong++
		}
	}
	n := float64(len(strong))
	curve := make(CallCurve, bins+1)
	for k := range curve {
		c := float64(k) / float64(bins)
		curve[k] = CallPoint{StrongCalls: c, Quality: (weakRight + math.Min(c*n, onlyStrong)) / n}
	}
	return curve, nil
}

// PGR is the performance gap recovered: (quality − weak) / (strong − weak).
func PGR(quality, weak, strong float64) float64 { return (quality - weak) / (strong - weak) }

// Trapezoid integrates the curve's quality over its strong-call share with
// the trapezoid rule (numpy.trapz).
func (c CallCurve) Trapezoid() float64 {
	var area float64
	for i := 1; i < len(c); i++ {
		area += (c[i].StrongCalls - c[i-1].StrongCalls) * (c[i].Quality + c[i-1].Quality) / 2
	}
	return area
}

// APGR is the average performance gap recovered, as RouteLLM computes it:
// (AUC − weak·w) / (strong·w − weak·w), where AUC is the trapezoid integral
// of the curve and w the width of its strong-call range (1 for curves from
// ThresholdCurve and OptimalCurve). weak and strong are the qualities of
// the weak and strong model alone.
func APGR(c CallCurve, weak, strong float64) (float64, error) {
	if len(c) < 2 {
		return 0, fmt.Errorf("apgr: %d curve points, want ≥ 2", len(c))
	}
	if strong == weak {
		return 0, fmt.Errorf("apgr: the strong and weak models have the same quality %g", strong)
	}
	if !slices.IsSortedFunc(c, func(a, b CallPoint) int { return cmp.Compare(a.StrongCalls, b.StrongCalls) }) {
		return 0, errors.New("apgr: curve is not sorted by strong-call share")
	}
	w := c[len(c)-1].StrongCalls - c[0].StrongCalls
	return (c.Trapezoid() - weak*w) / (strong*w - weak*w), nil
}

// CPT is the call–performance threshold: the share of strong-model calls
// needed to reach PGR x (e.g. 0.5 for CPT(50%)), as RouteLLM computes it,
// numpy.interp(weak + x·(strong − weak), qualities, strong-call shares)
// over the curve's points in order. NumPy assumes the qualities ascend; a
// curve whose quality dips is interpolated exactly as numpy.interp would
// (see NumPyInterp). A target above the last point's quality gives the last
// share, below the first gives the first.
func CPT(c CallCurve, weak, strong, x float64) (float64, error) {
	if len(c) == 0 {
		return 0, errors.New("cpt: empty curve")
	}
	xp := make([]float64, len(c))
	fp := make([]float64, len(c))
	for i, p := range c {
		xp[i], fp[i] = p.Quality, p.StrongCalls
	}
	return NumPyInterp(weak+x*(strong-weak), xp, fp), nil
}

// likelyInCache is NumPy's LIKELY_IN_CACHE_SIZE.
const likelyInCache = 8

// NumPyInterp is numpy.interp(x, xp, fp) for one x, step for step
// (numpy/core/src/multiarray/compiled_base.c, arr_interp with the index
// search binary_search_with_guess starting from guess 0), so it gives
// NumPy's answer even when xp is not ascending, where the result depends on
// the search path. xp and fp must have the same, non-zero length.
func NumPyInterp(x float64, xp, fp []float64) float64 {
	n := len(xp)
	if n == 0 || len(fp) != n {
		return math.NaN()
	}
	if math.IsNaN(x) {
		return x
	}
	if n == 1 {
		return fp[0] // numpy's left and right fill values are fp[0] too
	}
	j := searchWithGuess(x, xp, 0)
	switch {
	case j == -1:
		return fp[0]
	case j == n:
		return fp[n-1]
	case j == n-1:
		return fp[j]
	case xp[j] == x:
		return fp[j]
	}
	slope := (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])
	r := slope*(x-xp[j]) + fp[j]
	if math.IsNaN(r) {
		r = slope*(x-xp[j+1]) + fp[j+1]
		if math.IsNaN(r) && fp[j] == fp[j+1] {
			r = fp[j]
		}
	}
	return r
}

// searchWithGuess is NumPy's binary_search_with_guess.
func searchWithGuess(key float64, arr []float64, guess int) int {
	n := len(arr)
	lo, hi := 0, n
	if key > arr[n-1] {
		return n
	} else if key < arr[0] {
		return -1
	}
	if n <= 4 {
		i := 1
		for i < n && key >= arr[i] {
			i++
		}
		return i - 1
	}
	guess = max(min(guess, n-3), 1)
	if key < arr[guess] {
		if key < arr[guess-1] {
			hi = guess - 1
			if guess > likelyInCache && key >= arr[guess-likelyInCache] {
				lo = guess - likelyInCache
			}
		} else {
			return guess - 1
		}
	} else {
		if key < arr[guess+1] {
			return guess
		}
		if key < arr[guess+2] {
			return guess + 1
		}
		lo = guess + 2
		if guess < n-likelyInCache-1 && key < arr[guess+likelyInCache] {
			hi = guess + likelyInCache
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)>>1
		if key >= arr[mid] {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// CostPoint is one router's place on the cost–quality plane.
type CostPoint struct {
	Label string `json:"label"`
	// Dollars is the mean cost per query.
	Dollars float64 `json:"dollars_per_query"`
	// Quality is the mean per-query quality.
	Quality float64 `json:"quality"`
}

// NormPoint is a point in normalised cost–quality coordinates: Cost 0 is the
// cheap reference's cost and 1 the strong reference's; Gain 0 is the cheap
// reference's quality and 1 the strong reference's (a PGR).
type NormPoint struct {
	Cost float64 `json:"cost"`
	Gain float64 `json:"gain"`
}

// CostQualityCurve returns the cost–quality curve of a router over N
// models, in coordinates normalised against two reference points — cheap
// (usually the cheapest single model) and strong (usually the best single
// model), which must be strictly cheaper and strictly worse: u = (dollars −
// cheap.Dollars)/(strong.Dollars − cheap.Dollars), g = (quality −
// cheap.Quality)/(strong.Quality − cheap.Quality). The curve is what the
// router's points achieve when mixed at random per query and when spending
// less is always allowed: the least concave majorant of (0, 0) (the cheap
// reference, always available) and the points, made non-decreasing; it is
// returned as the vertices of a piecewise-linear function of u, first u at
// most 0, flat after the last vertex.
func CostQualityCurve(points []CostPoint, cheap, strong CostPoint) ([]NormPoint, error) {
	if !(strong.Dollars > cheap.Dollars) || !(strong.Quality > cheap.Quality) {
		return nil, fmt.Errorf("cost–quality curve: reference %q ($%g, %g) must cost more and score higher than %q ($%g, %g)",
			strong.Label, strong.Dollars, strong.Quality, cheap.Label, cheap.Dollars, cheap.Quality)
	}
	ps := []NormPoint{{0, 0}}
	for _, p := range points {
		if !isFinite(p.Dollars) || !isFinite(p.Quality) {
			return nil, fmt.Errorf("cost–quality curve: point %q has cost %g, quality %g", p.Label, p.Dollars, p.Quality)
		}
		ps = append(ps, NormPoint{
			Cost: (p.Dollars - cheap.Dollars) / (strong.Dollars - cheap.Dollars),
			Gain: (p.Quality - cheap.Quality) / (strong.Quality - cheap.Quality),
		})
	}
	slices.SortFunc(ps, func(a, b NormPoint) int {
		if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
			return c
		}
		return cmp.Compare(b.Gain, a.Gain)
	})
	// Upper hull (monotone chain), then cut it where it stops rising.
	var hull []NormPoint
	for _, p := range ps {
		if len(hull) > 0 && hull[len(hull)-1].Cost == p.Cost {
			continue // same cost, lower gain
		}
		for len(hull) >= 2 {
			a, b := hull[len(hull)-2], hull[len(hull)-1]
			if (b.Cost-a.Cost)*(p.Gain-a.Gain)-(b.Gain-a.Gain)*(p.Cost-a.Cost) >= 0 {
				hull = hull[:len(hull)-1] // b is on or below the chord a–p
				continue
			}
			break
		}
		hull = append(hull, p)
	}
	best := 0
	for i, p := range hull {
		if p.Gain > hull[best].Gain {
			best = i
		}
	}
	// Left of the cheapest point nothing is achievable but what is cheaper
	// still; points cheaper than the reference make the curve start there.
	return hull[:best+1], nil
}

// curveAt evaluates a CostQualityCurve at u: the first vertex's gain before
// it, linear between vertices, flat after the last.
func curveAt(curve []NormPoint, u float64) float64 {
	if u <= curve[0].Cost {
		return curve[0].Gain
	}
	for i := 1; i < len(curve); i++ {
		if u <= curve[i].Cost {
			a, b := curve[i-1], curve[i]
			return a.Gain + (b.Gain-a.Gain)*(u-a.Cost)/(b.Cost-a.Cost)
		}
	}
	return curve[len(curve)-1].Gain
}

// CostQualityArea is the area under CostQualityCurve over normalised cost
// u in [0, 1]: the N-model analogue of APGR. A router that mixes the two
// references at random scores 0.5, so does the strong reference alone;
// spending less for the same quality, or reaching more, scores higher. It
// can exceed 1 (a router better than the strong reference at less cost).
func CostQualityArea(points []CostPoint, cheap, strong CostPoint) (float64, error) {
	curve, err := CostQualityCurve(points, cheap, strong)
	if err != nil {
		return 0, err
	}
	xs := []float64{0, 1}
	for _, p := range curve {
		if p.Cost > 0 && p.Cost < 1 {
			xs = append(xs, p.Cost)
		}
	}
	slices.Sort(xs)
	var area float64
	for i := 1; i < len(xs); i++ {
		area += (xs[i] - xs[i-1]) * (curveAt(curve, xs[i]) + curveAt(curve, xs[i-1])) / 2
	}
	return area, nil
}
