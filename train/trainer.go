package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// Importance says how offline training corrects for the policy that logged
// the trajectories.
type Importance string

// The importance-weighting schemes.
const (
	// ImportanceClip weights each trajectory by π_θ/π_behaviour, clipped at
	// Config.ImportanceClip (truncated importance sampling).
	ImportanceClip Importance = "clip"
	// ImportanceSelfNormalized divides the weights of a batch by their mean
	// (weighted importance sampling): biased, lower variance, no clip needed.
	ImportanceSelfNormalized Importance = "self-normalized"
)

// Config configures policy-gradient training. Zero fields take the defaults
// documented on each.
type Config struct {
	// Lambda is the cost weight: reward = score − Lambda·dollars per query.
	Lambda float64
	// LearningRate is Adam's step size (default 0.03).
	LearningRate float64
	// ClipNorm caps the global gradient norm of each update (default 5).
	ClipNorm float64
	// Entropy is the coefficient of the entropy bonus (default 0.01).
	Entropy float64
	// BaselineDecay is the decay of the per-domain moving-average reward
	// baseline (default 0.9).
	BaselineDecay float64
	// BatchSize is the number of tasks (online) or trajectories (offline) per
	// update (default 32).
	BatchSize int
	// Epochs is the number of passes over the data (default 5).
	Epochs int
	// Samples is the number of plans sampled per task and batch online
	// (default 4). With more than one, each sample's baseline is the mean
	// reward of the task's other samples (leave-one-out), which removes the
	// task's own difficulty from the advantage; with one, the moving average.
	Samples int
	// Seed makes sampling and shuffling deterministic.
	Seed int64
	// Workers runs this many plans at once online (default GOMAXPROCS).
	Workers int `json:"-"`
	// Importance and ImportanceClip configure offline training (defaults
	// ImportanceClip and 10).
	Importance     Importance
	ImportanceClip float64
	// Progress, if set, is called after every epoch.
	Progress func(EpochStats) `json:"-"`
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.LearningRate, 0.03)
	def(&c.ClipNorm, 5)
	def(&c.Entropy, 0.01)
	def(&c.BaselineDecay, 0.9)
	def(&c.ImportanceClip, 10)
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Epochs == 0 {
		c.Epochs = 5
	}
	if c.Samples == 0 {
		c.Samples = 4
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Importance == "" {
		c.Importance = ImportanceClip
	}
	switch {
	case c.Lambda < 0 || math.IsNaN(c.Lambda) || math.IsInf(c.Lambda, 0):
		return c, fmt.Errorf("train: config field Lambda: %g, want a finite value ≥ 0", c.Lambda)
	case c.LearningRate < 0:
		return c, fmt.Errorf("train: config field LearningRate: %g is negative", c.LearningRate)
	case c.BaselineDecay < 0 || c.BaselineDecay >= 1:
		return c, fmt.Errorf("train: config field BaselineDecay: %g, want [0, 1)", c.BaselineDecay)
	case c.BatchSize < 0 || c.Epochs < 0 || c.Samples < 0:
		return c, errors.New("train: config fields BatchSize, Epochs and Samples must not be negative")
	case c.Importance != ImportanceClip && c.Importance != ImportanceSelfNormalized:
		return c, fmt.Errorf("train: config field Importance: %q, want %q or %q", c.Importance, ImportanceClip, ImportanceSelfNormalized)
	case c.ImportanceClip < 1:
		return c, fmt.Errorf("train: config field ImportanceClip: %g, want ≥ 1", c.ImportanceClip)
	}
	return c, nil
}

// EpochStats summarises one epoch of training.
type EpochStats struct {
	Epoch int `json:"epoch"`
	// N is the number of plans (online) or trajectories (offline) used.
	N               int     `json:"n"`
	MeanReward      float64 `json:"mean_reward"`
	MeanScore       float64 `json:"mean_score"`
	DollarsPerQuery float64 `json:"dollars_per_query"`
	// MeanEntropy is the mean summed entropy of the policy's decisions.
	MeanEntropy float64 `json:"mean_entropy"`
	// MeanGradNorm is the mean gradient norm before clipping.
	MeanGradNorm float64 `json:"mean_grad_norm"`
	// EffectiveSampleSize is the offline importance weights' (Σw)²/Σw² over
	// the epoch divided by N, in (0, 1]; 1 means on-policy.
	EffectiveSampleSize float64 `json:"effective_sample_size,omitempty"`
	Failed              int     `json:"failed"`
}

