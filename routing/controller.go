package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// Controller defaults and limits.
const (
	DefaultHidden    = 32
	DefaultMaxAgents = 4
	// MaxAgentsLimit is the largest MaxAgents a controller accepts.
	MaxAgentsLimit = 16
)

// ControllerConfig configures NewController.
type ControllerConfig struct {
	// Pool is the set of models the controller assigns to roles. Required.
	Pool *agents.Pool
	// Roles supplies each domain's roles; nil means roles.Default(). The controller reads it
	// once, in NewController.
	Roles *roles.Registry
	// Encoder encodes queries; nil means a HashEncoder with DefaultBuckets.
	Encoder Encoder
	// Hidden is the size of the query vector and embeddings; 0 means DefaultHidden.
	Hidden int
	// MaxAgents bounds the agent count of multi-agent modes, which choose a
	// count in 2..MaxAgents; 0 means DefaultMaxAgents.
	MaxAgents int
	// Modes are the modes the controller may choose; nil means all of them.
	Modes []topology.Mode
	// Seed seeds the parameter initialisation and Route's sampler.
	Seed int64
	// Greedy makes Route decode greedily instead of sampling.
	Greedy bool
}

// Controller is MasRouter's cascaded router: it encodes the query, picks a
// collaboration mode, an agent count, the roles one after another and a model
// for each role, each from a softmax of learned scores.
//
// With x the query features and H = Hidden:
//
//	h      = tanh(queryᵀx + query_bias)                      the query vector
//	mode   ~ softmax(mode_score·h + mode_bias) over the allowed modes
//	count  ~ softmax(count_weight·h + count_mode[mode]) over 2..MaxAgents (multi-agent modes only)
//	c_i    = tanh(role_ctx·h + role_mode[mode] + slot_embed[i] + mean_{t<i} role_histᵀψ(role_t))
//	role_i ~ softmax_r(c_i·ρ_r/√H + role_match[mode]·match_r),  ρ_r = role_projᵀψ(r)
//	k_i    = tanh(model_ctx·h + model_mode[mode] + model_roleᵀψ(role_i))
//	model_i ~ softmax_m(−softplus(k_i·model_proj[price]/√H)·logprice(m) + softplus(k_i·model_proj[skill]/√H)·skill(m))
//
// where match_r is 1 when one of role r's expertise keywords is a word or
// phrase of the query (Controller.Encode finds them), and logprice and
// skill are the entries of φ(m, domain). The model stage's
// signs are fixed: a cheaper or more skilled model never scores lower, so the
// policy cannot learn "expensive means good" from a pool whose prices track
// quality, and a model added later is placed by its price and skill alone.
//
// ψ and φ are description features (RoleFeatures, ModelFeatures), so a role
// or model the controller was never trained with is scored without
// retraining. The per-stage mode tables are the chosen mode's embedding as
// each stage sees it. A Controller is safe for concurrent use, except that
// its parameters must not be changed while another goroutine routes.
type Controller struct {
	cfg        ControllerConfig
	enc        Encoder
	version    string
	params     *Params
	allowed    []int // indices into topology.Modes() the controller may choose
	multi      bool  // whether any allowed mode is multi-agent
	models     []*agents.Model
	modelIndex map[string]int
	domains    map[tasks.Domain]*domainTable
	maxRoles   int

	// scoped holds the tables of (domain, scope) pairs some model has a
	// skill for, built on first use.
	scopedMu sync.Mutex
	scoped   map[scopeKey]*domainTable

	work sync.Pool // of *workspace
}

var allModes = topology.Modes()

var (
	_ Router  = (*Controller)(nil)
	_ Router  = (*Static)(nil)
	_ Router  = (*Single)(nil)
	_ Router  = (*Random)(nil)
	_ Encoder = (*HashEncoder)(nil)
	_ Encoder = (*EmbedderEncoder)(nil)
)

func modeIndex(m topology.Mode) int {
	for i, x := range allModes {
		if x == m {
			return i
		}
	}
	return -1
}

// errNaN reports parameters that no longer give finite probabilities.
var errNaN = errors.New("routing: the parameters give NaN log-probabilities (did training diverge?)")

