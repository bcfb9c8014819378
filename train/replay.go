package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// DefaultKappas returns the default cost sweep of the replay experiment
// (see ReplayConfig.Kappas): 0.05, 0.1, 0.15, 0.2, 0.25, 0.3.
func DefaultKappas() []float64 { return []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3} }

// The router kinds of a replay report.
const (
	ReplayLearned   = "learned"
	ReplayThreshold = "threshold"
	ReplayBandit    = "bandit"
	ReplayRandom    = "random"
	ReplaySingle    = "single"
	ReplayOracle    = "oracle"
)

// ReplayConfig configures Replay.
type ReplayConfig struct {
	// Data is the recorded dataset. Required.
	Data *replay.Dataset
	// TrainFraction is the share of questions, picked by task ID
	// (tasks.SplitByID), that routers train on; the rest are held out and
	// every figure is measured on them. 0 means 0.2.
	TrainFraction float64
	// SplitSeed seeds the split.
	SplitSeed int64
	// N, when positive, uses a sample of N questions (tasks.Sample with
	// SplitSeed) instead of all of them, for quick runs.
	N int
	// Seed seeds the controllers, training, the random router and the
	// bandits.
	Seed int64
	// Kappas is the cost sweep. Each κ sets the cost weight λ = κ/D, where
	// D is the mean dollars per training question of the dearest model, so
	// κ is about the quality a query must stand to gain for the dearest
	// model to be worth calling. Empty means DefaultKappas().
	Kappas []float64
	// Train configures online training of the learned router; Lambda and
	// Seed are set per run. Zero Epochs, Samples and Entropy mean 10, 8
	// and 0.2 (a few hundred or thousand questions, so more passes and
	// samples than Config's defaults, and an entropy bonus large enough to
	// keep the policy's log-odds proportional to the estimated advantage
	// rather than saturated); other zero fields take Config's defaults.
	Train Config
	// CallUsage, when set, prices every replayed call at this usage
	// instead of the tokens estimated from its text (see
	// replay.PoolOptions.CallUsage): with replay.RouteLLMCallUsage the
	// cost is RouteLLM's, proportional to the number of strong calls.
	CallUsage *agents.Usage
	// Encoder encodes queries for the learned router; nil means a
	// QueryStatsEncoder (a few text statistics and the header line), which
	// generalises from a few hundred questions where hashed n-grams let the
	// policy memorise them.
	Encoder routing.Encoder
	// Roles supplies the agents' roles; nil means roles.Default().
	Roles *roles.Registry
	// Progress, if set, receives a line after each step.
	Progress func(string)
}

// ReplayPoint is one operating point of a router with a cost knob.
type ReplayPoint struct {
	Kappa  float64 `json:"kappa"`
	Lambda float64 `json:"lambda"`
	// StrongCalls is the share of queries sent to the strong model (two-model sources).
	StrongCalls     *float64       `json:"strong_calls,omitempty"`
	Quality         float64        `json:"quality"`
	DollarsPerQuery float64        `json:"dollars_per_query"`
	Models          map[string]int `json:"models"`
}

// ReplayResult is one router's outcome on the held-out questions.
type ReplayResult struct {
	Router string `json:"router"`
	// Kind is ReplayLearned, ReplayThreshold, ReplayBandit, ReplayRandom,
	// ReplaySingle or ReplayOracle.
	Kind string `json:"kind"`
	Note string `json:"note,omitempty"`
	// Quality is the mean recorded score of the answers the router chose,
	// and DollarsPerQuery their mean estimated cost; for routers with a
	// cost knob, at the knob's middle setting (see Points for all).
	Quality         float64        `json:"quality"`
	DollarsPerQuery float64        `json:"dollars_per_query"`
	StrongCalls     *float64       `json:"strong_calls,omitempty"`
	Models          map[string]int `json:"models,omitempty"`
	// APGR, CPT50 and CPT80 are RouteLLM's metrics (two-model sources) of
	// Curve: a threshold curve for routers that score queries, the sweep of
	// the cost knob (anchored at the weak and strong model alone) for the
	// others.
	APGR  *float64  `json:"apgr,omitempty"`
	CPT50 *float64  `json:"cpt50,omitempty"`
	CPT80 *float64  `json:"cpt80,omitempty"`
	Curve CallCurve `json:"curve,omitempty"`
	// Area is CostQualityArea of Points against the cheapest and the best
	// single model (N-model sources).
	Area   *float64      `json:"area,omitempty"`
	Points []ReplayPoint `json:"points,omitempty"`
}

