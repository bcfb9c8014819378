package train

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// answerModel always answers with a fixed number and reports usage. It is
// safe for concurrent use.
type answerModel struct{ answer string }

func (m answerModel) Call(ctx context.Context, prompt string, opts ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, opts...)
}

func (m answerModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        "Working it out: the result is \\boxed{" + m.answer + "}.",
		GenerationInfo: map[string]any{"PromptTokens": 300, "CompletionTokens": 100},
	}}}, nil
}

// toyWorld has a cheap model that is always right, a pricey one that is
// always right, and a cheap one that is always wrong.
func toyWorld(t testing.TB) (*agents.Pool, *roles.Registry, []*tasks.Task) {
	t.Helper()
	pool, err := agents.NewPool(
		&agents.Model{Name: "right-cheap", LLM: answerModel{"42"}, Price: agents.Price{InputPerMillion: 0.1, OutputPerMillion: 0.4},
			Description: "small accurate model", Skills: map[string]float64{"math": 0.9}},
		&agents.Model{Name: "right-pricey", LLM: answerModel{"42"}, Price: agents.Price{InputPerMillion: 10, OutputPerMillion: 30},
			Description: "large accurate model", Skills: map[string]float64{"math": 0.9}},
		&agents.Model{Name: "wrong-cheap", LLM: answerModel{"7"}, Price: agents.Price{InputPerMillion: 0.1, OutputPerMillion: 0.4},
			Description: "small inaccurate model", Skills: map[string]float64{"math": 0.3}},
	)
	require.NoError(t, err)
	reg, err := roles.Default()
	require.NoError(t, err)
	sc, err := tasks.ScorerByName("gsm8k")
	require.NoError(t, err)
	var ts []*tasks.Task
	for i := range 40 {
		ts = append(ts, &tasks.Task{ID: fmt.Sprintf("toy/%d", i), Benchmark: "toy", Domain: tasks.DomainMath,
			Query: fmt.Sprintf("Question %d: what is six times seven, in apples?", i), Gold: "42", Scorer: sc})
	}
	return pool, reg, ts
}

func toyController(t testing.TB, pool *agents.Pool, reg *roles.Registry) *routing.Controller {
	t.Helper()
	c, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: 3})
	require.NoError(t, err)
	return c
}

// share of agents greedy plans put on each model, and the share of
// single-agent plans.
func greedyUsage(t testing.TB, c *routing.Controller, ts []*tasks.Task) (map[string]float64, float64) {
	t.Helper()
	models := map[string]float64{}
	var agentsN, single float64
	for _, task := range ts {
		p, err := c.Greedy(context.Background(), task)
		require.NoError(t, err)
		for _, a := range p.Agents {
			models[a.Model]++
			agentsN++
		}
		if p.Mode.SingleAgent() {
			single++
		}
	}
	for k := range models {
		models[k] /= agentsN
	}
	return models, single / float64(len(ts))
}

func TestAdamAscendsAQuadratic(t *testing.T) {
	// maximise −(x−3)² − (y+1)²
	theta := []float64{0, 0}
	a := NewAdam(2, 0.1)
	for range 2000 {
		g := []float64{-2 * (theta[0] - 3), -2 * (theta[1] + 1)}
		require.NoError(t, a.Step(theta, g))
	}
	assert.InDelta(t, 3, theta[0], 1e-3)
	assert.InDelta(t, -1, theta[1], 1e-3)
	assert.Error(t, a.Step([]float64{1}, []float64{1}))
}

func TestClipNorm(t *testing.T) {
	g := []float64{3, 4}
	assert.Equal(t, 5.0, ClipNorm(g, 1))
	assert.InDelta(t, 1, math.Hypot(g[0], g[1]), 1e-12)
	g = []float64{3, 4}
	ClipNorm(g, 0)
	assert.Equal(t, []float64{3, 4}, g, "max 0 disables clipping")
}