// NewController validates cfg, fills in its defaults and returns a
// controller with freshly initialised parameters.
func NewController(cfg ControllerConfig) (*Controller, error) {
	if cfg.Pool == nil {
		return nil, errors.New("routing: controller: config field Pool is nil")
	}
	reg, err := orDefaultRoles(cfg.Roles)
	if err != nil {
		return nil, fmt.Errorf("routing: controller: %w", err)
	}
	cfg.Roles = reg
	if cfg.Encoder == nil {
		cfg.Encoder = &HashEncoder{}
	}
	if cfg.Hidden == 0 {
		cfg.Hidden = DefaultHidden
	}
	if cfg.Hidden < 0 || cfg.Hidden > 4096 {
		return nil, fmt.Errorf("routing: controller: config field Hidden = %d, want 1..4096", cfg.Hidden)
	}
	if cfg.MaxAgents == 0 {
		cfg.MaxAgents = DefaultMaxAgents
	}
	if cfg.MaxAgents < 2 || cfg.MaxAgents > MaxAgentsLimit {
		return nil, fmt.Errorf("routing: controller: config field MaxAgents = %d, want 2..%d", cfg.MaxAgents, MaxAgentsLimit)
	}
	if cfg.Encoder.Dim() <= 0 {
		return nil, fmt.Errorf("routing: controller: encoder dimension %d, want > 0", cfg.Encoder.Dim())
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = topology.Modes()
	}
	cfg.Modes = append([]topology.Mode(nil), cfg.Modes...)
	c := &Controller{cfg: cfg, enc: cfg.Encoder, version: FeaturesVersion(cfg.Encoder)}
	seen := make(map[int]bool)
	for _, m := range cfg.Modes {
		i := modeIndex(m)
		if i < 0 {
			return nil, fmt.Errorf("routing: controller: config field Modes: unknown mode %q", m)
		}
		if seen[i] {
			return nil, fmt.Errorf("routing: controller: config field Modes: %q listed twice", m)
		}
		seen[i] = true
		c.allowed = append(c.allowed, i)
		c.multi = c.multi || !m.SingleAgent()
	}
	if err := c.setPoolAndRoles(cfg.Pool, cfg.Roles); err != nil {
		return nil, err
	}
	p, err := NewParams(Shape{
		InputDim:      cfg.Encoder.Dim(),
		Hidden:        cfg.Hidden,
		MaxAgents:     cfg.MaxAgents,
		Modes:         len(allModes),
		RoleFeatures:  roleFeatureDim,
		ModelFeatures: modelFeatureDim,
	})
	if err != nil {
		return nil, fmt.Errorf("routing: controller: %w", err)
	}
	p.initRandom(cfg.Seed)
	c.params = p
	c.work.New = func() any { return c.newWorkspace() }
	return c, nil
}

func (c *Controller) setPoolAndRoles(pool *agents.Pool, reg *roles.Registry) error {
	c.models = pool.Models()
	c.modelIndex = make(map[string]int, len(c.models))
	for i, m := range c.models {
		c.modelIndex[m.Name] = i
	}
	c.domains = make(map[tasks.Domain]*domainTable)
	c.scoped = make(map[scopeKey]*domainTable)
	c.maxRoles = 0
	for _, d := range reg.Domains() {
		dt, err := newDomainTable(d, reg.Domain(d), c.models)
		if err != nil {
			return fmt.Errorf("routing: controller: %w", err)
		}
		c.domains[d] = dt
		c.maxRoles = max(c.maxRoles, len(dt.roles))
	}
	if len(c.domains) == 0 {
		return errors.New("routing: controller: config field Roles: the registry has no roles")
	}
	return nil
}

// WithPool returns a controller that shares c's parameters and settings but
// assigns models from pool: models new to the pool are scored from their
// descriptions with no retraining.
func (c *Controller) WithPool(pool *agents.Pool) (*Controller, error) {
	if pool == nil {
		return nil, errors.New("routing: controller: pool is nil")
	}
	return c.with(pool, c.cfg.Roles)
}

// WithRoles returns a controller that shares c's parameters and settings but
// reads roles from reg, e.g. after a user added their own profiles.
func (c *Controller) WithRoles(reg *roles.Registry) (*Controller, error) {
	if reg == nil {
		return nil, errors.New("routing: controller: roles registry is nil")
	}
	return c.with(c.cfg.Pool, reg)
}

func (c *Controller) with(pool *agents.Pool, reg *roles.Registry) (*Controller, error) {
	n := &Controller{
		cfg:     c.cfg,
		enc:     c.enc,
		version: c.version,
		params:  c.params,
		allowed: c.allowed,
		multi:   c.multi,
	}
	n.cfg.Pool, n.cfg.Roles = pool, reg
	if err := n.setPoolAndRoles(pool, reg); err != nil {
		return nil, err
	}
	n.work.New = func() any { return n.newWorkspace() }
	return n, nil
}

