package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// This file holds PickLLM's two online learners (Sikeridis et al., 2024):
// a learning automaton with the linear reward–inaction rule, and stateless
// ε-greedy Q-learning. Both ignore the query: they learn which model to
// call from the rewards of the calls they made.

// Learner is an online, query-independent chooser among a fixed number of
// arms. Implementations are safe for concurrent use and, for a seed,
// deterministic in the order of their calls.
type Learner interface {
	// Arms is the number of arms.
	Arms() int
	// Pick chooses an arm to play.
	Pick() int
	// Observe tells the learner the reward that playing arm earned.
	Observe(arm int, reward float64) error
	// Probabilities returns the current chance of picking each arm.
	Probabilities() []float64
}

// RewardWeights are PickLLM's reward weights:
// reward = Accuracy·score − Cost·dollars − Latency·log10(latency in seconds).
type RewardWeights struct {
	Accuracy float64 `json:"accuracy"`
	Cost     float64 `json:"cost"`
	Latency  float64 `json:"latency"`
}

// Reward returns the weighted reward of one call. The latency term counts
// only when its weight and the latency are positive.
func (w RewardWeights) Reward(score, dollars float64, latency time.Duration) float64 {
	r := w.Accuracy*score - w.Cost*dollars
	if w.Latency != 0 && latency > 0 {
		r -= w.Latency * math.Log10(latency.Seconds())
	}
	return r
}

// AutomatonConfig configures NewAutomaton.
type AutomatonConfig struct {
	// Arms is the number of arms (≥ 2).
	Arms int
	// Rate is the learning rate η in (0, 1]; 0 means 0.05.
	Rate float64
	// RewardMin and RewardMax map a reward to the automaton's response
	// β = (reward − RewardMin)/(RewardMax − RewardMin), clamped to [0, 1].
	// Both zero means [0, 1].
	RewardMin, RewardMax float64
	// Seed seeds the arm draws.
	Seed int64
}

// Automaton is a stochastic learning automaton with the linear
// reward–inaction (L_RI) rule: it draws arm a with probability p_a and,
// after a response β in [0, 1], moves p_a ← p_a + η·β·(1 − p_a) and every
// other p_j ← (1 − η·β)·p_j. A zero response (a penalty) changes nothing.
type Automaton struct {
	mu  sync.Mutex
	cfg AutomatonConfig
	p   []float64
	rng *rand.Rand
}

// NewAutomaton validates cfg and returns an automaton with uniform
// probabilities.
func NewAutomaton(cfg AutomatonConfig) (*Automaton, error) {
	if cfg.Rate == 0 {
		cfg.Rate = 0.05
	}
	if cfg.RewardMin == 0 && cfg.RewardMax == 0 {
		cfg.RewardMax = 1
	}
	switch {
	case cfg.Arms < 2:
		return nil, fmt.Errorf("routing: automaton: config field Arms = %d, want ≥ 2", cfg.Arms)
	case !(cfg.Rate > 0 && cfg.Rate <= 1):
		return nil, fmt.Errorf("routing: automaton: config field Rate = %g, want (0, 1]", cfg.Rate)
	case !(cfg.RewardMax > cfg.RewardMin) || math.IsInf(cfg.RewardMax-cfg.RewardMin, 0):
		return nil, fmt.Errorf("routing: automaton: config fields RewardMin = %g, RewardMax = %g: want finite min < max", cfg.RewardMin, cfg.RewardMax)
	}
	p := make([]float64, cfg.Arms)
	for i := range p {
		p[i] = 1 / float64(cfg.Arms)
	}
	return &Automaton{cfg: cfg, p: p, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed_a7a))}, nil
}

// Arms is the number of arms.
func (a *Automaton) Arms() int { return a.cfg.Arms }

// Pick draws an arm from the current probabilities.
func (a *Automaton) Pick() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.rng.Float64()
	for i, p := range a.p {
		if u -= p; u < 0 {
			return i
		}
	}
	return len(a.p) - 1
}

