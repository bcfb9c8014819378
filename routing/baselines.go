package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// DefaultPremiumModel is the model static delegation runs every agent on
// unless configured otherwise.
const DefaultPremiumModel = "gpt-4o"

// StaticAgents is the length of the static delegation chain.
const StaticAgents = 4

// staticKinds is the standard operating procedure order of the static chain.
var staticKinds = [StaticAgents]roles.Kind{roles.KindPlanner, roles.KindSolver, roles.KindCritic, roles.KindVerifier}

// StaticConfig configures NewStatic.
type StaticConfig struct {
	// Pool must contain Model. Required.
	Pool *agents.Pool
	// Roles supplies each domain's roles. Required.
	Roles *roles.Registry
	// Model runs every agent; empty means DefaultPremiumModel.
	Model string
}

// Static is static delegation: every query gets the same Chain of
// StaticAgents roles (planner, solver, critic, verifier) on one premium model.
type Static struct {
	roles *roles.Registry
	model string
}

// NewStatic validates cfg and returns the static delegation router.
func NewStatic(cfg StaticConfig) (*Static, error) {
	if cfg.Pool == nil {
		return nil, errors.New("routing: static: config field Pool is nil")
	}
	reg, err := orDefaultRoles(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("routing: static: %w", err)
	}
	cfg.Roles = reg
	if cfg.Model == "" {
		cfg.Model = DefaultPremiumModel
	}
	if _, err := cfg.Pool.Get(cfg.Model); err != nil {
		return nil, fmt.Errorf("routing: static: config field Model: %w", err)
	}
	return &Static{roles: cfg.Roles, model: cfg.Model}, nil
}

// Name is "static-delegation".
func (s *Static) Name() string { return "static-delegation" }

// Route returns the fixed chain for t's domain. Each slot takes the first
// role of its kind in registry order; a slot whose kind the domain lacks
// takes the first role not yet used, and a domain with fewer than
// StaticAgents roles repeats them in order. Every choice has log-probability
// 0: the policy is deterministic.
func (s *Static) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if err := checkTask(ctx, t); err != nil {
		return topology.Plan{}, fmt.Errorf("routing: static: %w", err)
	}
	rs := s.roles.Domain(t.Domain)
	if len(rs) == 0 {
		return topology.Plan{}, fmt.Errorf("routing: static: domain %q has no roles", t.Domain)
	}
	used := make([]bool, len(rs))
	pick := make([]int, StaticAgents)
	for i := range pick {
		pick[i] = -1
		for r := range rs {
			if !used[r] && rs[r].Kind == staticKinds[i] {
				pick[i] = r
				break
			}
		}
		if pick[i] >= 0 {
			used[pick[i]] = true
		}
	}
	next := 0
	for i := range pick {
		if pick[i] >= 0 {
			continue
		}
		for r := range rs {
			if !used[r] {
				pick[i], used[r] = r, true
				break
			}
		}
		if pick[i] < 0 { // every role is used: repeat them in order
			pick[i] = next % len(rs)
			next++
		}
	}
	p := topology.Plan{Mode: topology.ModeChain, Domain: t.Domain}
	p.Choices = append(p.Choices,
		topology.Choice{Stage: "mode", Value: string(topology.ModeChain)},
		topology.Choice{Stage: "count", Value: strconv.Itoa(StaticAgents)})
	for i, r := range pick {
		p.Agents = append(p.Agents, topology.AgentSpec{Role: rs[r].Name, Model: s.model})
		p.Choices = append(p.Choices, topology.Choice{Stage: "role", Index: i, Value: rs[r].Name})
	}
	for i := range pick {
		p.Choices = append(p.Choices, topology.Choice{Stage: "model", Index: i, Value: s.model})
	}
	return p, nil
}

// Single runs every query on one model in one single-agent mode, with the
// domain's first solver role.
type Single struct {
	roles *roles.Registry
	model string
	mode  topology.Mode
}

// NewSingle returns the single-model router for model in mode, which must be
// a single-agent mode (IO, CoT or Reflection). Roles come from reg.
func NewSingle(model string, mode topology.Mode, reg *roles.Registry) (*Single, error) {
	switch {
	case strings.TrimSpace(model) == "":
		return nil, errors.New("routing: single: model name is empty")
	case modeIndex(mode) < 0:
		return nil, fmt.Errorf("routing: single: unknown mode %q", mode)
	case !mode.SingleAgent():
		return nil, fmt.Errorf("routing: single: mode %s runs several agents, want IO, CoT or Reflection", mode)
	}
	reg, err := orDefaultRoles(reg)
	if err != nil {
		return nil, fmt.Errorf("routing: single: %w", err)
	}
	return &Single{roles: reg, model: model, mode: mode}, nil
}

