package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// play runs a learner for n rounds on Bernoulli arms with the given success
// rates (reward 1 or 0) drawn from a fixed stream, and returns how often
// each arm was played in the last quarter.
func play(t *testing.T, l Learner, rates []float64, n int) []int {
	t.Helper()
	env := rand.New(rand.NewPCG(42, 43))
	late := make([]int, len(rates))
	for i := range n {
		a := l.Pick()
		require.True(t, a >= 0 && a < len(rates))
		var r float64
		if env.Float64() < rates[a] {
			r = 1
		}
		require.NoError(t, l.Observe(a, r))
		if i >= 3*n/4 {
			late[a]++
		}
	}
	return late
}

func TestLearnersConverge(t *testing.T) {
	rates := []float64{0.3, 0.8, 0.5}
	cases := []struct {
		name string
		new  func() Learner
	}{
		{"automaton", func() Learner {
			a, err := NewAutomaton(AutomatonConfig{Arms: 3, Rate: 0.05, Seed: 1})
			require.NoError(t, err)
			return a
		}},
		{"q-learning", func() Learner {
			q, err := NewQLearner(QConfig{Arms: 3, Alpha: 0.1, Epsilon: 0.1, Seed: 1})
			require.NoError(t, err)
			return q
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.new()
			late := play(t, l, rates, 2000)
			assert.Greater(t, late[1], 400, "the best arm dominates the last 500 rounds: %v", late)
			p := l.Probabilities()
			assert.Greater(t, p[1], 0.9, "%v", p)
			var sum float64
			for _, v := range p {
				sum += v
			}
			assert.InDelta(t, 1, sum, 1e-9)
		})
	}
}

func TestLearnersAreDeterministic(t *testing.T) {
	run := func(seed int64) ([]int, []float64, []int, []float64) {
		a, err := NewAutomaton(AutomatonConfig{Arms: 4, Seed: seed})
		require.NoError(t, err)
		q, err := NewQLearner(QConfig{Arms: 4, Seed: seed, Decay: 0.999})
		require.NoError(t, err)
		rates := []float64{0.2, 0.4, 0.6, 0.5}
		return play(t, a, rates, 400), a.Probabilities(), play(t, q, rates, 400), q.Values()
	}
	a1, p1, q1, v1 := run(3)
	a2, p2, q2, v2 := run(3)
	assert.Equal(t, a1, a2)
	assert.Equal(t, p1, p2)
	assert.Equal(t, q1, q2)
	assert.Equal(t, v1, v2)
	_, p3, _, _ := run(4)
	assert.NotEqual(t, p1, p3, "another seed draws differently")
}

func TestAutomatonUpdate(t *testing.T) {
	a, err := NewAutomaton(AutomatonConfig{Arms: 2, Rate: 0.5, RewardMin: -1, RewardMax: 1})
	require.NoError(t, err)
	// Reward 1 is β = 1: p0 = 0.5 + 0.5·1·0.5 = 0.75.
	require.NoError(t, a.Observe(0, 1))
	assert.InDeltaSlice(t, []float64{0.75, 0.25}, a.Probabilities(), 1e-12)
	// Reward 0 is β = 0.5: p1 = 0.25 + 0.25·0.75 = 0.4375.
	require.NoError(t, a.Observe(1, 0))
	assert.InDeltaSlice(t, []float64{0.5625, 0.4375}, a.Probabilities(), 1e-12)
	// A penalty (β clamped to 0) changes nothing: reward-inaction.
	require.NoError(t, a.Observe(1, -5))
	assert.InDeltaSlice(t, []float64{0.5625, 0.4375}, a.Probabilities(), 1e-12)
	assert.ErrorContains(t, a.Observe(2, 1), "arm 2 out of range")
	assert.ErrorContains(t, a.Observe(0, math.NaN()), "NaN")
}

func TestQLearnerUpdate(t *testing.T) {
	q, err := NewQLearner(QConfig{Arms: 2, Alpha: 0.5, Epsilon: -1, Gamma: 0.5, Initial: 1})
	require.NoError(t, err)
	// Q0 ← 1 + 0.5·(0 + 0.5·max(1, 1) − 1) = 0.75.
	require.NoError(t, q.Observe(0, 0))
	assert.InDeltaSlice(t, []float64{0.75, 1}, q.Values(), 1e-12)
	assert.Equal(t, 1, q.Pick(), "greedy without exploration")
	assert.Equal(t, []float64{0, 1}, q.Probabilities())
	assert.ErrorContains(t, q.Observe(0, math.Inf(1)), "not finite")
}

func TestLearnerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  AutomatonConfig
		want string
	}{
		{AutomatonConfig{Arms: 1}, "Arms = 1"},
		{AutomatonConfig{Arms: 2, Rate: 2}, "Rate = 2"},
		{AutomatonConfig{Arms: 2, RewardMin: 1, RewardMax: 1}, "min < max"},
	} {
		_, err := NewAutomaton(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
	for _, tc := range []struct {
		cfg  QConfig
		want string
	}{
		{QConfig{Arms: 0}, "Arms = 0"},
		{QConfig{Arms: 2, Alpha: -1}, "Alpha = -1"},
		{QConfig{Arms: 2, Epsilon: 2}, "Epsilon = 2"},
		{QConfig{Arms: 2, Decay: 1.5}, "Decay = 1.5"},
		{QConfig{Arms: 2, Gamma: 1}, "Gamma = 1"},
		{QConfig{Arms: 2, Initial: math.Inf(-1)}, "Initial = -Inf"},
	} {
		_, err := NewQLearner(tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestRewardWeights(t *testing.T) {
	w := RewardWeights{Accuracy: 1, Cost: 100, Latency: 0.1}
	assert.InDelta(t, 1-0.5-0.1, w.Reward(1, 0.005, 10*time.Second), 1e-12)
	assert.InDelta(t, 1-0.5, w.Reward(1, 0.005, 0), 1e-12, "no latency term without a latency")
	assert.InDelta(t, -0.5, RewardWeights{Accuracy: 1, Cost: 100}.Reward(0, 0.005, time.Hour), 1e-12)
}

func TestBanditRouter(t *testing.T) {
	ctx := context.Background()
	q, err := NewQLearner(QConfig{Arms: 2, Epsilon: -1})
	require.NoError(t, err)
	b, err := NewBandit(BanditConfig{Name: "pickllm-q", Learner: q, Models: []string{"gpt-4o", "llama-3.1-8b"}, Roles: testRegistry(t),
		Weights: RewardWeights{Accuracy: 1, Cost: 10}})
	require.NoError(t, err)
	assert.Equal(t, "pickllm-q", b.Name())
	task := testTask(tasks.DomainMath, "q")
	p, err := b.Route(ctx, task)
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o", p.Agents[0].Model, "ties go to the first arm")
	assert.Equal(t, topology.ModeIO, p.Mode)
	// The premium model is right but costly; the cheap one as right and free.
	require.NoError(t, b.Observe(p, &topology.Trace{Score: 1, Dollars: 0.05}, nil))
	require.NoError(t, b.ObserveOutcome("llama-3.1-8b", 1, 0, 0))
	assert.InDeltaSlice(t, []float64{0.05, 0.1}, q.Values(), 1e-12)
	p, err = b.Route(ctx, task)
	require.NoError(t, err)
	assert.Equal(t, "llama-3.1-8b", p.Agents[0].Model)
	// A failed run scores 0.
	require.NoError(t, b.Observe(p, &topology.Trace{Score: 1}, errors.New("boom")))
	assert.InDeltaSlice(t, []float64{0.05, 0.09}, q.Values(), 1e-12)

	assert.ErrorContains(t, b.ObserveOutcome("gpt-5", 1, 0, 0), `model "gpt-5" is not an arm`)
	assert.ErrorContains(t, b.Observe(topology.Plan{}, &topology.Trace{}, nil), "no agents")
	assert.ErrorContains(t, b.Observe(p, nil, nil), "no trace")
	_, err = b.Route(ctx, nil)
	assert.Error(t, err)

	_, err = NewBandit(BanditConfig{Name: "x", Learner: q, Models: []string{"a"}})
	assert.ErrorContains(t, err, "1 models for a learner of 2 arms")
	_, err = NewBandit(BanditConfig{Name: "x", Learner: q, Models: []string{"a", "a"}})
	assert.ErrorContains(t, err, `"a" listed twice`)
	_, err = NewBandit(BanditConfig{Learner: q})
	assert.ErrorContains(t, err, "Name is empty")
}

// PickLLM's learning automaton learns online which model earns the most
// reward; it never looks at the query.
func ExampleAutomaton() {
	a, err := NewAutomaton(AutomatonConfig{Arms: 2, Rate: 0.1, Seed: 1})
	if err != nil {
		panic(err)
	}
	env := rand.New(rand.NewPCG(1, 2))
	accuracy := []float64{0.6, 0.85} // arm 1 is the better model
	for range 500 {
		arm := a.Pick()
		var reward float64
		if env.Float64() < accuracy[arm] {
			reward = 1
		}
		if err := a.Observe(arm, reward); err != nil {
			panic(err)
		}
	}
	p := a.Probabilities()
	fmt.Printf("P(arm 1) = %.2f\n", p[1])
	// Output:
	// P(arm 1) = 1.00
}

func BenchmarkAutomatonPickObserve(b *testing.B) {
	a, err := NewAutomaton(AutomatonConfig{Arms: 9, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Observe(a.Pick(), 0.7); err != nil {
			b.Fatal(err)
		}
	}
}