// Observe applies the L_RI update for a reward earned by arm.
func (a *Automaton) Observe(arm int, reward float64) error {
	if arm < 0 || arm >= a.cfg.Arms {
		return fmt.Errorf("routing: automaton: arm %d out of range [0, %d)", arm, a.cfg.Arms)
	}
	if math.IsNaN(reward) {
		return errors.New("routing: automaton: reward is NaN")
	}
	beta := (reward - a.cfg.RewardMin) / (a.cfg.RewardMax - a.cfg.RewardMin)
	beta = min(max(beta, 0), 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	step := a.cfg.Rate * beta
	for j := range a.p {
		if j == arm {
			a.p[j] += step * (1 - a.p[j])
		} else {
			a.p[j] -= step * a.p[j]
		}
	}
	return nil
}

// Probabilities returns a copy of the arm probabilities.
func (a *Automaton) Probabilities() []float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.p)
}

// QConfig configures NewQLearner.
type QConfig struct {
	// Arms is the number of arms (≥ 2).
	Arms int
	// Alpha is the step size in (0, 1]; 0 means 0.1.
	Alpha float64
	// Epsilon is the exploration probability in [0, 1]; 0 means 0.1. Use a
	// negative value for none (always greedy).
	Epsilon float64
	// Decay multiplies ε after every observation; 0 means 1 (no decay).
	Decay float64
	// Gamma discounts the stateless bootstrap term max_b Q(b); 0 (the
	// default) makes the update a running average of each arm's reward.
	Gamma float64
	// Initial is every arm's starting value.
	Initial float64
	// Seed seeds exploration.
	Seed int64
}

// QLearner is stateless ε-greedy Q-learning: with probability ε it plays a
// uniformly random arm, otherwise the arm of highest value (the lowest
// index on ties), and after reward r for arm a it sets
// Q(a) ← Q(a) + α·(r + γ·max_b Q(b) − Q(a)).
type QLearner struct {
	mu  sync.Mutex
	cfg QConfig
	q   []float64
	eps float64
	rng *rand.Rand
}

// NewQLearner validates cfg and returns a learner with every value at
// cfg.Initial.
func NewQLearner(cfg QConfig) (*QLearner, error) {
	if cfg.Alpha == 0 {
		cfg.Alpha = 0.1
	}
	switch {
	case cfg.Epsilon == 0:
		cfg.Epsilon = 0.1
	case cfg.Epsilon < 0:
		cfg.Epsilon = 0
	}
	if cfg.Decay == 0 {
		cfg.Decay = 1
	}
	switch {
	case cfg.Arms < 2:
		return nil, fmt.Errorf("routing: q-learner: config field Arms = %d, want ≥ 2", cfg.Arms)
	case !(cfg.Alpha > 0 && cfg.Alpha <= 1):
		return nil, fmt.Errorf("routing: q-learner: config field Alpha = %g, want (0, 1]", cfg.Alpha)
	case cfg.Epsilon > 1 || math.IsNaN(cfg.Epsilon):
		return nil, fmt.Errorf("routing: q-learner: config field Epsilon = %g, want [0, 1]", cfg.Epsilon)
	case !(cfg.Decay > 0 && cfg.Decay <= 1):
		return nil, fmt.Errorf("routing: q-learner: config field Decay = %g, want (0, 1]", cfg.Decay)
	case !(cfg.Gamma >= 0 && cfg.Gamma < 1):
		return nil, fmt.Errorf("routing: q-learner: config field Gamma = %g, want [0, 1)", cfg.Gamma)
	case !isFinite(cfg.Initial):
		return nil, fmt.Errorf("routing: q-learner: config field Initial = %g, want a finite value", cfg.Initial)
	}
	q := make([]float64, cfg.Arms)
	for i := range q {
		q[i] = cfg.Initial
	}
	return &QLearner{cfg: cfg, q: q, eps: cfg.Epsilon, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9_1ea7))}, nil
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Arms is the number of arms.
func (l *QLearner) Arms() int { return l.cfg.Arms }

func (l *QLearner) greedy() int {
	best := 0
	for i, v := range l.q {
		if v > l.q[best] {
			best = i
		}
	}
	return best
}

// Pick explores with probability ε and otherwise plays the greedy arm.
func (l *QLearner) Pick() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng.Float64() < l.eps {
		return l.rng.IntN(len(l.q))
	}
	return l.greedy()
}

