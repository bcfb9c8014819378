package train_test

import (
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/train"
)

// updatePareto is not "-update" so that it cannot clash with a flag of the
// package's internal tests, which share this test binary.
var updatePareto = flag.Bool("update-pareto", false, "rewrite testdata/pareto_table.md")

func labels(ps []train.Point) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Label
	}
	return out
}

func TestParetoFront(t *testing.T) {
	pt := func(label string, acc, cost float64) train.Point {
		return train.Point{Label: label, Kind: "single", Accuracy: acc, DollarsPerQuery: cost}
	}
	cases := []struct {
		name string
		ps   []train.Point
		want []string
	}{
		{name: "empty", ps: nil, want: []string{}},
		{name: "one point", ps: []train.Point{pt("a", 0.5, 1)}, want: []string{"a"}},
		{
			name: "dominated points dropped, front sorted by cost",
			ps: []train.Point{
				pt("expensive-best", 0.9, 10),
				pt("dominated", 0.6, 5), // mid is as good and cheaper
				pt("cheap", 0.5, 1),     // cheapest
				pt("mid", 0.7, 3),       // between
				pt("worse-and-dear", 0.4, 20),
			},
			want: []string{"cheap", "mid", "expensive-best"},
		},
		{
			name: "equal accuracy: only the cheaper one",
			ps:   []train.Point{pt("dear", 0.8, 2), pt("cheap", 0.8, 1)},
			want: []string{"cheap"},
		},
		{
			name: "equal cost: only the more accurate one",
			ps:   []train.Point{pt("worse", 0.7, 1), pt("better", 0.8, 1)},
			want: []string{"better"},
		},
		{
			name: "identical points are both kept",
			ps:   []train.Point{pt("b", 0.8, 1), pt("a", 0.8, 1), pt("c", 0.5, 2)},
			want: []string{"a", "b"},
		},
		{
			name: "NaN is never on the front and dominates nothing",
			ps:   []train.Point{pt("nan", math.NaN(), 0.1), pt("ok", 0.5, 1)},
			want: []string{"ok"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, labels(train.ParetoFront(tc.ps)))
		})
	}
}

// samplePoints is a router swept over λ with baselines around it.
func samplePoints() []train.Point {
	return []train.Point{
		{Label: "masrouter λ=0", Kind: train.KindRouter, Lambda: 0, Accuracy: 0.912, DollarsPerQuery: 0.0042},
		{Label: "masrouter λ=100", Kind: train.KindRouter, Lambda: 100, Accuracy: 0.897, DollarsPerQuery: 0.0011},
		{Label: "masrouter λ=1000", Kind: train.KindRouter, Lambda: 1000, Accuracy: 0.851, DollarsPerQuery: 0.00021},
		{Label: "static delegation", Kind: train.KindStatic, Accuracy: 0.905, DollarsPerQuery: 0.0123},
		{Label: "gpt-4o", Kind: train.KindSingle, Accuracy: 0.894, DollarsPerQuery: 0.0031},
		{Label: "gpt-4o-mini", Kind: train.KindSingle, Accuracy: 0.851, DollarsPerQuery: 0.00021},
		{Label: "llama-3.1-8b", Kind: train.KindSingle, Accuracy: 0.62, DollarsPerQuery: 0.000045},
		{Label: "random", Kind: train.KindRandom, Accuracy: 0.79, DollarsPerQuery: 0.0051},
		{Label: "threshold | 0.5", Kind: "threshold", Lambda: 0.5, Accuracy: 0.88, DollarsPerQuery: 0.0024},
	}
}

func TestMarkdownTableGolden(t *testing.T) {
	got := train.MarkdownTable(samplePoints())
	path := filepath.Join("testdata", "pareto_table.md")
	if *updatePareto {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./train -run TestMarkdownTableGolden -update-pareto to create it")
	assert.Equal(t, string(want), got)
}

func TestPlotPareto(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pareto.png")
	require.NoError(t, train.PlotPareto(path, "GSM8K: accuracy against cost (simulated)", samplePoints()))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 768, img.Bounds().Dx(), "8 in at 96 dpi")
	assert.Equal(t, 480, img.Bounds().Dy(), "5 in at 96 dpi")

	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestPlotParetoSinglePointAndOneDecade(t *testing.T) {
	// One point exactly on a power of ten still gets a usable axis.
	path := filepath.Join(t.TempDir(), "one.png")
	require.NoError(t, train.PlotPareto(path, "one", []train.Point{{Label: "x", Kind: train.KindRouter, Accuracy: 1, DollarsPerQuery: 0.001}}))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = png.Decode(f)
	assert.NoError(t, err)
}

func TestPlotParetoRejectsBadPoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []train.Point
		msg  string
	}{
		{"no points", nil, "no points"},
		{"zero cost", []train.Point{{Label: "free", Accuracy: 0.5}}, `point 0 ("free"): dollars per query 0 must be positive`},
		{"NaN accuracy", []train.Point{{Label: "ok", Accuracy: 0.5, DollarsPerQuery: 1}, {Label: "nan", Accuracy: math.NaN(), DollarsPerQuery: 1}}, `point 1 ("nan"): accuracy NaN`},
		{"accuracy as percent", []train.Point{{Label: "pct", Accuracy: 85, DollarsPerQuery: 1}}, "outside [0, 1]"},
		{"infinite lambda", []train.Point{{Label: "inf", Lambda: math.Inf(1), Accuracy: 0.5, DollarsPerQuery: 1}}, "lambda +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.png")
			err := train.PlotPareto(path, "bad", tc.ps)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.NoFileExists(t, path)
		})
	}
}