// Name is "single/<model>/<mode>", e.g. "single/gpt-4o-mini/CoT".
func (s *Single) Name() string { return "single/" + s.model + "/" + string(s.mode) }

// Route returns the one-agent plan for t: the first solver of t's domain (the
// first role, if the domain has no solver) on the router's model.
func (s *Single) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if err := checkTask(ctx, t); err != nil {
		return topology.Plan{}, fmt.Errorf("routing: %s: %w", s.Name(), err)
	}
	rs := s.roles.Domain(t.Domain)
	if len(rs) == 0 {
		return topology.Plan{}, fmt.Errorf("routing: %s: domain %q has no roles", s.Name(), t.Domain)
	}
	role := rs[0]
	for _, r := range rs {
		if r.Kind == roles.KindSolver {
			role = r
			break
		}
	}
	return topology.Plan{
		Mode:   s.mode,
		Domain: t.Domain,
		Agents: []topology.AgentSpec{{Role: role.Name, Model: s.model}},
		Choices: []topology.Choice{
			{Stage: "mode", Value: string(s.mode)},
			{Stage: "role", Value: role.Name},
			{Stage: "model", Value: s.model},
		},
	}, nil
}

// Random picks every decision uniformly: mode, count in 2..MaxAgents for
// multi-agent modes, each role (repeats allowed) and each model. It is safe
// for concurrent use.
type Random struct {
	models    []string
	roles     *roles.Registry
	maxAgents int
	seed      int64
}

// NewRandom returns the uniform random router over pool and reg's roles;
// maxAgents 0 means DefaultMaxAgents.
func NewRandom(pool *agents.Pool, reg *roles.Registry, seed int64, maxAgents int) (*Random, error) {
	switch {
	case pool == nil:
		return nil, errors.New("routing: random: pool is nil")
	}
	reg, err := orDefaultRoles(reg)
	if err != nil {
		return nil, fmt.Errorf("routing: random: %w", err)
	}
	if maxAgents == 0 {
		maxAgents = DefaultMaxAgents
	}
	if maxAgents < 2 || maxAgents > MaxAgentsLimit {
		return nil, fmt.Errorf("routing: random: maxAgents = %d, want 2..%d", maxAgents, MaxAgentsLimit)
	}
	return &Random{
		models:    pool.Names(),
		roles:     reg,
		maxAgents: maxAgents,
		seed:      seed,
	}, nil
}

// Name is "random".
func (r *Random) Name() string { return "random" }

// Route draws a uniformly random plan for t and records each choice with its
// uniform log-probability. The draw is keyed by the seed and t's ID (see
// TaskRand), so it does not depend on routing order.
func (r *Random) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if err := checkTask(ctx, t); err != nil {
		return topology.Plan{}, fmt.Errorf("routing: random: %w", err)
	}
	rs := r.roles.Domain(t.Domain)
	if len(rs) == 0 {
		return topology.Plan{}, fmt.Errorf("routing: random: domain %q has no roles", t.Domain)
	}
	rng := TaskRand(r.seed, t.ID)
	mode := allModes[rng.IntN(len(allModes))]
	p := topology.Plan{Mode: mode, Domain: t.Domain}
	p.Choices = append(p.Choices, topology.Choice{Stage: "mode", Value: string(mode), LogProb: -math.Log(float64(len(allModes)))})
	n := 1
	if !mode.SingleAgent() {
		k := r.maxAgents - 1
		n = 2 + rng.IntN(k)
		p.Choices = append(p.Choices, topology.Choice{Stage: "count", Value: strconv.Itoa(n), LogProb: -math.Log(float64(k))})
	}
	p.Agents = make([]topology.AgentSpec, n)
	for i := range p.Agents {
		role := rs[rng.IntN(len(rs))].Name
		p.Agents[i].Role = role
		p.Choices = append(p.Choices, topology.Choice{Stage: "role", Index: i, Value: role, LogProb: -math.Log(float64(len(rs)))})
	}
	for i := range p.Agents {
		model := r.models[rng.IntN(len(r.models))]
		p.Agents[i].Model = model
		p.Choices = append(p.Choices, topology.Choice{Stage: "model", Index: i, Value: model, LogProb: -math.Log(float64(len(r.models)))})
	}
	return p, nil
}

func checkTask(ctx context.Context, t *tasks.Task) error {
	if t == nil {
		return errors.New("task is nil")
	}
	return ctx.Err()
}

// orDefaultRoles returns reg, or the built-in roles when reg is nil.
func orDefaultRoles(reg *roles.Registry) (*roles.Registry, error) {
	if reg != nil {
		return reg, nil
	}
	return roles.Default()
}