// Observe updates the value of arm with reward and decays ε.
func (l *QLearner) Observe(arm int, reward float64) error {
	if arm < 0 || arm >= l.cfg.Arms {
		return fmt.Errorf("routing: q-learner: arm %d out of range [0, %d)", arm, l.cfg.Arms)
	}
	if !isFinite(reward) {
		return fmt.Errorf("routing: q-learner: reward %g is not finite", reward)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	target := reward + l.cfg.Gamma*l.q[l.greedy()]
	l.q[arm] += l.cfg.Alpha * (target - l.q[arm])
	l.eps *= l.cfg.Decay
	return nil
}

// Values returns a copy of the arm values.
func (l *QLearner) Values() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.q)
}

// Probabilities returns the chance of each arm under the current ε.
func (l *QLearner) Probabilities() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := make([]float64, len(l.q))
	for i := range p {
		p[i] = l.eps / float64(len(p))
	}
	p[l.greedy()] += 1 - l.eps
	return p
}

// BanditConfig configures NewBandit.
type BanditConfig struct {
	// Name identifies the router in reports. Required.
	Name string
	// Learner picks the arm; arm i is Models[i]. Required.
	Learner Learner
	// Models are the arms' model names, as many as the learner has arms.
	Models []string
	// Mode is the single-agent mode of every plan; empty means IO.
	Mode topology.Mode
	// Roles supplies the solver role; nil means roles.Default().
	Roles *roles.Registry
	// Weights turn a run's score, dollars and latency into the reward.
	Weights RewardWeights
}

// Bandit routes every query to the model its learner picks, as a
// single-agent plan with the domain's first solver, and learns online from
// Observe. It is safe for concurrent use; for a seed, its choices are
// deterministic in the order of Route and Observe calls.
type Bandit struct {
	name    string
	learner Learner
	singles []*Single
	index   map[string]int
	weights RewardWeights
}

// NewBandit validates cfg and returns the bandit router.
func NewBandit(cfg BanditConfig) (*Bandit, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("routing: bandit: config field Name is empty")
	case cfg.Learner == nil:
		return nil, errors.New("routing: bandit: config field Learner is nil")
	case len(cfg.Models) != cfg.Learner.Arms():
		return nil, fmt.Errorf("routing: bandit: %d models for a learner of %d arms", len(cfg.Models), cfg.Learner.Arms())
	}
	if cfg.Mode == "" {
		cfg.Mode = topology.ModeIO
	}
	b := &Bandit{name: cfg.Name, learner: cfg.Learner, index: map[string]int{}, weights: cfg.Weights}
	for i, m := range cfg.Models {
		if _, dup := b.index[m]; dup {
			return nil, fmt.Errorf("routing: bandit: model %q listed twice", m)
		}
		s, err := NewSingle(m, cfg.Mode, cfg.Roles)
		if err != nil {
			return nil, fmt.Errorf("routing: bandit: %w", err)
		}
		b.singles = append(b.singles, s)
		b.index[m] = i
	}
	return b, nil
}

// Name is the configured name.
func (b *Bandit) Name() string { return b.name }

// Learner returns the bandit's learner.
func (b *Bandit) Learner() Learner { return b.learner }

// Route plays the learner's pick on t.
func (b *Bandit) Route(ctx context.Context, t *tasks.Task) (topology.Plan, error) {
	if err := checkTask(ctx, t); err != nil {
		return topology.Plan{}, fmt.Errorf("routing: %s: %w", b.name, err)
	}
	return b.singles[b.learner.Pick()].Route(ctx, t)
}

// Observe rewards the model of p's first agent with the run's outcome: its
// score (0 when the run failed), dollars and critical-path latency.
func (b *Bandit) Observe(p topology.Plan, tr *topology.Trace, runErr error) error {
	if len(p.Agents) == 0 {
		return fmt.Errorf("routing: %s: observe: plan has no agents", b.name)
	}
	if tr == nil {
		return fmt.Errorf("routing: %s: observe: no trace", b.name)
	}
	score := tr.Score
	if runErr != nil {
		score = 0
	}
	return b.ObserveOutcome(p.Agents[0].Model, score, tr.Dollars, tr.CriticalPath)
}

// ObserveOutcome rewards model with the weighted reward of one call.
func (b *Bandit) ObserveOutcome(model string, score, dollars float64, latency time.Duration) error {
	arm, ok := b.index[model]
	if !ok {
		return fmt.Errorf("routing: %s: observe: model %q is not an arm", b.name, model)
	}
	return b.learner.Observe(arm, b.weights.Reward(score, dollars, latency))
}