// Name is "masrouter".
func (c *Controller) Name() string { return "masrouter" }

// Config returns the configuration after defaults.
func (c *Controller) Config() ControllerConfig {
	cfg := c.cfg
	cfg.Modes = append([]topology.Mode(nil), cfg.Modes...)
	return cfg
}

// FeaturesVersion is the encoder's version string, recorded with trajectories
// and checkpoints.
func (c *Controller) FeaturesVersion() string { return c.version }

// Params returns the controller's live parameters. Trainers update them in
// place; no other goroutine may route or take gradients meanwhile.
func (c *Controller) Params() *Params { return c.params }

// SetParams copies p into the controller's parameters; shapes must match.
func (c *Controller) SetParams(p *Params) error {
	if p == nil {
		return errors.New("routing: set params: nil")
	}
	if p.shape != c.params.shape {
		return fmt.Errorf("routing: set params: shape %+v does not match the controller's %+v", p.shape, c.params.shape)
	}
	p.fold()
	copy(c.params.data, p.data)
	c.params.changed()
	return nil
}

// Encode returns the features of t's query.
func (c *Controller) Encode(ctx context.Context, t *tasks.Task) (Features, error) {
	if t == nil {
		return Features{}, errors.New("routing: task is nil")
	}
	f, err := c.enc.Encode(ctx, t.Query)
	if err != nil {
		return Features{}, fmt.Errorf("routing: task %s: %w", t.ID, err)
	}
	f.Scope = t.SkillKey()
	if dt := c.domains[t.Domain]; dt != nil {
		f.roleMatch, f.matchDomain = dt.match.match(t.Query), string(t.Domain)
	}
	return f, nil
}

// Route encodes t and returns a plan sampled from the policy, or decoded
// greedily when the config asks for it. Sampling draws from a stream keyed by
// the config's seed and the task's ID, so a task's plan does not depend on
// which other tasks were routed before it or concurrently with it.
func (c *Controller) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if c.cfg.Greedy {
		return c.Greedy(ctx, t)
	}
	f, err := c.Encode(ctx, t)
	if err != nil {
		return topology.Plan{}, err
	}
	return c.SampleFeatures(f, t.Domain, TaskRand(c.cfg.Seed, t.ID))
}

// TaskRand returns a random stream determined by seed and a task ID, for
// routers whose choices must not depend on the order tasks arrive in.
func TaskRand(seed int64, taskID string) *rand.Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(taskID); i++ {
		h ^= uint64(taskID[i])
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(uint64(seed), h))
}

// Sample encodes t and samples a plan using rng, which the caller must not
// share between goroutines.
func (c *Controller) Sample(ctx context.Context, t *tasks.Task, rng *rand.Rand) (topology.Plan, error) {
	f, err := c.Encode(ctx, t)
	if err != nil {
		return topology.Plan{}, err
	}
	return c.SampleFeatures(f, t.Domain, rng)
}

// Greedy encodes t and returns the plan that takes the most probable choice
// at every stage, each given the earlier ones.
func (c *Controller) Greedy(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	f, err := c.Encode(ctx, t)
	if err != nil {
		return topology.Plan{}, err
	}
	return c.GreedyFeatures(f, t.Domain)
}

// SampleFeatures samples a plan for a query already encoded as f.
func (c *Controller) SampleFeatures(f Features, d tasks.Domain, rng *rand.Rand) (topology.Plan, error) {
	if rng == nil {
		return topology.Plan{}, errors.New("routing: sample: rng is nil")
	}
	return c.decode(f, d, decideSample, rng)
}

// GreedyFeatures decodes greedily for a query already encoded as f.
func (c *Controller) GreedyFeatures(f Features, d tasks.Domain) (topology.Plan, error) {
	return c.decode(f, d, decideGreedy, nil)
}

func (c *Controller) decode(f Features, d tasks.Domain, kind decideKind, rng *rand.Rand) (topology.Plan, error) {
	dt, err := c.check(f, d)
	if err != nil {
		return topology.Plan{}, err
	}
	ws := c.work.Get().(*workspace)
	defer c.work.Put(ws)
	ws.reset()
	if lp, _ := c.forward(ws, f, dt, kind, rng); math.IsNaN(lp) {
		return topology.Plan{}, errNaN
	}
	return c.plan(ws, dt), nil
}

