package replay

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
)

// Loading a source parses megabytes, so tests share one dataset per source,
// loaded once (concurrently with the other sources).
var datasets = map[string]func() (*Dataset, error){
	"gsm8k":     sync.OnceValues(func() (*Dataset, error) { return LoadRouteLLM("gsm8k") }),
	"mmlu":      sync.OnceValues(func() (*Dataset, error) { return LoadRouteLLM("mmlu") }),
	"llmrouter": sync.OnceValues(LoadLLMRouter),
}

func load(t testing.TB, bench string) *Dataset {
	t.Helper()
	d, err := datasets[bench]()
	require.NoError(t, err)
	return d
}

// readmeSums parses the sha256 block of data/README.md.
func readmeSums(t *testing.T) map[string]string {
	t.Helper()
	f, err := DataFS().Open("README.md")
	require.NoError(t, err)
	defer f.Close()
	sums := map[string]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "## sha256 (original bytes)":
			in = true
		case in && strings.HasPrefix(line, "```"):
		case in && line != "":
			sum, name, ok := strings.Cut(line, "  ")
			require.True(t, ok, "README sha256 line %q", line)
			require.Len(t, sum, 64, "README sha256 line %q", line)
			sums[name] = sum
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, sums)
	return sums
}

func TestShippedDataMatchesREADME(t *testing.T) {
	t.Parallel()
	sums := readmeSums(t)
	for name, want := range sums {
		t.Run(name, func(t *testing.T) {
			f, err := openData(name)
			require.NoError(t, err)
			defer f.Close()
			h := sha256.New()
			_, err = io.Copy(h, f)
			require.NoError(t, err)
			assert.Equal(t, want, hex.EncodeToString(h.Sum(nil)), "sha256 of the original bytes of %s", name)
		})
	}
	// Nothing is shipped that the list does not name, apart from the notes.
	err := fs.WalkDir(DataFS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		base := p[strings.LastIndexByte(p, '/')+1:]
		if base == "README.md" || base == "PROVENANCE.md" {
			return nil
		}
		_, listed := sums[strings.TrimSuffix(p, ".gz")]
		assert.True(t, listed, "data/%s is shipped but not listed in data/README.md", p)
		return nil
	})
	require.NoError(t, err)
}

// TestRecordedGSM8KIsTasksGSM8K checks that the GSM8K test split RouteLLM
// recorded against (sha256 in its PROVENANCE.md) is the one package tasks
// ships, so the loader may join to it instead of shipping a second copy.
func TestRecordedGSM8KIsTasksGSM8K(t *testing.T) {
	t.Parallel()
	f, err := DataFS().Open("routellm/PROVENANCE.md")
	require.NoError(t, err)
	defer f.Close()
	prov, err := io.ReadAll(f)
	require.NoError(t, err)
	const want = "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14  ./evals/gsm8k/test.jsonl"
	require.Contains(t, string(prov), want)
	ts, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	d := load(t, "gsm8k")
	assert.Len(t, ts, d.Stats.Rows)
}

func TestLoadCounts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		bench                     string
		rows, contaminated, items int
		normalised                int
		strong, weak              float64 // recorded accuracy, %
		both, strongOnly          int
		weakOnly, neither         int
	}{
		// The PROVENANCE fixtures, recomputed after contamination removal.
		{bench: "mmlu", rows: 14042, contaminated: 5, items: 14037, normalised: 10, strong: 80.59, weak: 68.09, both: 8816, strongOnly: 2496, weakOnly: 742, neither: 1983},
		{bench: "gsm8k", rows: 1319, contaminated: 12, items: 1307, strong: 85.77, weak: 63.73, both: 739, strongOnly: 382, weakOnly: 94, neither: 92},
	}
	for _, c := range cases {
		t.Run(c.bench, func(t *testing.T) {
			d := load(t, c.bench)
			assert.Equal(t, c.rows, d.Stats.Rows)
			assert.Equal(t, c.contaminated, d.Stats.Contaminated)
			assert.Equal(t, c.items, d.Stats.Joined)
			assert.Len(t, d.Items, c.items)
			assert.Equal(t, c.normalised, d.Stats.JoinedNormalised, "MMLU prompts in which pandas wrote a choice \"None\" as \"nan\"")
			var both, so, wo, nei int
			var s, w float64
			for _, it := range d.Items {
				st, wk := it.Outcomes[d.Strong].Score, it.Outcomes[d.Weak].Score
				s += st
				w += wk
				switch {
				case st == 1 && wk == 1:
					both++
				case st == 1:
					so++
				case wk == 1:
					wo++
				default:
					nei++
				}
			}
			n := float64(len(d.Items))
			assert.InDelta(t, c.strong, 100*s/n, 0.005)
			assert.InDelta(t, c.weak, 100*w/n, 0.005)
			assert.Equal(t, [4]int{c.both, c.strongOnly, c.weakOnly, c.neither}, [4]int{both, so, wo, nei})
		})
	}
}