func TestConfigErrors(t *testing.T) {
	pool, reg, _ := toyWorld(t)
	c := toyController(t, pool, reg)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Lambda: -1}, "field Lambda"},
		{Config{Lambda: math.NaN()}, "field Lambda"},
		{Config{BaselineDecay: 1}, "field BaselineDecay"},
		{Config{Importance: "magic"}, "field Importance"},
		{Config{ImportanceClip: 0.5}, "field ImportanceClip"},
	} {
		_, err := NewTrainer(c, tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
	_, err := NewTrainer(nil, Config{})
	assert.Error(t, err)
}

// TestOnlineLearnsTheCheapRightModel trains on the toy world: the policy
// must move from a spread-out initialisation to the accurate cheap model and,
// with a cost weight, to single-agent plans.
func TestOnlineLearnsTheCheapRightModel(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	c := toyController(t, pool, reg)
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	require.NoError(t, err)
	before, _ := greedyUsage(t, c, ts)
	tr, err := NewTrainer(c, Config{Lambda: 200, Epochs: 25, BatchSize: 20, Seed: 1, LearningRate: 0.05})
	require.NoError(t, err)
	var recorded int
	hist, err := tr.Online(context.Background(), exec, ts, func(*tasks.Task, topology.Plan, *topology.Trace) { recorded++ })
	require.NoError(t, err)
	require.Len(t, hist, 25)
	assert.Equal(t, 25*len(ts)*4, recorded, "every sampled run is recorded")
	after, single := greedyUsage(t, c, ts)
	t.Logf("model share before %v after %v; single-agent share %.2f; reward %.3f -> %.3f",
		before, after, single, hist[0].MeanReward, hist[len(hist)-1].MeanReward)
	assert.Greater(t, after["right-cheap"], 0.9)
	assert.Greater(t, single, 0.9)
	assert.Greater(t, hist[len(hist)-1].MeanReward, hist[0].MeanReward+0.2)
}

func TestOnlineIsDeterministic(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	require.NoError(t, err)
	run := func(workers int) []float64 {
		c := toyController(t, pool, reg)
		tr, err := NewTrainer(c, Config{Lambda: 50, Epochs: 3, BatchSize: 8, Seed: 9, Workers: workers})
		require.NoError(t, err)
		_, err = tr.Online(context.Background(), exec, ts, nil)
		require.NoError(t, err)
		return c.Params().Vector()
	}
	assert.Equal(t, run(1), run(4), "the same seed gives the same parameters whatever the concurrency")
}

func TestOnlineHonoursCancellation(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	exec, _ := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	tr, err := NewTrainer(toyController(t, pool, reg), Config{Epochs: 100})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tr.Online(ctx, exec, ts, nil)
	assert.ErrorIs(t, err, context.Canceled)
}

// collectLogs runs a random behaviour policy on the toy world and returns
// its trajectories as Logged records.
func collectLogs(t testing.TB, pool *agents.Pool, reg *roles.Registry, ts []*tasks.Task, reps int) []Logged {
	t.Helper()
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	require.NoError(t, err)
	var logs []Logged
	var mu sync.Mutex
	for r := range reps {
		rnd, err := routing.NewRandom(pool, reg, int64(r+1), 4)
		require.NoError(t, err)
		_, err = Evaluate(context.Background(), exec, []routing.Router{rnd}, ts, EvalOptions{OnTrace: func(_, _ int, task *tasks.Task, p topology.Plan, tr *topology.Trace) {
			if tr == nil {
				return // routing failed; Evaluate counts it
			}
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, Logged{Task: task, Plan: p, BehaviourLogProb: p.LogProb(), Score: tr.Score, Dollars: tr.Dollars})
		}})
		require.NoError(t, err)
	}
	return logs
}

// TestOfflineImprovesOnTheBehaviourPolicy learns from a random policy's log,
// with both importance schemes, and must end up preferring the accurate cheap
// model although the log spreads plans uniformly.
func TestOfflineImprovesOnTheBehaviourPolicy(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	logs := collectLogs(t, pool, reg, ts, 10)
	require.Len(t, logs, 400)
	for _, imp := range []Importance{ImportanceClip, ImportanceSelfNormalized} {
		t.Run(string(imp), func(t *testing.T) {
			c := toyController(t, pool, reg)
			tr, err := NewTrainer(c, Config{Lambda: 200, Epochs: 40, BatchSize: 40, Seed: 2, LearningRate: 0.05, Importance: imp})
			require.NoError(t, err)
			hist, err := tr.Offline(context.Background(), logs)
			require.NoError(t, err)
			last := hist[len(hist)-1]
			assert.Greater(t, last.EffectiveSampleSize, 0.0)
			assert.LessOrEqual(t, last.EffectiveSampleSize, 1.0)
			after, single := greedyUsage(t, c, ts)
			t.Logf("%s: model share %v, single-agent share %.2f, ESS %.3f", imp, after, single, last.EffectiveSampleSize)
			assert.Greater(t, after["right-cheap"], 0.8)
			assert.Less(t, after["right-pricey"]+after["wrong-cheap"], 0.2)
		})
	}
	_, err := (&Trainer{}).Offline(context.Background(), nil)
	assert.Error(t, err)
}