// ReplayReport is what Replay measured.
type ReplayReport struct {
	Version   int    `json:"version"`
	Source    string `json:"source"`
	Benchmark string `json:"benchmark"`
	Note      string `json:"note"`
	// Load counts what loading the recorded source did.
	Load replay.LoadStats `json:"load"`
	// CallUsage is the fixed usage every call was priced at, if any.
	CallUsage     *agents.Usage `json:"call_usage,omitempty"`
	TrainFraction float64       `json:"train_fraction"`
	// N is the sample size asked for; 0 means every question.
	N         int                `json:"n,omitempty"`
	SplitSeed int64              `json:"split_seed"`
	Seed      int64              `json:"seed"`
	Train     int                `json:"train"`
	Test      int                `json:"test"`
	Models    []replay.ModelInfo `json:"models"`
	// Strong and Weak name the pair of a two-model source, with their
	// held-out qualities.
	Strong        string  `json:"strong,omitempty"`
	Weak          string  `json:"weak,omitempty"`
	StrongQuality float64 `json:"strong_quality,omitempty"`
	WeakQuality   float64 `json:"weak_quality,omitempty"`
	// BestSingle is the single model of highest training-part quality,
	// Cheapest the single model of lowest held-out cost.
	BestSingle  string    `json:"best_single"`
	Cheapest    string    `json:"cheapest"`
	Kappas      []float64 `json:"kappas"`
	DollarScale float64   `json:"dollar_scale"`
	// TrainConfig is the online training configuration (Lambda and Seed
	// vary per run).
	TrainConfig Config         `json:"train_config"`
	Results     []ReplayResult `json:"results"`
	// Published are RouteLLM's published rows for the benchmark (their own
	// routers, trained on other data; see Training).
	Published []PublishedRow `json:"published,omitempty"`
	Elapsed   time.Duration  `json:"elapsed_ns"`
}

// Result returns the result of the named router, or nil.
func (r *ReplayReport) Result(name string) *ReplayResult {
	for i := range r.Results {
		if r.Results[i].Router == name {
			return &r.Results[i]
		}
	}
	return nil
}

// replayRun holds the state of one Replay call.
type replayRun struct {
	cfg         ReplayConfig
	d           *replay.Dataset
	reg         *roles.Registry
	pool        *agents.Pool
	exec        *topology.Executor
	train, test []*tasks.Task
	testIndex   map[string]int
	models      []string
	// score and dollars of every model on every held-out question.
	score, dollars [][]float64
	report         *ReplayReport
}