func TestMMLUJoin(t *testing.T) {
	t.Parallel()
	d := load(t, "mmlu")
	// Every one of the 14,042 recorded rows joins to tasks' MMLU row of the
	// same subject and position: 14,032 with identical text and 10 where
	// pandas turned a "None" choice into "nan".
	assert.Equal(t, d.Stats.Rows, d.Stats.Joined+d.Stats.Contaminated)
	t.Logf("MMLU: %d rows, %d joined verbatim, %d after the pandas None→nan rule, %d contaminated removed",
		d.Stats.Rows, d.Stats.Joined+d.Stats.Contaminated-d.Stats.JoinedNormalised, d.Stats.JoinedNormalised, d.Stats.Contaminated)
	subjects := map[string]int{}
	for _, it := range d.Items {
		subj := it.Task.Meta["subject"]
		subjects[subj]++
		require.True(t, strings.HasPrefix(it.Task.Query, MMLUHeader(subj)+"\n\n"), it.Task.ID)
		require.NotEmpty(t, it.Prefix)
		require.Equal(t, "mmlu", it.Task.Scorer.Name())
	}
	assert.Len(t, subjects, 57)
	// 27 questions repeat within their subject (same outcomes).
	assert.Equal(t, 27, d.Stats.DuplicateQueries)
}

func TestLLMRouterJoin(t *testing.T) {
	t.Parallel()
	d := load(t, "llmrouter")
	assert.Equal(t, 5608, d.Stats.Rows)
	assert.Equal(t, 5608, d.Stats.Joined)
	assert.Equal(t, 8, d.Stats.Ambiguous, "questions the query file lists twice")
	assert.Equal(t, 6, d.Stats.AmbiguousTask, "of which the two listings name different tasks")
	require.Len(t, d.Models, 9)
	perTask := map[string]int{}
	for _, it := range d.Items {
		perTask[it.Task.Meta["task"]]++
	}
	want := map[string]int{
		"math": 504, "natural_qa": 500, "trivia_qa": 500, "mmlu": 500, "gsm8k": 500, "commonsense_qa": 500,
		"mbpp": 498, "arc_challenge": 498, "openbook_qa": 496, "gpqa": 448, "agentverse-mgsm": 200,
		"human_eval": 164, "agentverse-logicgrid": 150, "commongen": 150,
	}
	// The 6 questions listed under two tasks count under the first listing.
	total := 0
	for task, n := range perTask {
		total += n
		assert.InDelta(t, want[task], n, 6, task)
	}
	assert.Equal(t, 5608, total)
	// Prices come from default_llm.json; the models are ordered by price.
	prices := map[string]float64{}
	for _, m := range d.Models {
		prices[m.Name] = m.Price.InputPerMillion
		assert.Equal(t, m.Price.InputPerMillion, m.Price.OutputPerMillion, m.Name)
	}
	assert.Equal(t, 0.1, prices["gemma-2-9b-it"])
	assert.Equal(t, 0.2, prices["qwen2.5-7b-instruct"])
	assert.Equal(t, 0.9, prices["llama-3.1-nemotron-51b-instruct"])
	assert.Equal(t, "gemma-2-9b-it", d.Models[0].Name)
	// Mean recorded scores over the training split.
	mean := func(name string) float64 {
		i, err := d.ModelIndex(name)
		require.NoError(t, err)
		var s float64
		for _, it := range d.Items {
			s += it.Outcomes[i].Score
		}
		return s / float64(len(d.Items))
	}
	assert.InDelta(t, 0.621, mean("llama-3.1-nemotron-51b-instruct"), 0.0005)
	assert.InDelta(t, 0.175, mean("llama3-chatqa-1.5-8b"), 0.0005)
}

