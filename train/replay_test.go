package train

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
)

// hashStub is an Encoder of dimension 3 that always sets coordinate 1.
type hashStub struct{}

func (hashStub) Dim() int { return 3 }

func (hashStub) Encode(context.Context, string) (routing.Features, error) {
	return routing.Features{Dim: 3, Index: []int{1}, Value: []float64{1}}, nil
}

var (
	replayGSM8K     = sync.OnceValues(func() (*replay.Dataset, error) { return replay.LoadRouteLLM("gsm8k") })
	replayLLMRouter = sync.OnceValues(replay.LoadLLMRouter)
)

// quickReplay is a small, fast experiment configuration.
func quickReplay(d *replay.Dataset, n int) ReplayConfig {
	return ReplayConfig{Data: d, N: n, SplitSeed: 3, Seed: 5, Kappas: []float64{0.1, 0.3}, Train: Config{Epochs: 2, Samples: 2, BatchSize: 16}}
}

// heldOut recomputes the held-out part of a quick experiment.
func heldOut(d *replay.Dataset, cfg ReplayConfig) (trainPart, test []*tasks.Task) {
	return tasks.SplitByID(tasks.Sample(d.Tasks(), cfg.N, cfg.SplitSeed), 1-0.2, cfg.SplitSeed)
}

func TestReplayRouteLLM(t *testing.T) {
	t.Parallel()
	d, err := replayGSM8K()
	require.NoError(t, err)
	cfg := quickReplay(d, 160)
	u := replay.RouteLLMCallUsage()
	cfg.CallUsage = &u
	rep, err := Replay(context.Background(), cfg)
	require.NoError(t, err)
	trainPart, test := heldOut(d, cfg)
	require.Equal(t, len(trainPart), rep.Train)
	require.Equal(t, len(test), rep.Test)
	assert.Equal(t, replay.RouteLLMStrong, rep.Strong)
	assert.Len(t, rep.Published, 9)

	// Each model alone scores its recorded mean and, priced per call as
	// RouteLLM does, costs exactly its per-call price.
	for _, name := range []string{replay.RouteLLMStrong, replay.RouteLLMWeak} {
		var sum float64
		for _, task := range test {
			s, err := d.Score(task.ID, name)
			require.NoError(t, err)
			sum += s
		}
		r := rep.Result(name)
		require.NotNil(t, r, name)
		assert.InDelta(t, sum/float64(len(test)), r.Quality, 1e-12, name)
		i, err := d.ModelIndex(name)
		require.NoError(t, err)
		price := d.Models[i].Price
		assert.InDelta(t, price.Cost(u), r.DollarsPerQuery, 1e-15, name)
	}
	assert.InDelta(t, rep.Result(replay.RouteLLMStrong).Quality, rep.StrongQuality, 0)

	kinds := map[string]int{}
	for _, r := range rep.Results {
		kinds[r.Kind]++
		if r.Kind == ReplaySingle {
			continue
		}
		require.NotNil(t, r.APGR, r.Router)
		require.NotNil(t, r.CPT50, r.Router)
		require.NotNil(t, r.CPT80, r.Router)
		assert.True(t, *r.CPT50 >= 0 && *r.CPT50 <= 1 && *r.CPT80 >= 0 && *r.CPT80 <= 1, r.Router)
		calls := 0
		for _, n := range r.Models {
			calls += n
		}
		assert.Equal(t, rep.Test, calls, r.Router)
	}
	assert.Equal(t, map[string]int{ReplaySingle: 2, ReplayLearned: 1, ReplayThreshold: 1, ReplayBandit: 2, ReplayRandom: 1, ReplayOracle: 1}, kinds)
	th := rep.Result("masrouter-threshold")
	require.NotNil(t, th)
	assert.Len(t, th.Curve, DefaultBins+1)
	assert.Equal(t, 0.0, th.Curve[0].StrongCalls)
	assert.Equal(t, 1.0, th.Curve[len(th.Curve)-1].StrongCalls)
	// The optimal router recovers more than the whole gap.
	opt := rep.Result("oracle")
	require.NotNil(t, opt)
	assert.Greater(t, *opt.APGR, 1.0)
	for _, r := range rep.Results {
		if r.APGR != nil {
			assert.LessOrEqual(t, *r.APGR, *opt.APGR, r.Router)
		}
	}
	learned := rep.Result("masrouter")
	require.NotNil(t, learned)
	require.Len(t, learned.Points, 2)
	assert.InDelta(t, cfg.Kappas[0]/rep.DollarScale, learned.Points[0].Lambda, 1e-9)
	// The sweep curve is anchored at each model alone.
	assert.Equal(t, CallPoint{StrongCalls: 0, Quality: rep.WeakQuality}, learned.Curve[0])
}

func TestReplayIsDeterministic(t *testing.T) {
	t.Parallel()
	d, err := replayGSM8K()
	require.NoError(t, err)
	cfg := quickReplay(d, 80)
	cfg.Kappas = []float64{0.2}
	a, err := Replay(context.Background(), cfg)
	require.NoError(t, err)
	b, err := Replay(context.Background(), cfg)
	require.NoError(t, err)
	a.Elapsed, b.Elapsed = 0, 0
	assert.Equal(t, a, b)
}

