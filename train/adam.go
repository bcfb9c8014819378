package train

import (
	"errors"
	"math"
)

// Adam is the Adam optimiser (Kingma and Ba, 2015) over a flat parameter
// vector, written for gradient ascent: Step moves the parameters along the
// gradient.
type Adam struct {
	LearningRate float64
	Beta1, Beta2 float64
	Epsilon      float64
	m, v         []float64
	t            int
}

// NewAdam returns an optimiser for n parameters with the usual defaults
// (β1 0.9, β2 0.999, ε 1e-8).
func NewAdam(n int, learningRate float64) *Adam {
	return &Adam{LearningRate: learningRate, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, m: make([]float64, n), v: make([]float64, n)}
}

// Step applies one ascent step to theta given the gradient g.
func (a *Adam) Step(theta, g []float64) error {
	if len(theta) != len(a.m) || len(g) != len(a.m) {
		return errors.New("adam: parameter and gradient lengths differ from the optimiser's")
	}
	a.t++
	c1 := 1 - math.Pow(a.Beta1, float64(a.t))
	c2 := 1 - math.Pow(a.Beta2, float64(a.t))
	for i, gi := range g {
		a.m[i] = a.Beta1*a.m[i] + (1-a.Beta1)*gi
		a.v[i] = a.Beta2*a.v[i] + (1-a.Beta2)*gi*gi
		theta[i] += a.LearningRate * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + a.Epsilon)
	}
	return nil
}

// ClipNorm scales g in place so its Euclidean norm is at most max and returns
// the norm before clipping. max ≤ 0 disables clipping.
func ClipNorm(g []float64, max float64) float64 {
	var s float64
	for _, x := range g {
		s += x * x
	}
	norm := math.Sqrt(s)
	if max > 0 && norm > max {
		k := max / norm
		for i := range g {
			g[i] *= k
		}
	}
	return norm
}