// LogProb re-scores an existing plan for t under the current parameters and
// returns log π(p | t) with the log-probability of each decision.
func (c *Controller) LogProb(ctx context.Context, t *tasks.Task, p topology.Plan) (float64, []topology.Choice, error) {
	f, err := c.Encode(ctx, t)
	if err != nil {
		return 0, nil, err
	}
	return c.LogProbFeatures(f, t.Domain, p)
}

// LogProbFeatures re-scores p for a query already encoded as f. A role, model,
// mode or agent count the controller cannot choose is an error.
func (c *Controller) LogProbFeatures(f Features, d tasks.Domain, p topology.Plan) (float64, []topology.Choice, error) {
	dt, err := c.check(f, d)
	if err != nil {
		return 0, nil, err
	}
	ws := c.work.Get().(*workspace)
	defer c.work.Put(ws)
	ws.reset()
	if err := c.setPath(ws, dt, p); err != nil {
		return 0, nil, err
	}
	lp, _ := c.forward(ws, f, dt, decideFixed, nil)
	if math.IsNaN(lp) {
		return 0, nil, errNaN
	}
	return lp, c.plan(ws, dt).Choices, nil
}

// check validates the inputs of a decision and returns the domain's table.
func (c *Controller) check(f Features, d tasks.Domain) (*domainTable, error) {
	if f.Dim != c.params.shape.InputDim {
		return nil, fmt.Errorf("routing: features have dim %d, the controller's encoder (%s) has %d", f.Dim, c.version, c.params.shape.InputDim)
	}
	if len(f.Index) != len(f.Value) {
		return nil, fmt.Errorf("routing: features have %d indices but %d values", len(f.Index), len(f.Value))
	}
	for _, j := range f.Index {
		if j < 0 || j >= f.Dim {
			return nil, fmt.Errorf("routing: feature index %d out of range [0, %d)", j, f.Dim)
		}
	}
	dt := c.domains[d]
	if dt == nil {
		have := make([]string, 0, len(c.domains))
		for x := range c.domains {
			have = append(have, string(x))
		}
		slices.Sort(have)
		return nil, fmt.Errorf("routing: domain %q has no roles (the controller has roles for: %s)", d, strings.Join(have, ", "))
	}
	return c.scopedTable(dt, f.Scope)
}

// scopeKey names a domain table whose models are judged by a scope's skill.
type scopeKey struct {
	domain tasks.Domain
	scope  string
}

// scopedTable returns the table of dt's domain for scope: dt itself when
// scope is empty or no model lists a skill for it.
func (c *Controller) scopedTable(dt *domainTable, scope string) (*domainTable, error) {
	if scope == "" || scope == string(dt.domain) {
		return dt, nil
	}
	key := scopeKey{dt.domain, scope}
	c.scopedMu.Lock()
	defer c.scopedMu.Unlock()
	if st, ok := c.scoped[key]; ok {
		return st, nil
	}
	st := dt
	for _, m := range c.models {
		if _, ok := m.Skills[scope]; ok {
			var err error
			if st, err = newScopedTable(dt.domain, scope, dt.roles, c.models); err != nil {
				return nil, err
			}
			break
		}
	}
	c.scoped[key] = st
	return st, nil
}

// setPath loads p's decisions into ws, validating each against the controller.
func (c *Controller) setPath(ws *workspace, dt *domainTable, p topology.Plan) error {
	if p.Domain != "" && p.Domain != dt.domain {
		return fmt.Errorf("routing: plan domain %q differs from the task domain %q", p.Domain, dt.domain)
	}
	m := modeIndex(p.Mode)
	if m < 0 {
		return fmt.Errorf("routing: plan mode %q is unknown", p.Mode)
	}
	ws.modePos = -1
	for a, x := range c.allowed {
		if x == m {
			ws.modePos = a
		}
	}
	if ws.modePos < 0 {
		return fmt.Errorf("routing: plan mode %q is not one the controller may choose (%v)", p.Mode, c.cfg.Modes)
	}
	n := len(p.Agents)
	switch {
	case p.Mode.SingleAgent() && n != 1:
		return fmt.Errorf("routing: plan mode %s has %d agents, want 1", p.Mode, n)
	case !p.Mode.SingleAgent() && (n < 2 || n > c.cfg.MaxAgents):
		return fmt.Errorf("routing: plan mode %s has %d agents, want 2..%d", p.Mode, n, c.cfg.MaxAgents)
	}
	ws.n = n
	for i, a := range p.Agents {
		r, ok := dt.roleIndex[a.Role]
		if !ok {
			return fmt.Errorf("routing: plan agent %d: %w %q in domain %q", i, roles.ErrUnknownRole, a.Role, dt.domain)
		}
		mi, ok := c.modelIndex[a.Model]
		if !ok {
			return fmt.Errorf("routing: plan agent %d: %w %q", i, agents.ErrUnknownModel, a.Model)
		}
		ws.roleIdx[i] = r
		ws.modelIdx[i] = mi
	}
	return nil
}