func TestLoadRouteLLMUnknownBenchmark(t *testing.T) {
	_, err := LoadRouteLLM("mt-bench")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown benchmark "mt-bench"`)
}

func TestReadResponsesErrors(t *testing.T) {
	models := []string{"s", "w"}
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "x.csv: empty file"},
		{"no column", "prompt,s\nq,True\n", `x.csv:1: header: no column "w"`},
		{"bad bool", "prompt,s,w\nq,True,yes\n", `x.csv:2: w: "yes" is not True or False`},
		{"empty prompt", "prompt,s,w\n,True,False\n", "x.csv:2: prompt: empty"},
		{"fields", "prompt,s,w\nq,True\n", "x.csv:2: fields: got 2, want 3"},
		{"no rows", "prompt,s,w\n", "x.csv: no rows"},
		{"quote", "prompt,s,w\n\"q,True,False\n", "x.csv:2: csv:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadResponses(strings.NewReader(c.in), "x.csv", models, false)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	rows, err := ReadResponses(strings.NewReader("prompt,s,w,s_response,w_response\n\"two\nlines\",True,False,a,b\n"), "x.csv", models, true)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, ResponseRow{Line: 2, Prompt: "two\nlines", Correct: []bool{true, false}, Responses: []string{"a", "b"}}, rows[0])
}

func TestReadScoresErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"not array", `{}`, "x.json:1: want a JSON array"},
		{"missing question", "[\n {\"scores\": {\"a\": 1}}\n]", "x.json:2: question: missing"},
		{"range", "[\n{\"question\": \"q\", \"scores\": {\"a\": 1.5}}]", "x.json:2: scores.a: 1.5 is not in [0, 1]"},
		{"models differ", "[{\"question\": \"q\", \"scores\": {\"a\": 1}},\n{\"question\": \"r\", \"scores\": {\"b\": 1}}]", "x.json:2: scores: models b differ"},
		{"unknown field", "[\n\n{\"question\": \"q\", \"scores\": {\"a\": 1}, \"extra\": 2}]", `x.json:3: json: json: unknown field "extra"`},
		{"unclosed", `[{"question": "q", "scores": {"a": 1}}`, "the array is not closed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadScores(strings.NewReader(c.in), "x.json")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestReadQueriesErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"json", "{\n", "x.jsonl:1: json:"},
		{"missing", `{"task_name": "t", "query": "q", "metric": "em_mc"}`, "x.jsonl:1: ground_truth: missing or empty"},
		{"metric", "\n" + `{"task_name": "t", "query": "q", "ground_truth": "A", "metric": "bleu"}`, `x.jsonl:2: metric: "bleu" is not one of`},
		{"field", `{"task_name": "t", "query": "q", "ground_truth": "A", "metric": "em_mc", "x": 1}`, `unknown field "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadQueries(strings.NewReader(c.in), "x.jsonl")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// A U+2028 inside a query does not split the line.
	rows, err := ReadQueries(strings.NewReader(`{"task_name": "t", "query": "a`+"\u2028"+`b", "ground_truth": "A", "metric": "em_mc", "choices": null, "task_id": null}`), "x.jsonl")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, "a\u2028b", rows[0].Query)
}

func TestReadContaminated(t *testing.T) {
	got, err := ReadContaminated(strings.NewReader(`{"eval_prompt": "a", "train_prompt": "b"}`+"\n\n"+`{"eval_prompt": "c"}`), "c.jsonl")
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"a": true, "c": true}, got)
	_, err = ReadContaminated(strings.NewReader("{}\n{\"eval_prompt\": 1}"), "c.jsonl")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "c.jsonl:1: eval_prompt: missing")
}

func TestCoverage(t *testing.T) {
	cs := []string{"ball", "throw", "ice cream"}
	cases := []struct {
		text string
		want float64
	}{
		{"A boy throws a ball", 1.0 / 3},
		{"football and ice cream", 1.0 / 3},
		{"Throw the BALL, eat ice cream.", 1},
		{"", 0},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			assert.InDelta(t, c.want, Coverage(c.text, cs), 1e-12)
		})
	}
	assert.Zero(t, Coverage("x", nil))
}
