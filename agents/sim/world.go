package sim

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// Config configures a simulated world.
type Config struct {
	// Seed makes every call deterministic; different seeds give different
	// per-call draws but the same model knowledge and question difficulty.
	Seed int64
	// Benchmarks lists the built-in benchmarks to index and calibrate:
	// "gsm8k", "math", "mmlu", "humaneval", "mbpp" (default the first three).
	Benchmarks []string
	// Tasks are extra tasks (a user's own) the simulator can answer. A task's
	// Meta["difficulty"] (a number, 0 = average, +1 = one s.d. harder) sets
	// its difficulty; models answer it with their mean skill of its domain.
	Tasks []*tasks.Task
	// Roles resolves role names found in prompts; default roles.Default().
	Roles *roles.Registry
	// Catalog and Params replace the embedded model catalog and world
	// parameters when non-nil.
	Catalog *Catalog
	Params  *WorldParams
	// TimeScale, when positive, makes each call sleep for its simulated
	// latency times TimeScale (1 = real time). Zero answers at once.
	TimeScale float64
}

// World is the shared state of a simulated pool: the answer key, each
// question's difficulty and each model's calibrated skill. It is immutable
// after NewWorld and safe for concurrent use.
type World struct {
	seed      uint64
	timeScale float64
	params    WorldParams
	catalog   Catalog
	profiles  map[string]*Profile
	roles     *roles.Registry
	byQuery   map[string]*entry
	byLine    map[string][]*entry
	// skill[model][benchmark key] is the calibrated logit skill.
	skill map[string]map[string]float64
	// calib[benchmark key] are the entries the skills were calibrated on.
	calib map[string][]*entry
	// scale[benchmark key] standardises features into difficulties.
	scale map[string]featureScale
}

// featureScale maps a raw feature to a standardised difficulty.
type featureScale struct{ mean, sd, weight float64 }

func (s featureScale) z(feature float64, taskID string) float64 {
	rest := math.Sqrt(math.Max(0, 1-s.weight*s.weight))
	return s.weight*(feature-s.mean)/s.sd + rest*normal(hashOf("idio", taskID))
}

// entry is one question the simulator can answer.
type entry struct {
	task *tasks.Task
	// key is the calibration benchmark: gsm8k, math, mmlu, humaneval, mbpp, or
	// "" for a user task.
	key string
	// feature is the visible part of the difficulty before standardising.
	feature float64
	// z is the standardised difficulty.
	z float64
	// distractorsOnce guards distractors: plausible wrong answers, the most
	// common first, computed on first use (most questions are never asked).
	distractorsOnce sync.Once
	distractors     []string
	// code holds a code task's verified wrong programs; nil otherwise.
	code *codeAnswers
}

// codeAnswers are a code task's reference and wrong programs, with their
// checksums, so the simulator can tell its own replies apart without
// running them.
type codeAnswers struct {
	goldSum string
	wrong   []string
	wrongOf map[string]bool // checksums of wrong
}

// wrongAnswers returns e's distractors, computing them once. A code task's
// are its verified breakages.
func (e *entry) wrongAnswers() []string {
	e.distractorsOnce.Do(func() {
		if e.code != nil {
			e.distractors = e.code.wrong
			return
		}
		e.distractors = distractors(e.task)
	})
	return e.distractors
}

var defaultBenchmarks = []string{"gsm8k", "math", "mmlu"}

// indexSplits lists what each benchmark key indexes; the first split is the
// calibration split. Other splits (GSM8K train, MMLU dev) are answered when
// they are passed in Config.Tasks.
var indexSplits = map[string][][2]string{
	"gsm8k":     {{"gsm8k", "test"}},
	"math":      {{"math", "test"}},
	"mmlu":      {{"mmlu", "test"}},
	"humaneval": {{"humaneval", "test"}},
	"mbpp":      {{"mbpp", "test"}},
}

// benchmarkKey maps a task's benchmark to its calibration key.
func benchmarkKey(b string) string {
	switch b {
	case "math500":
		return "math"
	case "gsm8k", "math", "mmlu", "humaneval", "mbpp":
		return b
	}
	return ""
}

func keyDomain(key string) tasks.Domain {
	switch key {
	case "mmlu":
		return tasks.DomainCommonsense
	case "humaneval", "mbpp":
		return tasks.DomainCode
	default:
		return tasks.DomainMath
	}
}