// Replay measures routers on recorded outcomes: it splits the dataset's
// questions by task ID into a training part (ReplayConfig.TrainFraction)
// and a held-out part, and on the held-out part reports (a) the learned
// router — routing.Controller restricted to IO, trained online with reward
// score − λ·dollars on the training part — at every λ of the sweep, greedy;
// (b) for two-model sources, a threshold router over the learned
// policies' log-odds of the strong model against the weak one, averaged
// over the sweep (with the entropy bonus the log-odds grow with the
// advantage the policy expects from the strong model); (c)
// PickLLM's learning automaton and ε-greedy Q-learning, online over the
// training and then the held-out part, at every λ; (d) the random router
// and each model alone; and the oracle. Every call runs through the
// executor on replayed models, so dollars are the replay's estimates and
// quality is the recorded one. Results are deterministic for the seeds.
func Replay(ctx context.Context, cfg ReplayConfig) (*ReplayReport, error) {
	start := time.Now()
	r, err := newReplayRun(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.singles(ctx); err != nil {
		return nil, err
	}
	if err := r.learned(ctx); err != nil {
		return nil, err
	}
	if err := r.bandits(ctx); err != nil {
		return nil, err
	}
	if err := r.random(); err != nil {
		return nil, err
	}
	if err := r.oracle(); err != nil {
		return nil, err
	}
	if err := r.metrics(); err != nil {
		return nil, err
	}
	r.report.Elapsed = time.Since(start)
	return r.report, nil
}

func newReplayRun(cfg ReplayConfig) (*replayRun, error) {
	if cfg.Data == nil {
		return nil, errors.New("replay experiment: config field Data is nil")
	}
	if cfg.TrainFraction == 0 {
		cfg.TrainFraction = 0.2
	}
	if !(cfg.TrainFraction > 0 && cfg.TrainFraction < 1) {
		return nil, fmt.Errorf("replay experiment: config field TrainFraction = %g, want (0, 1)", cfg.TrainFraction)
	}
	if len(cfg.Kappas) == 0 {
		cfg.Kappas = DefaultKappas()
	}
	if cfg.Train.Epochs == 0 {
		cfg.Train.Epochs = 10
	}
	if cfg.Train.Samples == 0 {
		cfg.Train.Samples = 8
	}
	if cfg.Train.Entropy == 0 {
		cfg.Train.Entropy = 0.2
	}
	if cfg.Encoder == nil {
		cfg.Encoder = &QueryStatsEncoder{}
	}
	for _, k := range cfg.Kappas {
		if !(k >= 0) || math.IsInf(k, 0) {
			return nil, fmt.Errorf("replay experiment: κ = %g, want a finite value ≥ 0", k)
		}
	}
	cfg.Kappas = slices.Sorted(slices.Values(cfg.Kappas))
	trainCfg, err := cfg.Train.withDefaults()
	if err != nil {
		return nil, err
	}
	cfg.Train = trainCfg
	reg := cfg.Roles
	if reg == nil {
		if reg, err = roles.Default(); err != nil {
			return nil, err
		}
	}
	d := cfg.Data
	all := d.Tasks()
	if cfg.N < 0 {
		return nil, fmt.Errorf("replay experiment: config field N = %d, want ≥ 0", cfg.N)
	}
	if cfg.N > 0 {
		all = tasks.Sample(all, cfg.N, cfg.SplitSeed)
	}
	trainPart, test := tasks.SplitByID(all, 1-cfg.TrainFraction, cfg.SplitSeed)
	if len(trainPart) == 0 || len(test) == 0 {
		return nil, fmt.Errorf("replay experiment: %d questions leave an empty part at train fraction %g", len(all), cfg.TrainFraction)
	}
	pool, err := d.Pool(replay.PoolOptions{SkillTasks: trainPart, CallUsage: cfg.CallUsage})
	if err != nil {
		return nil, err
	}
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg, Seed: int(cfg.Seed)})
	if err != nil {
		return nil, err
	}
	r := &replayRun{cfg: cfg, d: d, reg: reg, pool: pool, exec: exec, train: trainPart, test: test, testIndex: map[string]int{}, models: pool.Names()}
	for i, t := range test {
		r.testIndex[t.ID] = i
	}
	r.score = make([][]float64, len(test))
	r.dollars = make([][]float64, len(test))
	for i := range test {
		r.score[i] = make([]float64, len(r.models))
		r.dollars[i] = make([]float64, len(r.models))
	}
	r.report = &ReplayReport{
		Version:       1,
		Source:        d.Source,
		Benchmark:     d.Benchmark,
		Note:          "Correctness is recorded from real models; tokens are estimated from the text (agents.EstimateTokens) and priced at the source's list prices.",
		Load:          d.Stats,
		CallUsage:     cfg.CallUsage,
		TrainFraction: cfg.TrainFraction,
		N:             cfg.N,
		SplitSeed:     cfg.SplitSeed,
		Seed:          cfg.Seed,
		Train:         len(trainPart),
		Test:          len(test),
		Models:        d.Models,
		Kappas:        cfg.Kappas,
		TrainConfig:   cfg.Train,
	}
	if d.Strong >= 0 {
		r.report.Strong, r.report.Weak = d.Models[d.Strong].Name, d.Models[d.Weak].Name
		r.report.Published = RouteLLMPublished(d.Benchmark)
	}
	return r, nil
}

