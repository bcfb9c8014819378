package routing

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Shape fixes the size of every tensor of a Params.
type Shape struct {
	// InputDim is the encoder's feature dimension.
	InputDim int `json:"input_dim"`
	// Hidden is the size of the query vector and of every embedding.
	Hidden int `json:"hidden"`
	// MaxAgents is the largest agent count of multi-agent modes.
	MaxAgents int `json:"max_agents"`
	// Modes is the number of collaboration modes (len(topology.Modes())).
	Modes int `json:"modes"`
	// RoleFeatures is the length of a role's description features.
	RoleFeatures int `json:"role_features"`
	// ModelFeatures is the length of a model's description features.
	ModelFeatures int `json:"model_features"`
}

func (s Shape) validate() error {
	switch {
	case s.InputDim <= 0:
		return fmt.Errorf("input dim = %d, want > 0", s.InputDim)
	case s.Hidden <= 0:
		return fmt.Errorf("hidden = %d, want > 0", s.Hidden)
	case s.MaxAgents < 2:
		return fmt.Errorf("max agents = %d, want >= 2", s.MaxAgents)
	case s.Modes <= 0 || s.RoleFeatures <= 0 || s.ModelFeatures <= 0:
		return fmt.Errorf("modes, role and model features must be > 0 (got %d, %d, %d)", s.Modes, s.RoleFeatures, s.ModelFeatures)
	}
	return nil
}

// Tensor is one named parameter tensor; biases are column vectors.
type Tensor struct {
	Name string
	// Value is a *mat.Dense, or a *mat.VecDense for a bias.
	Value mat.Matrix
}

// Params holds every learnable tensor of a Controller in one contiguous
// backing array, so the whole set can be read or written as a vector. Each
// tensor is a gonum view into that array. Parameters change only through
// Params' methods, which count the changes so a Controller can cache what it
// derives from them. A Params that Controller.Gradient accumulates into keeps
// part of the sum pending until one of its methods next reads it; that first
// read writes, so it must not run concurrently with another.
//
// The tensors, with H = Hidden, M = Modes, K = MaxAgents-1 counts:
//
//	query        InputDim × H       row j: first-layer weights of feature j; h = tanh(queryᵀx + query_bias)
//	query_bias   H
//	mode_score   M × H              mode logits: mode_score·h + mode_bias
//	mode_bias    M
//	count_weight K × H              count logits: count_weight·h + count_mode[mode]
//	count_mode   M × K              the chosen mode's embedding for the count stage
//	role_proj    RoleFeatures × H   role embedding ρ = role_projᵀψ(role), scored against the context
//	role_hist    RoleFeatures × H   history embedding of a role chosen for an earlier slot
//	role_ctx     H × H              role context c_i = tanh(role_ctx·h + role_mode[mode] + slot_embed[i] + mean of earlier history embeddings)
//	role_mode    M × H              the chosen mode's embedding for the role stage
//	slot_embed   MaxAgents × H
//	model_proj   ModelFeatures × H  model embedding μ = model_projᵀφ(model), scored against the context
//	model_ctx    H × H              model context k_i = tanh(model_ctx·h + model_mode[mode] + model_roleᵀψ(role_i))
//	model_mode   M × H              the chosen mode's embedding for the model stage
//	model_role   RoleFeatures × H   the slot's role as seen by the model stage
//	role_match   M                  per mode, the logit a role gains when one of its expertise keywords is a word of the query
type Params struct {
	shape   Shape
	data    []float64
	tensors []Tensor
	raw     rawParams
	version atomic.Uint64 // incremented by every change
	pending []*pendingGrad
}

// pendingGrad is the part of a gradient accumulator's sum that
// Controller.Gradient keeps for one domain in terms of the domain's
// description features. With Ψ the domain's role features and Φ its model
// features (one row per role or model), the accumulator is owed
// Ψᵀ·rho in role_proj, Ψᵀ·hist in role_hist, Ψᵀ·mrole in model_role and
// Φᵀ·mu in model_proj. Summing the dense gradients of the role and model
// embeddings over many calls and multiplying by the sparse Ψ and Φ once, when
// the accumulator is read, is what makes a gradient call cheap.
type pendingGrad struct {
	dt                   *domainTable
	rho, hist, mrole, mu []float64 // rows of Hidden: one per role (rho, hist, mrole) or model (mu)
	live                 bool      // whether the sums may be nonzero
}