// NewWorld loads the answer key, computes difficulties and calibrates every
// model of the catalog.
func NewWorld(cfg Config) (*World, error) {
	w := &World{
		seed:      uint64(cfg.Seed),
		timeScale: cfg.TimeScale,
		profiles:  make(map[string]*Profile),
		byQuery:   make(map[string]*entry),
		byLine:    make(map[string][]*entry),
		skill:     make(map[string]map[string]float64),
		calib:     make(map[string][]*entry),
		scale:     make(map[string]featureScale),
		roles:     cfg.Roles,
	}
	var err error
	if cfg.Catalog != nil {
		w.catalog = *cfg.Catalog
	} else if w.catalog, err = DefaultCatalog(); err != nil {
		return nil, err
	}
	if cfg.Params != nil {
		w.params = *cfg.Params
	} else if w.params, err = DefaultWorldParams(); err != nil {
		return nil, err
	}
	if w.roles == nil {
		if w.roles, err = roles.Default(); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	if len(w.catalog.Models) == 0 {
		return nil, errors.New("sim: catalog has no models")
	}
	for i := range w.catalog.Models {
		p := &w.catalog.Models[i]
		if _, dup := w.profiles[p.Name]; dup {
			return nil, fmt.Errorf("sim: model %q listed twice", p.Name)
		}
		w.profiles[p.Name] = p
	}
	benches := cfg.Benchmarks
	if len(benches) == 0 {
		benches = defaultBenchmarks
	}
	subjects, err := loadSubjects()
	if err != nil {
		return nil, err
	}
	for _, key := range benches {
		splits, ok := indexSplits[key]
		if !ok {
			return nil, fmt.Errorf("sim: benchmark %q cannot be simulated (want gsm8k, math, mmlu, humaneval or mbpp)", key)
		}
		bp, ok := w.params.Benchmarks[key]
		if !ok {
			return nil, fmt.Errorf("sim: world parameters lack benchmark %q", key)
		}
		var all []*entry
		for i, sp := range splits {
			ts, err := tasks.Load(sp[0], sp[1])
			if err != nil {
				return nil, fmt.Errorf("sim: %w", err)
			}
			es := make([]*entry, 0, len(ts))
			for _, t := range ts {
				e := &entry{task: t, key: key, feature: feature(key, t, subjects)}
				es = append(es, e)
			}
			if i == 0 {
				w.calib[key] = es
			}
			all = append(all, es...)
		}
		w.scale[key] = standardise(all, bp.FeatureWeight)
		for _, e := range all {
			w.add(e)
		}
	}
	for _, t := range cfg.Tasks {
		switch {
		case t == nil:
			return nil, errors.New("sim: a configured task is nil")
		case t.Scorer == nil:
			return nil, fmt.Errorf("sim: task %s: field scorer: nil", t.ID)
		case strings.TrimSpace(t.Gold) == "":
			return nil, fmt.Errorf("sim: task %s: field gold: empty (a simulated model can only answer questions whose answer it is given)", t.ID)
		}
		e := &entry{task: t, key: benchmarkKey(t.Benchmark)}
		if sc, ok := w.scale[e.key]; ok {
			// Another split of a built-in benchmark (GSM8K train, MMLU dev):
			// the benchmark's calibration and difficulty scale apply.
			e.feature = feature(e.key, t, subjects)
			e.z = sc.z(e.feature, t.ID)
		} else {
			e.key = ""
			if d, ok := t.Meta["difficulty"]; ok {
				v, err := strconv.ParseFloat(d, 64)
				if err != nil {
					return nil, fmt.Errorf("sim: task %s: meta difficulty: %w", t.ID, err)
				}
				e.z = v
			}
		}
		w.add(e)
	}
	if err := w.attachCode(); err != nil {
		return nil, err
	}
	if err := w.calibrate(); err != nil {
		return nil, err
	}
	return w, nil
}

// isCode reports whether t is judged by running its code.
func isCode(t *tasks.Task) bool { return t.Scorer != nil && t.Scorer.Name() == "code" }

// attachCode gives every code task its verified wrong programs, from
// data/code_breakages.tsv, or the fallback syntax error for a task the
// table does not list.
func (w *World) attachCode() error {
	var table breakTable
	var all []*entry
	for _, es := range w.calib {
		all = append(all, es...)
	}
	for _, e := range w.byQuery {
		all = append(all, e)
	}
	for _, e := range all {
		if !isCode(e.task) || e.code != nil {
			continue
		}
		if table == nil {
			data, err := dataFS.ReadFile(breakagesFile)
			if err != nil {
				return fmt.Errorf("sim: %w", err)
			}
			if table, err = parseBreakages(data, breakagesFile); err != nil {
				return fmt.Errorf("sim: %w", err)
			}
		}
		bs, err := table.breakagesOf(e.task)
		if err != nil {
			return err
		}
		if len(bs) == 0 {
			bs = fallbackBreakage(e.task)
		}
		ca := &codeAnswers{goldSum: codeSum(e.task.Gold), wrongOf: map[string]bool{}}
		for _, b := range bs {
			ca.wrong = append(ca.wrong, b.code)
			ca.wrongOf[b.sum] = true
		}
		e.code = ca
	}
	return nil
}

func (w *World) add(e *entry) {
	q := strings.TrimSpace(e.task.Query)
	if _, dup := w.byQuery[q]; dup {
		return // the same question in two splits: the first wins
	}
	w.byQuery[q] = e
	first := firstLine(q)
	w.byLine[first] = append(w.byLine[first], e)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// mathSubjectOffset orders MATH subjects by typical difficulty (a modelling
// choice; the level dominates).
var mathSubjectOffset = map[string]float64{
	"Prealgebra": -0.6, "Algebra": -0.4, "Number Theory": 0, "Counting & Probability": 0.2,
	"Geometry": 0.4, "Precalculus": 0.5, "Intermediate Algebra": 0.6,
}

// feature is the visible part of a question's difficulty, from its own
// features: GSM8K solution length, MATH level and subject, MMLU subject.
func feature(key string, t *tasks.Task, subjects map[string]subjectCounts) float64 {
	switch key {
	case "gsm8k":
		steps := metaFloat(t, "steps", float64(strings.Count(t.Solution, "\n")+1))
		calcs := metaFloat(t, "calcs", 0)
		return math.Log1p(steps) + 0.3*math.Log1p(calcs) + 0.2*math.Log(float64(len(t.Query)+1))
	case "math":
		level := metaFloat(t, "level", 3)
		return level + mathSubjectOffset[t.Meta["subject"]] + 0.3*math.Log(float64(len(t.Solution)+1))
	case "mmlu":
		c, ok := subjects[t.Meta["subject"]]
		f := 0.0
		if ok {
			p := (float64(c.strong+c.weak) + 1) / (2*float64(c.n) + 2)
			f = -math.Log(p / (1 - p))
		}
		return f + 0.15*math.Log(float64(len(t.Query)+1))
	case "humaneval", "mbpp":
		// The reference solution's length and control flow, the number of
		// tests it must pass, and the length of the task.
		sol := t.Gold[breakFrom(t):]
		lines := 0
		for l := range strings.SplitSeq(sol, "\n") {
			if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") {
				lines++
			}
		}
		branches := len(controlFlowRe.FindAllString(sol, -1))
		asserts := strings.Count(t.Meta[tasks.MetaTest], "assert")
		return math.Log1p(float64(lines)) + 0.3*math.Log1p(float64(branches)) + 0.1*math.Log1p(float64(asserts)) + 0.1*math.Log(float64(len(t.Query)+1))
	}
	return 0
}

var controlFlowRe = regexp.MustCompile(`\b(?:if|elif|for|while|try|except)\b`)

func metaFloat(t *tasks.Task, key string, def float64) float64 {
	if v, err := strconv.ParseFloat(t.Meta[key], 64); err == nil {
		return v
	}
	return def
}

// standardise sets z = fw*std(feature) + sqrt(1-fw^2)*idiosyncratic and
// returns the scale it used.
func standardise(es []*entry, fw float64) featureScale {
	xs := make([]float64, len(es))
	for i, e := range es {
		xs[i] = e.feature
	}
	mean, sd := stat.MeanStdDev(xs, nil)
	if sd == 0 {
		sd = 1
	}
	sc := featureScale{mean: mean, sd: sd, weight: fw}
	for _, e := range es {
		e.z = sc.z(e.feature, e.task.ID)
	}
	return sc
}

// knowledge is a model's stable, per-question deviation a[m,q] ~ N(0,1).
func knowledge(model, taskID string) float64 {
	return normal(hashOf("know", model, taskID))
}

// baseLogit is skill - slope*z + persistence*a for model on e, without step,
// role or sway terms.
func (w *World) baseLogit(model string, e *entry) float64 {
	bp := w.params.Benchmarks[e.key]
	slope, pers := bp.Slope, bp.Persistence
	if e.key == "" {
		slope, pers = 1, 0.9
	}
	return w.skillOf(model, e) - slope*e.z + pers*knowledge(model, e.task.ID)
}

func (w *World) skillOf(model string, e *entry) float64 {
	sk := w.skill[model]
	if v, ok := sk[e.key]; ok && e.key != "" {
		return v
	}
	// User task or a benchmark without a target: the mean skill of the domain.
	var sum float64
	var n int
	for key, v := range sk {
		if keyDomain(key) == e.task.Domain {
			sum += v
			n++
		}
	}
	if n == 0 {
		for _, v := range sk {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// referenceRole is the role the calibration targets assume: the domain's
// first solver, which is also what single-model baselines use.
func (w *World) referenceRole(d tasks.Domain) roles.Role {
	for _, r := range w.roles.Domain(d) {
		if r.Kind == roles.KindSolver {
			return r
		}
	}
	return roles.Role{}
}

// calibrate solves, for every model and benchmark with a target, the skill
// at which single-agent IO accuracy over the calibration split equals the
// target (Newton's method on the mean of logistic probabilities).
func (w *World) calibrate() error {
	keys := make([]string, 0, len(w.calib))
	for k := range w.calib {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range w.catalog.Models {
		w.skill[p.Name] = make(map[string]float64)
		for _, key := range keys {
			t, ok := p.Targets[key]
			if !ok {
				continue
			}
			es := w.calib[key]
			bp := w.params.Benchmarks[key]
			ref := w.referenceRole(keyDomain(key))
			base := make([]float64, len(es))
			for i, e := range es {
				base[i] = -bp.Slope*e.z + bp.Persistence*knowledge(p.Name, e.task.ID) + w.roleBonus(ref, e.task)
			}
			s, err := solveSkill(base, t.Value/100)
			if err != nil {
				return fmt.Errorf("sim: calibrate %s on %s: %w", p.Name, key, err)
			}
			w.skill[p.Name][key] = s
		}
	}
	return nil
}

// solveSkill finds s with mean(sigmoid(s + base)) = target.
func solveSkill(base []float64, target float64) (float64, error) {
	if target <= 0 || target >= 1 || len(base) == 0 {
		return 0, fmt.Errorf("target %g out of range or no questions", target)
	}
	s := math.Log(target / (1 - target))
	for iter := 0; iter < 100; iter++ {
		var f, df float64
		for _, b := range base {
			p := sigmoid(s + b)
			f += p
			df += p * (1 - p)
		}
		f = f/float64(len(base)) - target
		df /= float64(len(base))
		if math.Abs(f) < 1e-10 {
			return s, nil
		}
		step := f / math.Max(df, 1e-6)
		step = math.Max(-2, math.Min(2, step))
		s -= step
	}
	return s, nil
}

// ExpectedAccuracy is the calibrated single-agent IO accuracy of model on the
// benchmark's calibration split (the mean of per-question probabilities).
func (w *World) ExpectedAccuracy(model, benchmark string) (float64, bool) {
	es, ok := w.calib[benchmark]
	if !ok {
		return 0, false
	}
	if _, ok := w.skill[model][benchmark]; !ok {
		return 0, false
	}
	ref := w.referenceRole(keyDomain(benchmark))
	var sum float64
	for _, e := range es {
		sum += sigmoid(w.baseLogit(model, e) + w.roleBonus(ref, e.task))
	}
	return sum / float64(len(es)), true
}

// CalibrationTasks returns the tasks a benchmark's skills were calibrated on.
func (w *World) CalibrationTasks(benchmark string) []*tasks.Task {
	es := w.calib[benchmark]
	out := make([]*tasks.Task, len(es))
	for i, e := range es {
		out[i] = e.task
	}
	return out
}

// Models returns the catalog's model names in catalog order.
func (w *World) Models() []string {
	out := make([]string, len(w.catalog.Models))
	for i, p := range w.catalog.Models {
		out[i] = p.Name
	}
	return out
}

// Profile returns the catalog entry of model.
func (w *World) Profile(model string) (Profile, bool) {
	p, ok := w.profiles[model]
	if !ok {
		return Profile{}, false
	}
	return *p, true
}

// Model returns the llms.Model that simulates the named model.
func (w *World) Model(name string) (*Model, error) {
	p, ok := w.profiles[name]
	if !ok {
		return nil, fmt.Errorf("sim: %w %q (catalog has %s)", agents.ErrUnknownModel, name, strings.Join(w.Models(), ", "))
	}
	return &Model{world: w, profile: p}, nil
}

// Pool returns an agents.Pool with every catalog model, priced from the
// catalog, with skills per domain (the mean published accuracy of the
// domain's benchmarks) for the router.
func (w *World) Pool() (*agents.Pool, error) {
	var ms []*agents.Model
	for _, p := range w.catalog.Models {
		llm, err := w.Model(p.Name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, &agents.Model{
			Name:        p.Name,
			Provider:    "sim",
			LLM:         llm,
			Price:       agents.Price{InputPerMillion: p.Price.InputPerMillion, OutputPerMillion: p.Price.OutputPerMillion},
			Description: p.Description,
			Skills:      domainSkills(p),
		})
	}
	return agents.NewPool(ms...)
}

// NewPool builds a world from cfg and returns its pool.
func NewPool(cfg Config) (*agents.Pool, *World, error) {
	w, err := NewWorld(cfg)
	if err != nil {
		return nil, nil, err
	}
	p, err := w.Pool()
	if err != nil {
		return nil, nil, err
	}
	return p, w, nil
}

func domainSkills(p Profile) map[string]float64 {
	sums := map[tasks.Domain][2]float64{}
	for key, t := range p.Targets {
		d := keyDomain(key)
		s := sums[d]
		sums[d] = [2]float64{s[0] + t.Value/100, s[1] + 1}
	}
	out := make(map[string]float64, len(sums)+len(p.Targets))
	for d, s := range sums {
		out[string(d)] = s[0] / s[1]
	}
	// Each benchmark's own figure too: the router judges a model by the
	// skill of the query's benchmark when the pool lists it. MATH's key is
	// also the math domain's, so "math" is the MATH figure, which then also
	// stands for math queries of no known benchmark.
	for key, t := range p.Targets {
		out[key] = t.Value / 100
	}
	return out
}

// latency is the simulated wall time of a call on profile p.
func (p *Profile) latency(promptTokens, completionTokens int) time.Duration {
	tps := p.Latency.TokensPerSecond
	if tps <= 0 {
		tps = 60
	}
	ms := p.Latency.TTFTMillis + float64(promptTokens)/20 + 1000*float64(completionTokens)/tps
	return time.Duration(ms * float64(time.Millisecond))
}

// --- deterministic randomness -------------------------------------------------

func hashOf(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return mix(h.Sum64())
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// uniform maps a hash to (0, 1).
func uniform(h uint64) float64 { return (float64(h>>11) + 0.5) / (1 << 53) }

// normal maps a hash to a standard normal deviate.
func normal(h uint64) float64 { return distuv.UnitNormal.Quantile(uniform(h)) }

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func sqrt(x float64) float64 { return math.Sqrt(x) }

// pairPhi is the phi correlation of two hypothetical models calibrated to a
// reference pair's accuracies on es, at a given slope.
func pairPhi(es []*entry, pair ReferencePair, slope, persistence float64) float64 {
	ps, pw := pair.Accuracies()
	bs := make([]float64, len(es))
	bw := make([]float64, len(es))
	for i, e := range es {
		bs[i] = -slope*e.z + persistence*knowledge("reference-strong", e.task.ID)
		bw[i] = -slope*e.z + persistence*knowledge("reference-weak", e.task.ID)
	}
	ss, _ := solveSkill(bs, ps)
	sw, _ := solveSkill(bw, pw)
	var p11 float64
	for i := range es {
		p11 += sigmoid(ss+bs[i]) * sigmoid(sw+bw[i])
	}
	p11 /= float64(len(es))
	return (p11 - ps*pw) / math.Sqrt(ps*(1-ps)*pw*(1-pw))
}

// fitSlope finds the slope at which pairPhi matches the reference pair's
// recorded phi (bisection; phi grows with the slope).
func fitSlope(es []*entry, pair ReferencePair, persistence float64) float64 {
	want := pair.Phi()
	lo, hi := 0.0, 6.0
	for i := 0; i < 40; i++ {
		mid := (lo + hi) / 2
		if pairPhi(es, pair, mid, persistence) < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