func (r *replayRun) progress(format string, args ...any) {
	if r.cfg.Progress != nil {
		r.cfg.Progress(fmt.Sprintf(format, args...))
	}
}

func (r *replayRun) twoModel() bool { return r.d.Strong >= 0 }

// outcome is what one routed query cost and earned.
type outcome struct {
	model   int
	score   float64
	dollars float64
}

// evaluate runs router on ts through the executor and returns each query's
// outcome in ts order. A routing or run failure is an error: replayed
// models do not fail.
func (r *replayRun) evaluate(ctx context.Context, router routing.Router, ts []*tasks.Task) ([]outcome, error) {
	out := make([]outcome, len(ts))
	var failures []error
	// OnTrace calls are serialised.
	res, err := Evaluate(ctx, r.exec, []routing.Router{router}, ts, EvalOptions{OnTrace: func(_, task int, t *tasks.Task, p topology.Plan, tr *topology.Trace) {
		if tr == nil {
			return // routing failed: counted in res[0].Failed
		}
		if tr.Err != "" {
			failures = append(failures, fmt.Errorf("%s on %s: %s", router.Name(), t.ID, tr.Err))
			return
		}
		m := slices.Index(r.models, p.Agents[0].Model)
		out[task] = outcome{model: m, score: tr.Score, dollars: tr.Dollars}
	}})
	if err != nil {
		return nil, err
	}
	if res[0].Failed > 0 || len(failures) > 0 {
		return nil, fmt.Errorf("replay experiment: %d runs of %s failed: %w", res[0].Failed, router.Name(), errors.Join(failures...))
	}
	return out, nil
}

// summarise aggregates outcomes into a point.
func (r *replayRun) summarise(os []outcome) ReplayPoint {
	p := ReplayPoint{Models: map[string]int{}}
	var strong float64
	for _, o := range os {
		p.Quality += o.score
		p.DollarsPerQuery += o.dollars
		p.Models[r.models[o.model]]++
		if r.twoModel() && o.model == r.d.Strong {
			strong++
		}
	}
	n := float64(len(os))
	p.Quality /= n
	p.DollarsPerQuery /= n
	if r.twoModel() {
		s := strong / n
		p.StrongCalls = &s
	}
	return p
}

