package routing

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// FirstModelProbs returns, for a query encoded as f in domain d, the
// probability under the controller's policy that each pool model (in pool
// order) runs the plan's first agent, summed over the modes and first
// roles that lead to it. For a controller restricted to one single-agent
// mode it is the policy's distribution over the model that answers.
//
// It runs the policy's own forward pass once per allowed mode and role,
// with the first slot fixed: the first slot's role and model do not depend
// on the agent count or on later slots, so a multi-agent mode is evaluated
// with two agents.
func (c *Controller) FirstModelProbs(f Features, d tasks.Domain) ([]float64, error) {
	dt, err := c.check(f, d)
	if err != nil {
		return nil, err
	}
	ws := c.work.Get().(*workspace)
	defer c.work.Put(ws)
	R, P := len(dt.roles), len(c.models)
	out := make([]float64, P)
	for a, m := range c.allowed {
		for r := range R {
			ws.reset()
			ws.modePos = a
			ws.n = 1
			if !allModes[m].SingleAgent() {
				ws.n = 2
				ws.roleIdx[1], ws.modelIdx[1] = 0, 0
			}
			ws.roleIdx[0], ws.modelIdx[0] = r, 0
			if lp, _ := c.forward(ws, f, dt, decideFixed, nil); math.IsNaN(lp) {
				return nil, errNaN
			}
			pr := ws.modeProb[a] * ws.roleProb[r]
			for j := range out {
				out[j] += pr * ws.modelProb[j]
			}
		}
	}
	return out, nil
}

// QueryScorer scores queries for a threshold router: the higher the score,
// the more the query needs the strong model.
type QueryScorer interface {
	ScoreQuery(ctx context.Context, t *tasks.Task) (float64, error)
}

// QueryScorerFunc adapts a function to QueryScorer.
type QueryScorerFunc func(ctx context.Context, t *tasks.Task) (float64, error)

// ScoreQuery calls f.
func (f QueryScorerFunc) ScoreQuery(ctx context.Context, t *tasks.Task) (float64, error) {
	return f(ctx, t)
}

// ModelProbability returns a QueryScorer that scores a query by the
// controller's probability of putting the named model on the first agent
// (see FirstModelProbs), e.g. the strong model of a strong–weak pair.
func ModelProbability(c *Controller, model string) (QueryScorer, error) {
	if c == nil {
		return nil, errors.New("routing: model probability: controller is nil")
	}
	j, ok := c.modelIndex[model]
	if !ok {
		return nil, fmt.Errorf("routing: model probability: %w", unknownModel(c, model))
	}
	return QueryScorerFunc(func(ctx context.Context, t *tasks.Task) (float64, error) {
		f, err := c.Encode(ctx, t)
		if err != nil {
			return 0, err
		}
		ps, err := c.FirstModelProbs(f, t.Domain)
		if err != nil {
			return 0, err
		}
		return ps[j], nil
	}), nil
}

func unknownModel(c *Controller, model string) error {
	_, err := c.cfg.Pool.Get(model)
	return err
}

// ThresholdConfig configures NewThreshold.
type ThresholdConfig struct {
	// Name identifies the router in reports; empty means "threshold".
	Name string
	// Scorer scores each query. Required.
	Scorer QueryScorer
	// Strong runs queries scored at or above Threshold, Weak the others.
	// Both are required.
	Strong, Weak string
	// Threshold is the score from which a query goes to Strong.
	Threshold float64
	// Mode is the single-agent mode of every plan; empty means IO.
	Mode topology.Mode
	// Roles supplies the solver role; nil means roles.Default().
	Roles *roles.Registry
}

// Threshold routes each query to one of two models by comparing a
// per-query score with a threshold (RouteLLM's router R^α: strong iff
// score ≥ α). Plans are single-agent, with the domain's first solver role.
// It is safe for concurrent use when its scorer is.
type Threshold struct {
	name         string
	scorer       QueryScorer
	threshold    float64
	strong, weak *Single
}

// NewThreshold validates cfg and returns the threshold router.
func NewThreshold(cfg ThresholdConfig) (*Threshold, error) {
	switch {
	case cfg.Scorer == nil:
		return nil, errors.New("routing: threshold: config field Scorer is nil")
	case cfg.Strong == "" || cfg.Weak == "":
		return nil, errors.New("routing: threshold: config fields Strong and Weak must both name a model")
	case math.IsNaN(cfg.Threshold):
		return nil, errors.New("routing: threshold: config field Threshold is NaN")
	}
	if cfg.Mode == "" {
		cfg.Mode = topology.ModeIO
	}
	if cfg.Name == "" {
		cfg.Name = "threshold"
	}
	strong, err := NewSingle(cfg.Strong, cfg.Mode, cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("routing: threshold: %w", err)
	}
	weak, err := NewSingle(cfg.Weak, cfg.Mode, cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("routing: threshold: %w", err)
	}
	return &Threshold{name: cfg.Name, scorer: cfg.Scorer, threshold: cfg.Threshold, strong: strong, weak: weak}, nil
}

// Name is the configured name.
func (r *Threshold) Name() string { return r.name }

// Route scores t and returns the strong model's plan if the score reaches
// the threshold, else the weak model's.
func (r *Threshold) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if err := checkTask(ctx, t); err != nil {
		return topology.Plan{}, fmt.Errorf("routing: %s: %w", r.name, err)
	}
	s, err := r.scorer.ScoreQuery(ctx, t)
	if err != nil {
		return topology.Plan{}, fmt.Errorf("routing: %s: score %s: %w", r.name, t.ID, err)
	}
	if s >= r.threshold {
		return r.strong.Route(ctx, t)
	}
	return r.weak.Route(ctx, t)
}
