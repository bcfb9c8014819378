package routing

import (
	"fmt"
	"math"
)

// Features is a sparse feature vector: Value[k] is the coordinate Index[k]
// of a vector of length Dim. Indices are strictly increasing; coordinates not
// listed are zero. Dense encoders list every coordinate.
type Features struct {
	Dim   int       `json:"dim"`
	Index []int     `json:"index"`
	Value []float64 `json:"value"`
	// Scope names the skill the pool's models are judged by for this
	// query, the task's benchmark (tasks.Task.SkillKey); the controller
	// falls back to the domain's skill when no model lists it or Scope is
	// empty. Controller.Encode sets it.
	Scope string `json:"scope,omitempty"`

	// roleMatch[r] is 1 when an expertise keyword of role r of domain
	// matchDomain (in the controller's role order) is a word or phrase of
	// the query; Controller.Encode sets it.
	roleMatch   []float64
	matchDomain string
}

// Len is the number of stored (possibly zero) coordinates.
func (f Features) Len() int { return len(f.Index) }

// Dense writes the full vector into dst, growing it if needed, and returns it.
func (f Features) Dense(dst []float64) []float64 {
	if cap(dst) < f.Dim {
		dst = make([]float64, f.Dim)
	}
	dst = dst[:f.Dim]
	clear(dst)
	for k, j := range f.Index {
		dst[j] = f.Value[k]
	}
	return dst
}

// Norm is the Euclidean norm of the vector.
func (f Features) Norm() float64 {
	var s float64
	for _, v := range f.Value {
		s += v * v
	}
	return math.Sqrt(s)
}

// Validate reports the first inconsistency: mismatched lengths, an index
// out of range or out of order, or a value that is not finite. Features read
// from outside (a cache file) should be validated before use.
func (f Features) Validate() error {
	if f.Dim <= 0 {
		return fmt.Errorf("features: field dim: %d, want > 0", f.Dim)
	}
	if len(f.Index) != len(f.Value) {
		return fmt.Errorf("features: field index has %d entries but value has %d", len(f.Index), len(f.Value))
	}
	prev := -1
	for k, j := range f.Index {
		if j < 0 || j >= f.Dim {
			return fmt.Errorf("features: field index[%d] = %d, want 0 <= index < dim %d", k, j, f.Dim)
		}
		if j <= prev {
			return fmt.Errorf("features: field index[%d] = %d is not above index[%d] = %d", k, j, k-1, prev)
		}
		prev = j
		if v := f.Value[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("features: field value[%d] = %g is not finite", k, v)
		}
	}
	return nil
}