// singles runs every model alone on the held-out part, filling the score
// and dollar tables, and the dearest model on the training part for the
// dollar scale.
func (r *replayRun) singles(ctx context.Context) error {
	for m, name := range r.models {
		s, err := routing.NewSingle(name, topology.ModeIO, r.reg)
		if err != nil {
			return err
		}
		os, err := r.evaluate(ctx, s, r.test)
		if err != nil {
			return err
		}
		for i, o := range os {
			it, _ := r.d.Item(r.test[i].ID)
			if rec := it.Outcomes[m].Score; math.Abs(rec-o.score) > 1e-9 {
				return fmt.Errorf("replay experiment: %s on %s scored %g, recorded %g", name, r.test[i].ID, o.score, rec)
			}
			r.score[i][m], r.dollars[i][m] = it.Outcomes[m].Score, o.dollars
		}
		pt := r.summarise(os)
		r.report.Results = append(r.report.Results, ReplayResult{
			Router: name, Kind: ReplaySingle, Quality: pt.Quality, DollarsPerQuery: pt.DollarsPerQuery, StrongCalls: pt.StrongCalls, Models: pt.Models,
		})
		r.progress("single %s: quality %.4f, $%.6f per query", name, pt.Quality, pt.DollarsPerQuery)
	}
	// The dollar scale: the dearest model's mean cost on the training part.
	dearest := r.pool.MostExpensive()
	s, err := routing.NewSingle(dearest.Name, topology.ModeIO, r.reg)
	if err != nil {
		return err
	}
	os, err := r.evaluate(ctx, s, r.train)
	if err != nil {
		return err
	}
	r.report.DollarScale = r.summarise(os).DollarsPerQuery
	if !(r.report.DollarScale > 0) {
		return fmt.Errorf("replay experiment: %s costs %g per training question", dearest.Name, r.report.DollarScale)
	}
	// Best single by training quality; cheapest by held-out dollars.
	best, bestQ := 0, math.Inf(-1)
	for m := range r.models {
		var q float64
		for _, t := range r.train {
			it, _ := r.d.Item(t.ID)
			q += it.Outcomes[m].Score
		}
		if q > bestQ {
			best, bestQ = m, q
		}
	}
	r.report.BestSingle = r.models[best]
	cheap := 0
	for m := range r.models {
		if r.report.Results[m].DollarsPerQuery < r.report.Results[cheap].DollarsPerQuery {
			cheap = m
		}
	}
	r.report.Cheapest = r.models[cheap]
	if r.twoModel() {
		r.report.StrongQuality = r.report.Results[r.d.Strong].Quality
		r.report.WeakQuality = r.report.Results[r.d.Weak].Quality
	}
	return nil
}

// lambda converts κ to the trainer's λ.
func (r *replayRun) lambda(kappa float64) float64 { return kappa / r.report.DollarScale }

// learned trains one IO controller per κ, evaluates it greedily and, for
// two-model sources, records its probability of the strong model on every
// held-out question.
func (r *replayRun) learned(ctx context.Context) error {
	res := ReplayResult{Router: "masrouter", Kind: ReplayLearned,
		Note: fmt.Sprintf("routing.Controller restricted to IO, trained online on the %d training questions (reward score − λ·dollars), greedy decoding; one policy per κ", len(r.train))}
	var probs [][]float64 // per κ, per held-out question: log-odds of the strong model
	for _, kappa := range r.cfg.Kappas {
		t0 := time.Now()
		cc := routing.ControllerConfig{Pool: r.pool, Roles: r.reg, Encoder: r.cfg.Encoder, Modes: []topology.Mode{topology.ModeIO}, Seed: r.cfg.Seed}
		ctrl, err := routing.NewController(cc)
		if err != nil {
			return err
		}
		tc := r.cfg.Train
		tc.Lambda, tc.Seed = r.lambda(kappa), r.cfg.Seed
		trainer, err := NewTrainer(ctrl, tc)
		if err != nil {
			return err
		}
		if _, err := trainer.Online(ctx, r.exec, r.train, nil); err != nil {
			return fmt.Errorf("replay experiment: train κ=%g: %w", kappa, err)
		}
		cc.Greedy = true
		greedy, err := routing.NewController(cc)
		if err != nil {
			return err
		}
		if err := greedy.SetParams(ctrl.Params()); err != nil {
			return err
		}
		os, err := r.evaluate(ctx, greedy, r.test)
		if err != nil {
			return err
		}
		pt := r.summarise(os)
		pt.Kappa, pt.Lambda = kappa, tc.Lambda
		res.Points = append(res.Points, pt)
		if r.twoModel() {
			ps := make([]float64, len(r.test))
			for i, t := range r.test {
				f, err := ctrl.Encode(ctx, t)
				if err != nil {
					return err
				}
				mp, err := ctrl.FirstModelProbs(f, t.Domain)
				if err != nil {
					return err
				}
				ps[i] = math.Log(mp[r.d.Strong]) - math.Log(mp[r.d.Weak])
			}
			probs = append(probs, ps)
		}
		r.progress("masrouter κ=%g (λ=%.4g): quality %.4f, $%.6f per query%s, trained in %.1fs", kappa, tc.Lambda, pt.Quality, pt.DollarsPerQuery, strongNote(pt.StrongCalls), time.Since(t0).Seconds())
	}
	r.setMiddle(&res)
	r.report.Results = append(r.report.Results, res)
	if !r.twoModel() {
		return nil
	}
	scores := make([]float64, len(r.test))
	for i := range scores {
		for _, ps := range probs {
			scores[i] += ps[i] / float64(len(probs))
		}
	}
	th := ReplayResult{Router: "masrouter-threshold", Kind: ReplayThreshold,
		Note: "threshold on the learned policies' log-odds of the strong model (log P(strong) − log P(weak) from Controller.FirstModelProbs), averaged over the κ sweep"}
	if err := r.thresholdResult(&th, scores); err != nil {
		return err
	}
	// Run the threshold router itself at its median score, through the executor.
	sorted := slices.Sorted(slices.Values(scores))
	router, err := routing.NewThreshold(routing.ThresholdConfig{
		Name: th.Router, Strong: r.report.Strong, Weak: r.report.Weak, Threshold: Quantile(sorted, 0.5), Roles: r.reg,
		Scorer: routing.QueryScorerFunc(func(_ context.Context, t *tasks.Task) (float64, error) {
			i, ok := r.testIndex[t.ID]
			if !ok {
				return 0, fmt.Errorf("no score for %s", t.ID)
			}
			return scores[i], nil
		}),
	})
	if err != nil {
		return err
	}
	os, err := r.evaluate(ctx, router, r.test)
	if err != nil {
		return err
	}
	pt := r.summarise(os)
	th.Quality, th.DollarsPerQuery, th.StrongCalls, th.Models = pt.Quality, pt.DollarsPerQuery, pt.StrongCalls, pt.Models
	th.Note += fmt.Sprintf("; quality and dollars at the median score (threshold %.4g)", Quantile(sorted, 0.5))
	r.report.Results = append(r.report.Results, th)
	r.progress("masrouter-threshold: APGR %.3f, CPT(50%%) %.1f%%, CPT(80%%) %.1f%%", *th.APGR, 100**th.CPT50, 100**th.CPT80)
	return nil
}