func TestCheckpointRoundTrip(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	c := toyController(t, pool, reg)
	exec, _ := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	tr, err := NewTrainer(c, Config{Lambda: 100, Epochs: 3, Seed: 1})
	require.NoError(t, err)
	hist, err := tr.Online(context.Background(), exec, ts, nil)
	require.NoError(t, err)
	cp, err := NewCheckpoint(c, TrainingInfo{Mode: "online", Task: "toy", Lambda: 100, History: hist})
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	require.NoError(t, cp.Save(path))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left")

	loaded, back, err := LoadPolicy(path, pool, reg, LoadOptions{Greedy: true})
	require.NoError(t, err)
	assert.Equal(t, "toy", back.Training.Task)
	assert.Equal(t, c.Params().Vector(), loaded.Params().Vector())
	for _, task := range ts[:5] {
		a, _ := c.Greedy(context.Background(), task)
		b, _ := loaded.Route(context.Background(), task)
		assert.Equal(t, a.String(), b.String())
	}

	// A different pool is a clear error unless allowed.
	bigger, err := pool.With(&agents.Model{Name: "newcomer", LLM: answerModel{"42"}, Price: agents.Price{InputPerMillion: 0.05, OutputPerMillion: 0.1}})
	require.NoError(t, err)
	_, _, err = LoadPolicy(path, bigger, reg, LoadOptions{})
	assert.ErrorIs(t, err, ErrPoolChanged)
	assert.ErrorContains(t, err, "added newcomer")
	_, _, err = LoadPolicy(path, bigger, reg, LoadOptions{AllowPoolChange: true})
	assert.NoError(t, err)

	// Another features version, format or version is refused, naming the field.
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, tc := range []struct{ from, to, want string }{
		{`"features_version": "` + cp.FeaturesVersion + `"`, `"features_version": "hash-v0/12"`, "field features_version"},
		{`"format": "masrouter-policy"`, `"format": "something-else"`, "field format"},
		{`"version": 1`, `"version": 7`, "field version"},
	} {
		bad := filepath.Join(dir, "bad.json")
		mod := strings.Replace(string(data), tc.from, tc.to, 1)
		require.NotEqual(t, string(data), mod, "replacement %q applies", tc.from)
		require.NoError(t, os.WriteFile(bad, []byte(mod), 0o644))
		_, _, err := LoadPolicy(bad, pool, reg, LoadOptions{})
		assert.ErrorContains(t, err, tc.want)
	}
	_, _, err = LoadPolicy(filepath.Join(dir, "missing.json"), pool, reg, LoadOptions{})
	assert.Error(t, err)
}

func TestOnlineRestartsKeepsTheBestRun(t *testing.T) {
	pool, reg, ts := toyWorld(t)
	exec, err := topology.NewExecutor(topology.Config{Pool: pool, Roles: reg})
	require.NoError(t, err)
	build := func(seed int64) (*routing.Controller, error) {
		return routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: seed})
	}
	best, runs, err := OnlineRestarts(context.Background(), build, exec, ts[:20], ts[20:], Config{Lambda: 200, Epochs: 2, BatchSize: 10}, []int64{1, 2, 3})
	require.NoError(t, err)
	require.Len(t, runs, 3)
	top := runs[0]
	for _, r := range runs {
		assert.InDelta(t, r.Selection.Accuracy-200*r.Selection.DollarsPerQuery, r.Reward, 1e-12)
		if r.Reward > top.Reward {
			top = r
		}
	}
	res, err := Evaluate(context.Background(), exec, []routing.Router{best.Greedily()}, ts[20:], EvalOptions{})
	require.NoError(t, err)
	assert.InDelta(t, top.Reward, res[0].Accuracy-200*res[0].DollarsPerQuery, 1e-12, "the returned controller is the best run's")
	assert.Equal(t, []int64{1, 2, 3}, []int64{runs[0].Seed, runs[1].Seed, runs[2].Seed})

	_, _, err = OnlineRestarts(context.Background(), build, exec, ts, ts, Config{}, nil)
	assert.Error(t, err)
}