// Trainer learns a controller's parameters by policy gradient. It is not
// safe for concurrent use.
type Trainer struct {
	cfg      Config
	ctrl     *routing.Controller
	adam     *Adam
	grad     *routing.Params
	baseline map[tasks.Domain]float64
	seen     map[tasks.Domain]bool
	feats    map[string]routing.Features
}

// NewTrainer returns a trainer that updates ctrl's parameters in place.
func NewTrainer(ctrl *routing.Controller, cfg Config) (*Trainer, error) {
	if ctrl == nil {
		return nil, errors.New("train: controller is nil")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := ctrl.Params()
	return &Trainer{
		cfg:      cfg,
		ctrl:     ctrl,
		adam:     NewAdam(p.NumParams(), cfg.LearningRate),
		grad:     p.Clone(),
		baseline: map[tasks.Domain]float64{},
		seen:     map[tasks.Domain]bool{},
		feats:    map[string]routing.Features{},
	}, nil
}

// Config returns the trainer's configuration after defaults.
func (t *Trainer) Config() Config { return t.cfg }

// featKey keys the feature cache: the encoding depends on the text and the
// task's skill scope only.
func featKey(task *tasks.Task) string { return task.SkillKey() + "\x00" + task.Query }

// features encodes a query once per text and skill scope.
func (t *Trainer) features(ctx context.Context, task *tasks.Task) (routing.Features, error) {
	k := featKey(task)
	if f, ok := t.feats[k]; ok {
		return f, nil
	}
	f, err := t.ctrl.Encode(ctx, task)
	if err != nil {
		return routing.Features{}, err
	}
	t.feats[k] = f
	return f, nil
}

// step applies the accumulated gradient with clipping and Adam, in place,
// and returns the gradient norm before clipping.
func (t *Trainer) step() (float64, error) {
	var norm float64
	var err error
	t.grad.Update(func(g []float64) {
		norm = ClipNorm(g, t.cfg.ClipNorm)
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			err = errors.New("train: gradient is not finite")
			return
		}
		t.ctrl.Params().Update(func(theta []float64) { err = t.adam.Step(theta, g) })
	})
	if err != nil {
		return norm, err
	}
	t.grad.Zero()
	return norm, nil
}

func (t *Trainer) updateBaseline(d tasks.Domain, mean float64) {
	if !t.seen[d] {
		t.baseline[d], t.seen[d] = mean, true
		return
	}
	t.baseline[d] = t.cfg.BaselineDecay*t.baseline[d] + (1-t.cfg.BaselineDecay)*mean
}

// sampleRand is the stream for one sample, independent of scheduling.
func sampleRand(seed int64, epoch int, taskID string, k int) *rand.Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(taskID); i++ {
		h ^= uint64(taskID[i])
		h *= 1099511628211
	}
	return rand.New(rand.NewPCG(uint64(seed)^uint64(epoch)<<32^uint64(k), h))
}

// onlineRun is one sampled plan and its outcome.
type onlineRun struct {
	task  *tasks.Task
	plan  topology.Plan
	trace *topology.Trace
	err   error
}