func strongNote(s *float64) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(", %.1f%% strong calls", 100**s)
}

// setMiddle copies the middle κ's point into the result's headline fields.
func (r *replayRun) setMiddle(res *ReplayResult) {
	if len(res.Points) == 0 {
		return
	}
	mid := res.Points[(len(res.Points)-1)/2]
	res.Quality, res.DollarsPerQuery, res.StrongCalls, res.Models = mid.Quality, mid.DollarsPerQuery, mid.StrongCalls, mid.Models
}

// thresholdResult fills RouteLLM's metrics of a threshold router over scores.
func (r *replayRun) thresholdResult(res *ReplayResult, scores []float64) error {
	strong, weak := r.column(r.d.Strong), r.column(r.d.Weak)
	curve, err := ThresholdCurve(scores, strong, weak, DefaultBins)
	if err != nil {
		return err
	}
	return r.curveMetrics(res, curve)
}

func (r *replayRun) column(m int) []float64 {
	out := make([]float64, len(r.test))
	for i := range out {
		out[i] = r.score[i][m]
	}
	return out
}

func (r *replayRun) curveMetrics(res *ReplayResult, curve CallCurve) error {
	ws, ss := r.report.WeakQuality, r.report.StrongQuality
	apgr, err := APGR(curve, ws, ss)
	if err != nil {
		return err
	}
	c50, err := CPT(curve, ws, ss, 0.5)
	if err != nil {
		return err
	}
	c80, err := CPT(curve, ws, ss, 0.8)
	if err != nil {
		return err
	}
	res.Curve, res.APGR, res.CPT50, res.CPT80 = curve, &apgr, &c50, &c80
	return nil
}