// plan renders the decisions held in ws as a Plan with its Choices.
func (c *Controller) plan(ws *workspace, dt *domainTable) topology.Plan {
	mode := allModes[c.allowed[ws.modePos]]
	p := topology.Plan{
		Mode:    mode,
		Domain:  dt.domain,
		Agents:  make([]topology.AgentSpec, ws.n),
		Choices: make([]topology.Choice, 0, 2+2*ws.n),
	}
	p.Choices = append(p.Choices, topology.Choice{Stage: "mode", Value: string(mode), LogProb: ws.modeLogp[ws.modePos]})
	if !mode.SingleAgent() {
		k := ws.n - 2
		p.Choices = append(p.Choices, topology.Choice{Stage: "count", Value: strconv.Itoa(ws.n), LogProb: ws.countLogp[k]})
	}
	R, P := len(dt.roles), len(c.models)
	for i := 0; i < ws.n; i++ {
		r := ws.roleIdx[i]
		p.Agents[i].Role = dt.roles[r].Name
		p.Choices = append(p.Choices, topology.Choice{Stage: "role", Index: i, Value: dt.roles[r].Name, LogProb: ws.roleLogp[i*R+r]})
	}
	for i := 0; i < ws.n; i++ {
		m := ws.modelIdx[i]
		p.Agents[i].Model = c.models[m].Name
		p.Choices = append(p.Choices, topology.Choice{Stage: "model", Index: i, Value: c.models[m].Name, LogProb: ws.modelLogp[i*P+m]})
	}
	return p
}

// Gradient accumulates into g the gradient, with respect to the controller's
// parameters, of coefLogProb·log π(p | f) + coefEntropy·H, where H is the sum
// of the entropies of every categorical distribution visited along p's path
// (mode, count, each role slot, each model slot). It returns log π(p | f) and
// H. g must have the controller's shape; it is not cleared first. Part of
// the sum (the terms of the role and model description features) is added to
// g's tensors only when g is next read through one of its methods, once for
// many calls, which is what makes a call cheap.
func (c *Controller) Gradient(f Features, d tasks.Domain, p topology.Plan, coefLogProb, coefEntropy float64, g *Params) (logProb, entropy float64, err error) {
	return c.GradientFunc(f, d, p, func(float64, float64) (float64, float64) { return coefLogProb, coefEntropy }, g)
}

// GradientFunc is Gradient with the coefficients chosen after the forward
// pass: coef receives log π(p | x) and the summed entropy and returns the
// coefficients of the log-probability and entropy terms. Off-policy training
// uses it to weight a logged plan by π_θ/π_behaviour without a second
// forward pass.
func (c *Controller) GradientFunc(f Features, d tasks.Domain, p topology.Plan, coef func(logProb, entropy float64) (coefLogProb, coefEntropy float64), g *Params) (logProb, entropy float64, err error) {
	if g == nil || g.shape != c.params.shape {
		return 0, 0, errors.New("routing: gradient: accumulator is nil or has another shape than the controller's parameters")
	}
	dt, err := c.check(f, d)
	if err != nil {
		return 0, 0, err
	}
	ws := c.work.Get().(*workspace)
	defer c.work.Put(ws)
	ws.reset()
	if err := c.setPath(ws, dt, p); err != nil {
		return 0, 0, err
	}
	lp, ent := c.forward(ws, f, dt, decideFixed, nil)
	if math.IsNaN(lp) || math.IsNaN(ent) {
		return lp, ent, errNaN
	}
	a, b := coef(lp, ent)
	c.backward(ws, f, dt, a, b, g)
	if g == c.params {
		// Routing reads the parameters directly, so nothing may stay pending.
		g.fold()
	}
	g.changed()
	return lp, ent, nil
}

// Greedily returns a Router that decodes c greedily whatever c's config
// says, for evaluating a policy trained by sampling.
func (c *Controller) Greedily() Router { return greedyRouter{c} }

type greedyRouter struct{ c *Controller }

func (g greedyRouter) Name() string { return g.c.Name() }

func (g greedyRouter) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	return g.c.Greedy(ctx, t)
}