// pendingFor returns p's pending sums for dt, marked live.
func (p *Params) pendingFor(dt *domainTable) *pendingGrad {
	for _, pg := range p.pending {
		if pg.dt == dt {
			pg.live = true
			return pg
		}
	}
	h := p.shape.Hidden
	r, m := len(dt.roleFeat)*h, len(dt.modelFeat)*h
	buf := make([]float64, 3*r+m)
	pg := &pendingGrad{dt: dt, rho: buf[:r], hist: buf[r : 2*r], mrole: buf[2*r : 3*r], mu: buf[3*r:], live: true}
	p.pending = append(p.pending, pg)
	return pg
}

// fold adds the pending sums into the tensors and clears them. Every method
// that reads the parameters calls it first; with nothing pending it writes
// nothing, so reading stays safe from several goroutines. A fold also drops
// the sums of domains unused since the previous fold, so an accumulator
// shared by many controllers over time keeps only the tables it still uses.
func (p *Params) fold() {
	if !slices.ContainsFunc(p.pending, func(pg *pendingGrad) bool { return pg.live }) {
		return
	}
	h := p.shape.Hidden
	keep := p.pending[:0]
	for _, pg := range p.pending {
		if !pg.live {
			continue
		}
		pg.dt.roleT.outerAdd(p.raw.roleProj, pg.rho, h)
		pg.dt.roleT.outerAdd(p.raw.roleHist, pg.hist, h)
		pg.dt.roleT.outerAdd(p.raw.modelRole, pg.mrole, h)
		pg.dt.modelT.outerAdd(p.raw.modelProj, pg.mu, h)
		pg.discard()
		keep = append(keep, pg)
	}
	clear(p.pending[len(keep):])
	p.pending = keep
}

// discardPending drops the pending sums, for methods that overwrite every parameter.
func (p *Params) discardPending() {
	for _, pg := range p.pending {
		if pg.live {
			pg.discard()
		}
	}
}

func (pg *pendingGrad) discard() {
	clear(pg.rho)
	clear(pg.hist)
	clear(pg.mrole)
	clear(pg.mu)
	pg.live = false
}

// rawParams are the row-major slices of each tensor inside Params.data.
type rawParams struct {
	query, queryBias               []float64
	modeScore, modeBias            []float64
	countWeight, countMode         []float64
	roleProj, roleHist             []float64
	roleCtx, roleMode, slotEmbed   []float64
	modelProj, modelCtx, modelMode []float64
	modelRole                      []float64
	roleMatch                      []float64
}

// tensorShape is one tensor's name and size; vec tensors are *mat.VecDense.
type tensorShape struct {
	name       string
	rows, cols int
	vec        bool
}

// tensorSpec lists the tensors in storage order.
func (s Shape) tensorSpec() []tensorShape {
	h, k := s.Hidden, s.MaxAgents-1
	return []tensorShape{
		{"query", s.InputDim, h, false},
		{"query_bias", h, 1, true},
		{"mode_score", s.Modes, h, false},
		{"mode_bias", s.Modes, 1, true},
		{"count_weight", k, h, false},
		{"count_mode", s.Modes, k, false},
		{"role_proj", s.RoleFeatures, h, false},
		{"role_hist", s.RoleFeatures, h, false},
		{"role_ctx", h, h, false},
		{"role_mode", s.Modes, h, false},
		{"slot_embed", s.MaxAgents, h, false},
		{"model_proj", s.ModelFeatures, h, false},
		{"model_ctx", h, h, false},
		{"model_mode", s.Modes, h, false},
		{"model_role", s.RoleFeatures, h, false},
		{"role_match", s.Modes, 1, true},
	}
}

// initRoleMatch is role_match's initial value in every mode.
const initRoleMatch = 0.5

// NewParams returns zeroed parameters of the given shape.
func NewParams(s Shape) (*Params, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("routing: params: %w", err)
	}
	n := 0
	for _, t := range s.tensorSpec() {
		n += t.rows * t.cols
	}
	return newParamsOn(s, make([]float64, n)), nil
}

func newParamsOn(s Shape, data []float64) *Params {
	p := &Params{shape: s, data: data}
	off := 0
	views := make([][]float64, 0, 16)
	for _, t := range s.tensorSpec() {
		n := t.rows * t.cols
		v := data[off : off+n : off+n]
		off += n
		views = append(views, v)
		var m mat.Matrix
		if t.vec {
			m = mat.NewVecDense(t.rows, v)
		} else {
			m = mat.NewDense(t.rows, t.cols, v)
		}
		p.tensors = append(p.tensors, Tensor{Name: t.name, Value: m})
	}
	p.raw = rawParams{
		query: views[0], queryBias: views[1],
		modeScore: views[2], modeBias: views[3],
		countWeight: views[4], countMode: views[5],
		roleProj: views[6], roleHist: views[7],
		roleCtx: views[8], roleMode: views[9], slotEmbed: views[10],
		modelProj: views[11], modelCtx: views[12], modelMode: views[13],
		modelRole: views[14], roleMatch: views[15],
	}
	return p
}