// sweepCurve is the call–performance curve of a cost-knob sweep, anchored
// at the weak model alone (no strong calls) and the strong model alone.
func (r *replayRun) sweepCurve(pts []ReplayPoint) CallCurve {
	c := CallCurve{{StrongCalls: 0, Quality: r.report.WeakQuality}, {StrongCalls: 1, Quality: r.report.StrongQuality}}
	for _, p := range pts {
		c = append(c, CallPoint{Threshold: p.Kappa, StrongCalls: *p.StrongCalls, Quality: p.Quality})
	}
	slices.SortStableFunc(c, func(a, b CallPoint) int { return cmp.Compare(a.StrongCalls, b.StrongCalls) })
	return c
}

// bandits runs PickLLM's two learners online at every κ.
func (r *replayRun) bandits(ctx context.Context) error {
	type learner struct {
		name, note string
		make       func(seed int64) (routing.Learner, error)
	}
	arms := len(r.models)
	ls := []learner{
		{"pickllm-automaton", "PickLLM learning automaton (linear reward–inaction, rate 0.05, reward scaled from [−1, 1]), online over the training then the held-out questions; reward score − λ·dollars (latency not recorded, weight 0)",
			func(seed int64) (routing.Learner, error) {
				return routing.NewAutomaton(routing.AutomatonConfig{Arms: arms, Rate: 0.05, RewardMin: -1, RewardMax: 1, Seed: seed})
			}},
		{"pickllm-q", "PickLLM stateless ε-greedy Q-learning (α 0.1, ε 0.1), online over the training then the held-out questions; reward score − λ·dollars (latency not recorded, weight 0)",
			func(seed int64) (routing.Learner, error) {
				return routing.NewQLearner(routing.QConfig{Arms: arms, Alpha: 0.1, Epsilon: 0.1, Seed: seed})
			}},
	}
	for _, l := range ls {
		res := ReplayResult{Router: l.name, Kind: ReplayBandit, Note: l.note}
		for _, kappa := range r.cfg.Kappas {
			lr, err := l.make(r.cfg.Seed)
			if err != nil {
				return err
			}
			lambda := r.lambda(kappa)
			b, err := routing.NewBandit(routing.BanditConfig{Name: l.name, Learner: lr, Models: r.models, Roles: r.reg, Weights: routing.RewardWeights{Accuracy: 1, Cost: lambda}})
			if err != nil {
				return err
			}
			stream := tasks.Sample(r.train, 0, r.cfg.Seed)
			if _, err := r.online(ctx, b, stream); err != nil {
				return err
			}
			os, err := r.online(ctx, b, tasks.Sample(r.test, 0, r.cfg.Seed))
			if err != nil {
				return err
			}
			pt := r.summarise(os)
			pt.Kappa, pt.Lambda = kappa, lambda
			res.Points = append(res.Points, pt)
			r.progress("%s κ=%g: quality %.4f, $%.6f per query%s", l.name, kappa, pt.Quality, pt.DollarsPerQuery, strongNote(pt.StrongCalls))
		}
		r.setMiddle(&res)
		r.report.Results = append(r.report.Results, res)
	}
	return nil
}

// online routes ts one by one with b, telling it each outcome.
func (r *replayRun) online(ctx context.Context, b *routing.Bandit, ts []*tasks.Task) ([]outcome, error) {
	out := make([]outcome, len(ts))
	for i, t := range ts {
		p, err := b.Route(ctx, t)
		if err != nil {
			return nil, err
		}
		tr, err := r.exec.Run(ctx, p, t)
		if err != nil {
			return nil, fmt.Errorf("replay experiment: %s on %s: %w", b.Name(), t.ID, err)
		}
		if err := b.Observe(p, tr, nil); err != nil {
			return nil, err
		}
		out[i] = outcome{model: slices.Index(r.models, p.Agents[0].Model), score: tr.Score, dollars: tr.Dollars}
	}
	return out, nil
}