func TestReplayLLMRouter(t *testing.T) {
	t.Parallel()
	d, err := replayLLMRouter()
	require.NoError(t, err)
	rep, err := Replay(context.Background(), quickReplay(d, 300))
	require.NoError(t, err)
	assert.Empty(t, rep.Strong)
	assert.Empty(t, rep.Published)
	assert.Equal(t, "gemma-2-9b-it", rep.Cheapest)
	require.NotEmpty(t, rep.BestSingle)
	oracle := rep.Result("oracle")
	require.NotNil(t, oracle)
	for _, r := range rep.Results {
		assert.Nil(t, r.APGR, r.Router)
		assert.LessOrEqual(t, r.Quality, oracle.Quality+1e-12, r.Router)
		switch r.Kind {
		case ReplayLearned, ReplayBandit:
			require.NotNil(t, r.Area, r.Router)
			assert.False(t, math.IsNaN(*r.Area), r.Router)
			assert.Len(t, r.Points, 2)
		case ReplaySingle:
			assert.Len(t, r.Models, 1)
		}
	}
	// With prices the same for input and output, every model's dollars on
	// a question scale with its price: the dearest costs 9 times gemma.
	assert.InDelta(t, 9, rep.Result("llama-3.1-nemotron-51b-instruct").DollarsPerQuery/rep.Result("gemma-2-9b-it").DollarsPerQuery, 0.2)
}

func TestReplayConfigErrors(t *testing.T) {
	d, err := replayGSM8K()
	require.NoError(t, err)
	for _, tc := range []struct {
		cfg  ReplayConfig
		want string
	}{
		{ReplayConfig{}, "Data is nil"},
		{ReplayConfig{Data: d, TrainFraction: 1}, "TrainFraction = 1"},
		{ReplayConfig{Data: d, Kappas: []float64{-1}}, "κ = -1"},
		{ReplayConfig{Data: d, N: -3}, "N = -3"},
		{ReplayConfig{Data: d, N: 2, TrainFraction: 0.01}, "empty part"},
		{ReplayConfig{Data: d, Train: Config{Lambda: math.NaN()}}, "Lambda"},
	} {
		_, err := Replay(context.Background(), tc.cfg)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestRouteLLMPublished(t *testing.T) {
	for _, b := range []string{"gsm8k", "mmlu"} {
		rows := RouteLLMPublished(b)
		require.Len(t, rows, 9, b)
		assert.Equal(t, "random (95% CI)", rows[0].Router)
	}
	best := RouteLLMPublished("gsm8k")[6]
	assert.Equal(t, PublishedRow{"gsm8k", "Arena + judge", "Causal LLM", 0.3364, 0.6326, 0.622}, best)
	assert.Nil(t, RouteLLMPublished("mt-bench"))
}

func TestQueryStatsEncoder(t *testing.T) {
	ctx := context.Background()
	e := &QueryStatsEncoder{}
	assert.Equal(t, "qstats-v1/6+1024", e.Version())
	mmlu := replay.MMLUHeader("high_school_physics") + "\n\nWhat is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6"
	f, err := e.Encode(ctx, mmlu)
	require.NoError(t, err)
	assert.Equal(t, e.Dim(), f.Dim)
	header := 0
	for k, j := range f.Index {
		require.True(t, j >= 0 && j < f.Dim)
		if j >= QueryStatsDense {
			header++
			assert.InDelta(t, math.Sqrt2/2, f.Value[k], 1e-12)
		}
	}
	assert.Equal(t, 2, header, "two hashed buckets for the subject line")
	g, err := e.Encode(ctx, replay.MMLUHeader("college_mathematics")+"\n\nWhat is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6")
	require.NoError(t, err)
	assert.NotEqual(t, f.Index, g.Index, "another subject, other buckets")
	dense := func(f routing.Features) map[int]float64 {
		m := map[int]float64{}
		for k, j := range f.Index {
			if j < QueryStatsDense {
				m[j] = f.Value[k]
			}
		}
		return m
	}
	assert.Equal(t, dense(f), dense(g), "same body, same statistics")
	assert.Len(t, dense(f), QueryStatsDense)

	plain, err := e.Encode(ctx, "Janet has 3 apples. She buys 2 more. How many?")
	require.NoError(t, err)
	for _, j := range plain.Index {
		assert.Less(t, j, QueryStatsDense, "no header")
	}
	with := &QueryStatsEncoder{HeaderBuckets: 8, Base: hashStub{}}
	assert.Equal(t, QueryStatsDense+8+3, with.Dim())
	h, err := with.Encode(ctx, "x")
	require.NoError(t, err)
	assert.Equal(t, QueryStatsDense+8+1, h.Index[len(h.Index)-1])
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.Encode(cctx, "x")
	assert.ErrorIs(t, err, context.Canceled)
}