// Online trains by sampling plans for ts, running them with exec and
// updating the policy from reward = score − λ·dollars. If record is non-nil
// it receives every run (serialised, in a deterministic order) so the
// trajectories can be logged. Results are deterministic for a seed.
func (t *Trainer) Online(ctx context.Context, exec *topology.Executor, ts []*tasks.Task, record func(task *tasks.Task, p topology.Plan, tr *topology.Trace)) ([]EpochStats, error) {
	if exec == nil {
		return nil, errors.New("train: online: executor is nil")
	}
	if len(ts) == 0 {
		return nil, errors.New("train: online: no tasks")
	}
	var hist []EpochStats
	order := append([]*tasks.Task(nil), ts...)
	for epoch := 1; epoch <= t.cfg.Epochs; epoch++ {
		rng := rand.New(rand.NewPCG(uint64(t.cfg.Seed), uint64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		st := EpochStats{Epoch: epoch}
		var normSum float64
		var batches int
		for start := 0; start < len(order); start += t.cfg.BatchSize {
			batch := order[start:min(start+t.cfg.BatchSize, len(order))]
			runs, err := t.sampleAndRun(ctx, exec, batch, epoch)
			if err != nil {
				return hist, err
			}
			if record != nil {
				for _, r := range runs {
					if r.trace != nil {
						record(r.task, r.plan, r.trace)
					}
				}
			}
			norm, err := t.onlineUpdate(ctx, runs, &st)
			if err != nil {
				return hist, err
			}
			normSum += norm
			batches++
		}
		st.finish(normSum, batches)
		hist = append(hist, st)
		if t.cfg.Progress != nil {
			t.cfg.Progress(st)
		}
	}
	return hist, nil
}

func (t *Trainer) sampleAndRun(ctx context.Context, exec *topology.Executor, batch []*tasks.Task, epoch int) ([]onlineRun, error) {
	k := t.cfg.Samples
	runs := make([]onlineRun, len(batch)*k)
	for i, task := range batch {
		f, err := t.features(ctx, task)
		if err != nil {
			return nil, err
		}
		for s := 0; s < k; s++ {
			p, err := t.ctrl.SampleFeatures(f, task.Domain, sampleRand(t.cfg.Seed, epoch, task.ID, s))
			if err != nil {
				return nil, fmt.Errorf("train: sample plan for %s: %w", task.ID, err)
			}
			runs[i*k+s] = onlineRun{task: task, plan: p}
		}
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < t.cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				runs[j].trace, runs[j].err = exec.Run(ctx, runs[j].plan, runs[j].task)
			}
		}()
	}
	for j := range runs {
		select {
		case jobs <- j:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("train: online: %w", err)
	}
	return runs, nil
}

// reward is score − λ·dollars of a run; a failed run scores 0 but still pays.
func (t *Trainer) reward(r onlineRun) (score, dollars float64) {
	if r.trace != nil {
		dollars = r.trace.Dollars
		if r.err == nil {
			score = r.trace.Score
		}
	}
	return score, dollars
}

func (t *Trainer) onlineUpdate(ctx context.Context, runs []onlineRun, st *EpochStats) (float64, error) {
	k := t.cfg.Samples
	n := float64(len(runs))
	rewards := make([]float64, len(runs))
	byDomain := map[tasks.Domain][2]float64{}
	for j, r := range runs {
		score, dollars := t.reward(r)
		rewards[j] = score - t.cfg.Lambda*dollars
		st.N++
		st.MeanScore += score
		st.DollarsPerQuery += dollars
		st.MeanReward += rewards[j]
		if r.err != nil {
			st.Failed++
		}
		s := byDomain[r.task.Domain]
		byDomain[r.task.Domain] = [2]float64{s[0] + rewards[j], s[1] + 1}
	}
	for j, r := range runs {
		var base float64
		if k > 1 {
			first := (j / k) * k
			var sum float64
			for s := first; s < first+k; s++ {
				if s != j {
					sum += rewards[s]
				}
			}
			base = sum / float64(k-1)
		} else {
			base = t.baseline[r.task.Domain]
		}
		f, err := t.features(ctx, r.task)
		if err != nil {
			return 0, err
		}
		_, ent, err := t.ctrl.Gradient(f, r.task.Domain, r.plan, (rewards[j]-base)/n, t.cfg.Entropy/n, t.grad)
		if err != nil {
			return 0, fmt.Errorf("train: gradient for %s: %w", r.task.ID, err)
		}
		st.MeanEntropy += ent
	}
	for d, s := range byDomain {
		t.updateBaseline(d, s[0]/s[1])
	}
	return t.step()
}

func (st *EpochStats) finish(normSum float64, batches int) {
	if st.N > 0 {
		n := float64(st.N)
		st.MeanReward /= n
		st.MeanScore /= n
		st.DollarsPerQuery /= n
		st.MeanEntropy /= n
	}
	if batches > 0 {
		st.MeanGradNorm = normSum / float64(batches)
	}
}

// Logged is one trajectory prepared for offline training: the task (for its
// query and domain), the behaviour plan with its log-probs, and the outcome.
type Logged struct {
	Task             *tasks.Task
	Plan             topology.Plan
	BehaviourLogProb float64
	Score, Dollars   float64
}

// Offline trains from logged plans. Each plan's advantage (its reward under
// the trainer's λ minus a moving-average baseline) is weighted by
// π_θ(plan)/π_behaviour(plan), clipped or self-normalised per Config, so a log
// collected by one policy improves another. Results are deterministic for a
// seed.
func (t *Trainer) Offline(ctx context.Context, logs []Logged) ([]EpochStats, error) {
	if len(logs) == 0 {
		return nil, errors.New("train: offline: no trajectories")
	}
	for i, l := range logs {
		if l.Task == nil {
			return nil, fmt.Errorf("train: offline: trajectory %d has no task", i)
		}
		if _, err := t.features(ctx, l.Task); err != nil {
			return nil, err
		}
	}
	idx := make([]int, len(logs))
	for i := range idx {
		idx[i] = i
	}
	var hist []EpochStats
	weights := make([]float64, 0, t.cfg.BatchSize)
	for epoch := 1; epoch <= t.cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return hist, fmt.Errorf("train: offline: %w", err)
		}
		rng := rand.New(rand.NewPCG(uint64(t.cfg.Seed), uint64(epoch)))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		st := EpochStats{Epoch: epoch}
		var normSum, wSum, w2Sum float64
		var batches int
		for start := 0; start < len(idx); start += t.cfg.BatchSize {
			batch := idx[start:min(start+t.cfg.BatchSize, len(idx))]
			n := float64(len(batch))
			// Self-normalised weights need the whole batch's weights before
			// any gradient; clipped ones are computed inside the gradient's
			// own forward pass.
			var mean float64
			if t.cfg.Importance == ImportanceSelfNormalized {
				weights = weights[:0]
				for _, i := range batch {
					l := logs[i]
					lp, _, err := t.ctrl.LogProbFeatures(t.feats[featKey(l.Task)], l.Task.Domain, l.Plan)
					if err != nil {
						return hist, fmt.Errorf("train: offline: trajectory %d (%s): %w", i, l.Task.ID, err)
					}
					w := math.Exp(lp - l.BehaviourLogProb)
					weights = append(weights, w)
					mean += w
				}
				mean /= n
			}
			for bi, i := range batch {
				l := logs[i]
				r := l.Score - t.cfg.Lambda*l.Dollars
				adv := r - t.baseline[l.Task.Domain]
				var w float64
				coef := func(lp, _ float64) (float64, float64) {
					if t.cfg.Importance == ImportanceSelfNormalized {
						w = weights[bi]
						if mean > 0 {
							w /= mean
						}
					} else {
						w = math.Min(math.Exp(lp-l.BehaviourLogProb), t.cfg.ImportanceClip)
					}
					return w * adv / n, t.cfg.Entropy / n
				}
				_, ent, err := t.ctrl.GradientFunc(t.feats[featKey(l.Task)], l.Task.Domain, l.Plan, coef, t.grad)
				if err != nil {
					return hist, fmt.Errorf("train: offline: trajectory %d (%s): %w", i, l.Task.ID, err)
				}
				wSum += w
				w2Sum += w * w
				st.N++
				st.MeanReward += r
				st.MeanScore += l.Score
				st.DollarsPerQuery += l.Dollars
				st.MeanEntropy += ent
			}
			byDomain := map[tasks.Domain][2]float64{}
			for _, i := range batch {
				l := logs[i]
				s := byDomain[l.Task.Domain]
				byDomain[l.Task.Domain] = [2]float64{s[0] + l.Score - t.cfg.Lambda*l.Dollars, s[1] + 1}
			}
			for d, s := range byDomain {
				t.updateBaseline(d, s[0]/s[1])
			}
			norm, err := t.step()
			if err != nil {
				return hist, err
			}
			normSum += norm
			batches++
		}
		st.finish(normSum, batches)
		if w2Sum > 0 {
			st.EffectiveSampleSize = wSum * wSum / w2Sum / float64(st.N)
		}
		hist = append(hist, st)
		if t.cfg.Progress != nil {
			t.cfg.Progress(st)
		}
	}
	return hist, nil
}