// random adds the random router: for two-model sources RouteLLM's (a
// uniform random score per query, thresholded), for N models a uniformly
// random model per query. Draws are keyed by the seed and task ID.
func (r *replayRun) random() error {
	res := ReplayResult{Router: "random", Kind: ReplayRandom}
	os := make([]outcome, len(r.test))
	scores := make([]float64, len(r.test))
	for i, t := range r.test {
		rng := routing.TaskRand(r.cfg.Seed, t.ID)
		scores[i] = rng.Float64()
		m := rng.IntN(len(r.models))
		if r.twoModel() {
			m = r.d.Weak
			if scores[i] >= 0.5 {
				m = r.d.Strong
			}
		}
		os[i] = outcome{model: m, score: r.score[i][m], dollars: r.dollars[i][m]}
	}
	pt := r.summarise(os)
	res.Quality, res.DollarsPerQuery, res.StrongCalls, res.Models = pt.Quality, pt.DollarsPerQuery, pt.StrongCalls, pt.Models
	if r.twoModel() {
		res.Note = "uniform random score per query, thresholded (RouteLLM's random router); quality and dollars at threshold 0.5"
		if err := r.thresholdResult(&res, scores); err != nil {
			return err
		}
	} else {
		res.Note = "a uniformly random model per query"
	}
	r.report.Results = append(r.report.Results, res)
	return nil
}

// oracle adds the router that knows every recorded outcome: per query, the
// cheapest of the models with the best recorded score (two-model sources:
// RouteLLM's optimal curve as well).
func (r *replayRun) oracle() error {
	os := make([]outcome, len(r.test))
	for i := range r.test {
		best := 0
		for m := range r.models {
			if r.score[i][m] > r.score[i][best] || (r.score[i][m] == r.score[i][best] && r.dollars[i][m] < r.dollars[i][best]) {
				best = m
			}
		}
		os[i] = outcome{model: best, score: r.score[i][best], dollars: r.dollars[i][best]}
	}
	pt := r.summarise(os)
	res := ReplayResult{Router: "oracle", Kind: ReplayOracle, Note: "knows every recorded outcome: the cheapest model with the best score (an upper bound, not a router)",
		Quality: pt.Quality, DollarsPerQuery: pt.DollarsPerQuery, StrongCalls: pt.StrongCalls, Models: pt.Models}
	if r.twoModel() {
		curve, err := OptimalCurve(r.column(r.d.Strong), r.column(r.d.Weak), DefaultBins)
		if err != nil {
			return err
		}
		if err := r.curveMetrics(&res, curve); err != nil {
			return err
		}
		res.Note += "; curve: RouteLLM's optimal router"
	}
	r.report.Results = append(r.report.Results, res)
	return nil
}

// metrics fills the sweep curves' RouteLLM metrics (two-model sources) or
// the cost–quality areas (N models).
func (r *replayRun) metrics() error {
	var cheap, best CostPoint
	for _, res := range r.report.Results {
		if res.Kind != ReplaySingle {
			continue
		}
		p := CostPoint{Label: res.Router, Dollars: res.DollarsPerQuery, Quality: res.Quality}
		switch res.Router {
		case r.report.Cheapest:
			cheap = p
		case r.report.BestSingle:
			best = p
		}
	}
	for i := range r.report.Results {
		res := &r.report.Results[i]
		if len(res.Points) == 0 {
			continue
		}
		if r.twoModel() {
			if err := r.curveMetrics(res, r.sweepCurve(res.Points)); err != nil {
				return err
			}
			continue
		}
		pts := make([]CostPoint, len(res.Points))
		for j, p := range res.Points {
			pts[j] = CostPoint{Label: res.Router + " κ=" + strconv.FormatFloat(p.Kappa, 'g', -1, 64), Dollars: p.DollarsPerQuery, Quality: p.Quality}
		}
		a, err := CostQualityArea(pts, cheap, best)
		if err != nil {
			return fmt.Errorf("replay experiment: %s: %w", res.Router, err)
		}
		res.Area = &a
	}
	return nil
}