// initRandom fills p with the controller's seeded initial values: Gaussian
// weights scaled to keep pre-activations near unit size, zero biases.
func (p *Params) initRandom(seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d61737230757465))
	fill := func(v []float64, std float64) {
		for i := range v {
			v[i] = std * rng.NormFloat64()
		}
	}
	h := float64(p.shape.Hidden)
	r := &p.raw
	fill(r.query, 0.7)
	fill(r.modeScore, 0.5/math.Sqrt(h))
	fill(r.countWeight, 0.5/math.Sqrt(h))
	fill(r.countMode, 0.1)
	fill(r.roleProj, 0.5)
	fill(r.roleHist, 0.3)
	fill(r.roleCtx, 1/math.Sqrt(h))
	fill(r.roleMode, 0.5)
	fill(r.slotEmbed, 0.5)
	fill(r.modelProj, 0.3)
	fill(r.modelCtx, 1/math.Sqrt(h))
	fill(r.modelMode, 0.5)
	fill(r.modelRole, 0.3)
	// A role whose expertise the query names starts favoured, not neutral:
	// the prior every role profile's expertise list states.
	for i := range r.roleMatch {
		r.roleMatch[i] = initRoleMatch
	}
	p.changed()
}

// Shape returns the tensor sizes.
func (p *Params) Shape() Shape { return p.shape }

// Tensors returns a copy of every tensor, named, in storage order.
func (p *Params) Tensors() []Tensor {
	p.fold()
	out := make([]Tensor, len(p.tensors))
	for i, t := range p.tensors {
		var m mat.Matrix
		switch v := t.Value.(type) {
		case *mat.VecDense:
			c := mat.NewVecDense(v.Len(), nil)
			c.CopyVec(v)
			m = c
		default:
			m = mat.DenseCopyOf(v)
		}
		out[i] = Tensor{Name: t.Name, Value: m}
	}
	return out
}

// changed records a change of the parameters.
func (p *Params) changed() { p.version.Add(1) }

// NumParams is the total number of scalar parameters.
func (p *Params) NumParams() int { return len(p.data) }

// Vector returns a copy of every parameter in storage order.
func (p *Params) Vector() []float64 {
	p.fold()
	return append([]float64(nil), p.data...)
}

// SetVector overwrites every parameter from v, which must have NumParams entries.
func (p *Params) SetVector(v []float64) error {
	if len(v) != len(p.data) {
		return fmt.Errorf("routing: set params: got %d values, want %d", len(v), len(p.data))
	}
	p.discardPending()
	copy(p.data, v)
	p.changed()
	return nil
}

// Update folds any pending sums and calls fn with the live parameter vector
// in storage order, which fn may change in place; the allocation-free
// alternative to Vector and SetVector for optimisers. fn must not keep v.
func (p *Params) Update(fn func(v []float64)) {
	p.fold()
	fn(p.data)
	p.changed()
}

// Zero sets every parameter to zero, e.g. to reuse p as a gradient accumulator.
func (p *Params) Zero() {
	p.discardPending()
	clear(p.data)
	p.changed()
}

// Clone returns a deep copy of p.
func (p *Params) Clone() *Params {
	p.fold()
	return newParamsOn(p.shape, append([]float64(nil), p.data...))
}

// Add adds q to p element-wise; their shapes must match.
func (p *Params) Add(q *Params) error { return p.AddScaled(1, q) }

// AddScaled adds alpha·q to p element-wise; their shapes must match.
func (p *Params) AddScaled(alpha float64, q *Params) error {
	if q == nil {
		return errors.New("routing: add params: nil")
	}
	if p.shape != q.shape {
		return fmt.Errorf("routing: add params: shape %+v does not match %+v", q.shape, p.shape)
	}
	p.fold()
	q.fold()
	floats.AddScaled(p.data, alpha, q.data)
	p.changed()
	return nil
}

// Scale multiplies every parameter by alpha.
func (p *Params) Scale(alpha float64) {
	p.fold()
	floats.Scale(alpha, p.data)
	p.changed()
}

// Norm is the Euclidean norm of the parameter vector.
func (p *Params) Norm() float64 {
	p.fold()
	return floats.Norm(p.data, 2)
}
