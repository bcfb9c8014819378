package train_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
	"github.com/masrouter/masrouter/train"
)

// sampleRun returns a task, the plan a learned router chose for it (with
// log-probs) and the trace of running it: a two-agent Chain and its decision
// node. i varies the query and the costs.
func sampleRun(i int) (*tasks.Task, topology.Plan, *topology.Trace) {
	t := &tasks.Task{
		ID:        fmt.Sprintf("gsm8k/test/%d", i),
		Benchmark: "gsm8k",
		Domain:    tasks.DomainMath,
		Query:     fmt.Sprintf("Tom has %d apples & gives away 3 <of them>. How many are left?", i+5),
		Gold:      fmt.Sprint(i + 2),
	}
	p := topology.Plan{
		Mode:   topology.ModeChain,
		Domain: tasks.DomainMath,
		Agents: []topology.AgentSpec{
			{Role: "Math Solver", Model: "gpt-4o-mini"},
			{Role: "Math Critic", Model: "claude-3-haiku"},
		},
		Choices: []topology.Choice{
			{Stage: "mode", Value: "Chain", LogProb: -0.25},
			{Stage: "count", Value: "2", LogProb: -0.5},
			{Stage: "role", Index: 0, Value: "Math Solver", LogProb: -0.125},
			{Stage: "role", Index: 1, Value: "Math Critic", LogProb: -1.5},
			{Stage: "model", Index: 0, Value: "gpt-4o-mini", LogProb: -0.75},
			{Stage: "model", Index: 1, Value: "claude-3-haiku", LogProb: -0.0625},
		},
	}
	d1 := 0.0001 * float64(i+1)
	d2 := 0.00025 * float64(i+1)
	tr := &topology.Trace{
		ID:     uuid.NewString(),
		TaskID: t.ID,
		Plan:   p,
		Nodes: []topology.NodeTrace{
			{ID: "a0", Kind: topology.NodeAgent, Step: agents.StepReason, Role: "Math Solver", Model: "gpt-4o-mini",
				PromptTokens: 120 + i, CompletionTokens: 80, Dollars: d1,
				Latency: 3 * time.Millisecond, ReportedLatency: 1500 * time.Millisecond},
			{ID: "a1", Kind: topology.NodeAgent, Step: agents.StepCollaborate, Role: "Math Critic", Model: "claude-3-haiku",
				PromptTokens: 240, CompletionTokens: 60 + i, Dollars: d2,
				Latency: 2500 * time.Microsecond},
			{ID: "decision", Kind: topology.NodeDecision},
		},
		Answer:           fmt.Sprint(i + 2),
		Score:            1,
		PromptTokens:     360 + i,
		CompletionTokens: 140 + i,
		Dollars:          d1 + d2,
		CriticalPath:     1502500 * time.Microsecond,
	}
	return t, p, tr
}

func sampleTrajectory(i int) *train.Trajectory {
	t, p, tr := sampleRun(i)
	return train.NewTrajectory(t, p, tr, 50, "masrouter", "hash-v1/1024", i%2 == 0)
}

func TestNewTrajectory(t *testing.T) {
	task, p, tr := sampleRun(3)
	before := time.Now()
	tj := train.NewTrajectory(task, p, tr, 100, "masrouter", "hash-v1/1024", true)
	after := time.Now()

	assert.Equal(t, 1, tj.V)
	_, err := uuid.Parse(tj.ID)
	assert.NoError(t, err, "id is a UUID")
	assert.False(t, tj.Time.Before(before.Round(0)) || tj.Time.After(after.Round(0)), "time is now")
	assert.Equal(t, time.UTC, tj.Time.Location())
	assert.Equal(t, "gsm8k/test/3", tj.TaskID)
	assert.Equal(t, "gsm8k", tj.Benchmark)
	assert.Equal(t, tasks.DomainMath, tj.Domain)
	assert.Equal(t, task.Query, tj.Query)
	assert.Equal(t, train.QuerySHA256(task.Query), tj.QuerySHA256)
	assert.Equal(t, "hash-v1/1024", tj.FeaturesVersion)
	assert.Equal(t, "masrouter", tj.Policy)
	assert.Equal(t, p, tj.Plan)
	assert.InDelta(t, -3.1875, tj.BehaviourLogProb, 1e-12)
	require.Len(t, tj.Nodes, 3)
	assert.Equal(t, train.NodeRecord{ID: "a0", Kind: topology.NodeAgent, Role: "Math Solver", Model: "gpt-4o-mini",
		PromptTokens: 123, CompletionTokens: 80, Dollars: tr.Nodes[0].Dollars, LatencyMS: 1500}, tj.Nodes[0], "reported latency wins")
	assert.Equal(t, 2.5, tj.Nodes[1].LatencyMS, "measured latency when none is reported")
	assert.Equal(t, train.NodeRecord{ID: "decision", Kind: topology.NodeDecision}, tj.Nodes[2])
	assert.Equal(t, 363, tj.PromptTokens)
	assert.Equal(t, 143, tj.CompletionTokens)
	assert.InDelta(t, 0.0014, tj.Dollars, 1e-15)
	assert.Equal(t, 1502.5, tj.LatencyMS, "critical path")
	assert.Equal(t, "5", tj.Answer)
	assert.Equal(t, 1.0, tj.Score)
	assert.Equal(t, 100.0, tj.Lambda)
	assert.InDelta(t, 1-100*0.0014, tj.LoggedReward, 1e-12)
	assert.Empty(t, tj.Err)
	assert.NoError(t, tj.Validate())

	hashed := train.NewTrajectory(task, p, tr, 100, "masrouter", "hash-v1/1024", false)
	assert.Empty(t, hashed.Query, "query left out")
	assert.Equal(t, tj.QuerySHA256, hashed.QuerySHA256, "hash kept")
	assert.NotEqual(t, tj.ID, hashed.ID, "fresh id per record")

	tr.Err = "topology: run task gsm8k/test/3: boom"
	tr.Score = 0
	failed := train.NewTrajectory(task, p, tr, 0, "random", "", false)
	assert.Equal(t, tr.Err, failed.Err)
	assert.Equal(t, 0.0, failed.LoggedReward)
	assert.NoError(t, failed.Validate())
}

func TestQuerySHA256(t *testing.T) {
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", train.QuerySHA256("abc"))
}

func TestReward(t *testing.T) {
	tj := &train.Trajectory{Score: 0.75, Dollars: 0.002}
	for _, tc := range []struct {
		lambda, want float64
	}{
		{0, 0.75},
		{100, 0.55},
		{375, 0},
		{1000, -1.25},
	} {
		t.Run(fmt.Sprint(tc.lambda), func(t *testing.T) {
			assert.InDelta(t, tc.want, tj.Reward(tc.lambda), 1e-12)
		})
	}
}

func TestWriteReadRoundTripConcurrent(t *testing.T) {
	const n, workers = 200, 8
	want := make(map[string]*train.Trajectory, n)
	all := make([]*train.Trajectory, n)
	for i := range all {
		all[i] = sampleTrajectory(i)
		want[all[i].ID] = all[i]
	}
	var buf bytes.Buffer
	w := train.NewWriter(&buf)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < n; i += workers {
				errs <- w.Write(all[i])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush())
	assert.Equal(t, n, strings.Count(buf.String(), "\n"), "one line per trajectory")

	got := map[string]*train.Trajectory{}
	st, err := train.ReadTrajectories(&buf, "mem.jsonl", train.ReadOptions{}, func(tj *train.Trajectory) error {
		got[tj.ID] = tj
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, train.ReadStats{Lines: n, Read: n}, st)
	assert.Equal(t, want, got)
}

func TestWriteRejectsInvalid(t *testing.T) {
	var buf bytes.Buffer
	w := train.NewWriter(&buf)
	tj := sampleTrajectory(1)
	tj.Plan.Agents[1].Model = ""
	err := w.Write(tj)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "plan.agents[1].model: empty")
	assert.Error(t, w.Write(nil))
	require.NoError(t, w.Flush())
	assert.Zero(t, buf.Len(), "nothing written")
}

func TestWriterReportsWriteErrors(t *testing.T) {
	boom := errors.New("disk full")
	w := train.NewWriter(failWriter{boom})
	require.NoError(t, w.Write(sampleTrajectory(1)), "buffered")
	err := w.Flush()
	assert.ErrorIs(t, err, boom)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// goodLine is a valid trajectory line without its newline.
func goodLine(t testing.TB, i int) string {
	t.Helper()
	var buf bytes.Buffer
	w := train.NewWriter(&buf)
	require.NoError(t, w.Write(sampleTrajectory(i)))
	require.NoError(t, w.Flush())
	return strings.TrimSuffix(buf.String(), "\n")
}

// mutate decodes line into a generic map, applies f and encodes it again.
func mutate(t *testing.T, line string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func plan(m map[string]any) map[string]any { return m["plan"].(map[string]any) }
func node(m map[string]any, i int) map[string]any {
	return m["nodes"].([]any)[i].(map[string]any)
}
func choice(m map[string]any, i int) map[string]any {
	return plan(m)["choices"].([]any)[i].(map[string]any)
}

func TestReadReportsEveryRule(t *testing.T) {
	good := goodLine(t, 2) // holds the query text
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	cases := []struct {
		name  string
		mut   func(m map[string]any)
		raw   string // used instead of mut when set
		field string
		msg   string
	}{
		{name: "unknown field", mut: set("extra", 1), field: "extra", msg: "unknown field"},
		{name: "field in other case", raw: strings.Replace(good, `"score"`, `"Score"`, 1), field: "Score", msg: "unknown field"},
		{name: "unknown plan field", mut: func(m map[string]any) { plan(m)["temperature"] = 0.7 }, field: "plan.temperature", msg: "unknown field"},
		{name: "unknown agent field", mut: func(m map[string]any) {
			plan(m)["agents"].([]any)[0].(map[string]any)["temperature"] = 0.7
		}, field: "plan.agents[0].temperature", msg: "unknown field"},
		{name: "unknown node field", mut: func(m map[string]any) { node(m, 1)["cost"] = 1 }, field: "nodes[1].cost", msg: "unknown field"},
		{name: "duplicate field", raw: strings.Replace(good, `"score":1,`, `"score":1,"score":0,`, 1), field: "score", msg: "appears twice"},
		{name: "duplicate through an escape", raw: strings.Replace(good, `"score":1,`, `"score":1,"\u0073core":0,`, 1), field: "score", msg: "appears twice"},
		{name: "missing v", mut: func(m map[string]any) { delete(m, "v") }, field: "v", msg: "missing"},
		{name: "missing nodes", mut: func(m map[string]any) { delete(m, "nodes") }, field: "nodes", msg: "missing"},
		{name: "missing choice logprob", mut: func(m map[string]any) { delete(choice(m, 3), "logprob") }, field: "plan.choices[3].logprob", msg: "missing"},
		{name: "null", mut: set("score", nil), field: "score", msg: "null is not allowed"},
		{name: "null node", mut: func(m map[string]any) { m["nodes"].([]any)[2] = nil }, field: "nodes[2]", msg: "null is not allowed"},
		{name: "string for number", mut: set("score", "1"), field: "score", msg: "want a number, got a string"},
		{name: "object for string", mut: set("answer", map[string]any{}), field: "answer", msg: "want a string, got an object"},
		{name: "fraction for integer", mut: set("prompt_tokens", 1.5), field: "prompt_tokens", msg: "want an integer"},
		{name: "integer overflow", raw: strings.Replace(good, `"prompt_tokens":362,`, `"prompt_tokens":100000000000000000000,`, 1), field: "prompt_tokens", msg: "does not fit"},
		{name: "float overflow", raw: strings.Replace(good, `"lambda":50,`, `"lambda":1e999,`, 1), field: "lambda", msg: "does not fit"},
		{name: "version", mut: set("v", 2), field: "v", msg: "version 2 not understood (this reader understands version 1)"},
		{name: "empty id", mut: set("id", ""), field: "id", msg: "empty"},
		{name: "bad time", mut: set("time", "yesterday"), field: "time", msg: "RFC 3339"},
		{name: "blank task id", mut: set("task_id", "  "), field: "task_id", msg: "empty"},
		{name: "domain", mut: set("domain", "physics"), field: "domain", msg: `unknown domain "physics"`},
		{name: "short hash", mut: set("query_sha256", "abc"), field: "query_sha256", msg: "64 lower-case hex digits"},
		{name: "upper-case hash", mut: func(m map[string]any) { m["query_sha256"] = strings.ToUpper(m["query_sha256"].(string)) }, field: "query_sha256", msg: "hex digits"},
		{name: "hash of another query", mut: set("query", "What is 2+2?"), field: "query_sha256", msg: "does not match"},
		{name: "empty query present", mut: set("query", ""), field: "query_sha256", msg: "does not match"},
		{name: "empty policy", mut: set("policy", ""), field: "policy", msg: "empty"},
		{name: "mode", mut: func(m map[string]any) { plan(m)["mode"] = "Star" }, field: "plan.mode", msg: `unknown mode "Star"`},
		{name: "plan domain", mut: func(m map[string]any) { plan(m)["domain"] = "law" }, field: "plan.domain", msg: "unknown domain"},
		{name: "no agents", mut: func(m map[string]any) { plan(m)["agents"] = []any{} }, field: "plan.agents", msg: "empty"},
		{name: "agent role", mut: func(m map[string]any) {
			plan(m)["agents"].([]any)[1].(map[string]any)["role"] = ""
		}, field: "plan.agents[1].role", msg: "empty"},
		{name: "agent model", mut: func(m map[string]any) {
			plan(m)["agents"].([]any)[0].(map[string]any)["model"] = " "
		}, field: "plan.agents[0].model", msg: "empty"},
		{name: "rounds", mut: func(m map[string]any) { plan(m)["rounds"] = -1 }, field: "plan.rounds", msg: "negative"},
		{name: "decision", mut: func(m map[string]any) { plan(m)["decision"] = "coin" }, field: "plan.decision", msg: "unknown decision method"},
		{name: "choice stage", mut: func(m map[string]any) { choice(m, 2)["stage"] = "temperature" }, field: "plan.choices[2].stage", msg: "unknown stage"},
		{name: "choice index", mut: func(m map[string]any) { choice(m, 4)["index"] = -1 }, field: "plan.choices[4].index", msg: "negative"},
		{name: "choice value", mut: func(m map[string]any) { choice(m, 0)["value"] = "" }, field: "plan.choices[0].value", msg: "empty"},
		{name: "positive logprob", mut: func(m map[string]any) { choice(m, 5)["logprob"] = 0.5 }, field: "plan.choices[5].logprob", msg: "positive"},
		{name: "behaviour logprob", mut: set("behaviour_logprob", -3), field: "behaviour_logprob", msg: "not the sum"},
		{name: "node id", mut: func(m map[string]any) { node(m, 0)["id"] = "" }, field: "nodes[0].id", msg: "empty"},
		{name: "node kind", mut: func(m map[string]any) { node(m, 0)["kind"] = "tool" }, field: "nodes[0].kind", msg: "unknown node kind"},
		{name: "node tokens", mut: func(m map[string]any) { node(m, 1)["completion_tokens"] = -1 }, field: "nodes[1].completion_tokens", msg: "negative"},
		{name: "node dollars", mut: func(m map[string]any) { node(m, 1)["dollars"] = -0.1 }, field: "nodes[1].dollars", msg: "negative"},
		{name: "node latency", mut: func(m map[string]any) { node(m, 0)["latency_ms"] = -5 }, field: "nodes[0].latency_ms", msg: "negative"},
		{name: "negative tokens", mut: set("prompt_tokens", -1), field: "prompt_tokens", msg: "negative"},
		{name: "tokens not the node sum", mut: set("completion_tokens", 1), field: "completion_tokens", msg: "not the sum over nodes"},
		{name: "negative dollars", mut: set("dollars", -1), field: "dollars", msg: "negative"},
		{name: "dollars not the node sum", mut: set("dollars", 1), field: "dollars", msg: "not the sum over nodes"},
		{name: "negative latency", mut: set("latency_ms", -1), field: "latency_ms", msg: "negative"},
		{name: "score above 1", mut: set("score", 1.5), field: "score", msg: "outside [0, 1]"},
		{name: "score below 0", mut: set("score", -0.5), field: "score", msg: "outside [0, 1]"},
		{name: "negative lambda", mut: set("lambda", -1), field: "lambda", msg: "negative"},
		{name: "reward", mut: set("reward", 1), field: "reward", msg: "not score − lambda·dollars"},
		{name: "syntax", raw: good[:len(good)-1], field: "json", msg: "at byte"},
		{name: "trailing data", raw: good + " {}", field: "json", msg: "after top-level value"},
		{name: "not an object", raw: `[1, 2]`, field: "json", msg: "want a JSON object, got an array"},
		{name: "invalid UTF-8", raw: strings.Replace(good, "apples", "apples\xff", 1), field: "json", msg: "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.raw
			if bad == "" {
				bad = mutate(t, good, tc.mut)
			}
			in := good + "\n" + bad + "\n" + good + "\n"
			st, err := train.ReadTrajectories(strings.NewReader(in), "bad.jsonl", train.ReadOptions{}, nil)
			require.Error(t, err)
			var le *tasks.LineError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, "bad.jsonl", le.File)
			assert.Equal(t, 2, le.Line)
			assert.Equal(t, tc.field, le.Field)
			assert.Contains(t, le.Err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "bad.jsonl:2: "+tc.field+": "), err.Error())
			assert.Equal(t, 1, st.Read)
		})
	}
}

func TestReadAcceptsVariants(t *testing.T) {
	good := goodLine(t, 2)
	cases := []struct {
		name  string
		mut   func(m map[string]any)
		check func(t *testing.T, tj *train.Trajectory)
	}{
		{name: "no query text", mut: func(m map[string]any) { delete(m, "query") },
			check: func(t *testing.T, tj *train.Trajectory) { assert.Empty(t, tj.Query) }},
		{name: "empty benchmark and features version", mut: func(m map[string]any) { m["benchmark"] = ""; m["features_version"] = "" },
			check: func(t *testing.T, tj *train.Trajectory) { assert.Empty(t, tj.Benchmark) }},
		{name: "hand-written plan without choices", mut: func(m map[string]any) {
			delete(plan(m), "choices")
			m["behaviour_logprob"] = 0
		}, check: func(t *testing.T, tj *train.Trajectory) { assert.Empty(t, tj.Plan.Choices) }},
		{name: "mode in other case is canonicalised", mut: func(m map[string]any) { plan(m)["mode"] = "chain" },
			check: func(t *testing.T, tj *train.Trajectory) { assert.Equal(t, topology.ModeChain, tj.Plan.Mode) }},
		{name: "failed run without nodes", mut: func(m map[string]any) {
			m["nodes"] = []any{}
			m["prompt_tokens"], m["completion_tokens"], m["dollars"], m["score"], m["reward"] = 0, 0, 0, 0, 0
			m["error"] = "topology: run: unknown model"
		}, check: func(t *testing.T, tj *train.Trajectory) { assert.Equal(t, "topology: run: unknown model", tj.Err) }},
		{name: "time with an offset", mut: func(m map[string]any) { m["time"] = "2025-03-01T10:00:00+02:00" },
			check: func(t *testing.T, tj *train.Trajectory) {
				assert.True(t, tj.Time.Equal(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)))
			}},
		{name: "optional fields set", mut: func(m map[string]any) {
			plan(m)["rounds"], plan(m)["decision"], plan(m)["decider"] = 3, "refer", "gpt-4o"
			node(m, 2)["skipped"], node(m, 2)["error"] = true, "budget"
		}, check: func(t *testing.T, tj *train.Trajectory) {
			assert.True(t, tj.Nodes[2].Skipped)
			assert.Equal(t, topology.DecideRefer, tj.Plan.Decision)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []*train.Trajectory
			_, err := train.ReadTrajectories(strings.NewReader(mutate(t, good, tc.mut)), "ok.jsonl", train.ReadOptions{}, func(tj *train.Trajectory) error {
				got = append(got, tj)
				return nil
			})
			require.NoError(t, err)
			require.Len(t, got, 1)
			tc.check(t, got[0])
		})
	}
}

// mixedInput is good, bad, good, bad (lines 1 to 4) with blank lines after.
func mixedInput(t *testing.T) string {
	return goodLine(t, 1) + "\n" + `{"v":1` + "\n" + goodLine(t, 2) + "\n" + `{"v":7}` + "\n\n   \r\n"
}

func TestReadStopsAtFirstBadLine(t *testing.T) {
	st, err := train.ReadTrajectories(strings.NewReader(mixedInput(t)), "mixed.jsonl", train.ReadOptions{}, nil)
	var le *tasks.LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 2, le.Line)
	assert.Equal(t, train.ReadStats{Lines: 2, Read: 1}, st)
}

func TestReadSkipsAndReportsBadLines(t *testing.T) {
	t.Run("kept in stats", func(t *testing.T) {
		var got []string
		st, err := train.ReadTrajectories(strings.NewReader(mixedInput(t)), "mixed.jsonl", train.ReadOptions{SkipBad: true}, func(tj *train.Trajectory) error {
			got = append(got, tj.TaskID)
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"gsm8k/test/1", "gsm8k/test/2"}, got)
		assert.Equal(t, 6, st.Lines)
		assert.Equal(t, 2, st.Read)
		assert.Equal(t, 2, st.Skipped)
		require.Len(t, st.Errors, 2)
		for i, line := range []int{2, 4} {
			var le *tasks.LineError
			require.ErrorAs(t, st.Errors[i], &le)
			assert.Equal(t, line, le.Line)
			assert.Equal(t, "mixed.jsonl", le.File)
		}
		assert.Contains(t, st.Errors[1].Error(), "mixed.jsonl:4: v: version 7 not understood")
	})
	t.Run("passed to OnBad", func(t *testing.T) {
		var bad []*tasks.LineError
		st, err := train.ReadTrajectories(strings.NewReader(mixedInput(t)), "mixed.jsonl", train.ReadOptions{
			SkipBad: true,
			OnBad:   func(e *tasks.LineError) { bad = append(bad, e) },
		}, nil)
		require.NoError(t, err)
		assert.Equal(t, 2, st.Skipped)
		assert.Empty(t, st.Errors)
		require.Len(t, bad, 2)
		assert.Equal(t, 2, bad[0].Line)
		assert.Equal(t, 4, bad[1].Line)
	})
	t.Run("stored errors are capped and the rest counted", func(t *testing.T) {
		const extra = 7
		in := strings.Repeat("{\n", train.MaxStoredErrors+extra) + goodLine(t, 1)
		st, err := train.ReadTrajectories(strings.NewReader(in), "many.jsonl", train.ReadOptions{SkipBad: true}, nil)
		require.NoError(t, err)
		assert.Equal(t, train.MaxStoredErrors+extra, st.Skipped)
		assert.Len(t, st.Errors, train.MaxStoredErrors)
		assert.Equal(t, extra, st.ErrorsOmitted)
		assert.Equal(t, 1, st.Read)
		assert.Equal(t, train.MaxStoredErrors+extra+1, st.Lines)
	})
}

func TestReadBlankLines(t *testing.T) {
	in := "\n" + goodLine(t, 1) + "\r\n \t \n\n" + goodLine(t, 2) // last line has no newline
	st, err := train.ReadTrajectories(strings.NewReader(in), "blank.jsonl", train.ReadOptions{}, nil)
	require.NoError(t, err)
	assert.Equal(t, train.ReadStats{Lines: 5, Read: 2}, st)

	st, err = train.ReadTrajectories(strings.NewReader(""), "empty.jsonl", train.ReadOptions{}, nil)
	require.NoError(t, err)
	assert.Equal(t, train.ReadStats{}, st)
}

func TestReadLongLines(t *testing.T) {
	good := goodLine(t, 1)
	// A valid object padded with spaces to exactly the limit is accepted.
	atLimit := good[:len(good)-1] + strings.Repeat(" ", train.MaxLineBytes-len(good)) + "}"
	require.Len(t, atLimit, train.MaxLineBytes)
	overLimit := atLimit + " "
	in := atLimit + "\r\n" + overLimit + "\n" + good + "\n" + overLimit
	var bad []*tasks.LineError
	st, err := train.ReadTrajectories(strings.NewReader(in), "long.jsonl", train.ReadOptions{
		SkipBad: true,
		OnBad:   func(e *tasks.LineError) { bad = append(bad, e) },
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, 4, st.Lines)
	assert.Equal(t, 2, st.Read)
	assert.Equal(t, 2, st.Skipped)
	require.Len(t, bad, 2)
	for i, line := range []int{2, 4} {
		assert.Equal(t, line, bad[i].Line)
		assert.Equal(t, "line", bad[i].Field)
		assert.Contains(t, bad[i].Error(), fmt.Sprintf("long.jsonl:%d: line: longer than %d bytes", line, train.MaxLineBytes))
	}
}

func TestReadReaderErrorMidStream(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(goodLine(t, 1)+"\n"+goodLine(t, 2)[:40]), iotest.ErrReader(boom))
	var n int
	st, err := train.ReadTrajectories(r, "net.jsonl", train.ReadOptions{SkipBad: true}, func(*train.Trajectory) error {
		n++
		return nil
	})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "read net.jsonl:2:")
	assert.Equal(t, 1, n)
	assert.Equal(t, 1, st.Read)
	assert.Zero(t, st.Skipped, "the cut line is not a bad line")
}

func TestReadCallbackError(t *testing.T) {
	stop := errors.New("enough")
	in := goodLine(t, 1) + "\n" + goodLine(t, 2) + "\n" + goodLine(t, 3) + "\n"
	var n int
	st, err := train.ReadTrajectories(strings.NewReader(in), "cb.jsonl", train.ReadOptions{}, func(*train.Trajectory) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, "cb.jsonl:2: enough", err.Error())
	assert.Equal(t, 2, n, "no call after the error")
	assert.Equal(t, 1, st.Read)
}

func TestLoadTrajectories(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := train.NewWriter(f)
	want := []*train.Trajectory{sampleTrajectory(1), sampleTrajectory(2), sampleTrajectory(3)}
	for _, tj := range want {
		require.NoError(t, w.Write(tj))
	}
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())

	got, st, err := train.LoadTrajectories(path, train.ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, want, got, "in file order")
	assert.Equal(t, 3, st.Read)

	_, _, err = train.LoadTrajectories(filepath.Join(dir, "missing.jsonl"), train.ReadOptions{})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestValidateNilAndNonFinite(t *testing.T) {
	var nilT *train.Trajectory
	assert.Error(t, nilT.Validate())
	for _, tc := range []struct {
		name  string
		set   func(tj *train.Trajectory)
		field string
	}{
		{"NaN score", func(tj *train.Trajectory) { tj.Score = math.NaN() }, "score"},
		{"infinite lambda", func(tj *train.Trajectory) { tj.Lambda = math.Inf(1) }, "lambda"},
		{"NaN log-prob", func(tj *train.Trajectory) { tj.Plan.Choices[0].LogProb = math.NaN() }, "plan.choices[0].logprob"},
		{"infinite node dollars", func(tj *train.Trajectory) { tj.Nodes[0].Dollars = math.Inf(1) }, "nodes[0].dollars"},
		{"zero time", func(tj *train.Trajectory) { tj.Time = time.Time{} }, "time"},
		{"reward overflow", func(tj *train.Trajectory) {
			tj.Lambda, tj.Nodes[0].Dollars = 1e300, 1e300
			tj.Dollars = tj.Nodes[0].Dollars + tj.Nodes[1].Dollars
		}, "reward"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tj := sampleTrajectory(1)
			tc.set(tj)
			err := tj.Validate()
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.field+": "), err.Error())
		})
	}
}

func BenchmarkReadTrajectories(b *testing.B) {
	const n = 1000
	var buf bytes.Buffer
	w := train.NewWriter(&buf)
	for i := 0; i < n; i++ {
		require.NoError(b, w.Write(sampleTrajectory(i)))
	}
	require.NoError(b, w.Flush())
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := train.ReadTrajectories(bytes.NewReader(data), "bench.jsonl", train.ReadOptions{}, func(*train.Trajectory) error { return nil })
		if err != nil || st.Read != n {
			b.Fatalf("read %d of %d: %v", st.Read, n, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "trajectories/s")
}

func ExampleReadTrajectories() {
	task := &tasks.Task{ID: "demo/1", Benchmark: "demo", Domain: tasks.DomainMath, Query: "What is 6 times 7?", Gold: "42"}
	plan := topology.Plan{
		Mode:    topology.ModeIO,
		Agents:  []topology.AgentSpec{{Role: "Math Solver", Model: "gpt-4o-mini"}},
		Choices: []topology.Choice{{Stage: "mode", Value: "IO", LogProb: -0.5}},
	}
	var buf bytes.Buffer
	w := train.NewWriter(&buf)
	for i, score := range []float64{1, 0} {
		trace := &topology.Trace{
			Nodes: []topology.NodeTrace{
				{ID: "a0", Kind: topology.NodeAgent, Role: "Math Solver", Model: "gpt-4o-mini", PromptTokens: 50, CompletionTokens: 10, Dollars: 0.001},
				{ID: "decision", Kind: topology.NodeDecision},
			},
			Answer: fmt.Sprint(42 - i), Score: score, PromptTokens: 50, CompletionTokens: 10, Dollars: 0.001,
		}
		if err := w.Write(train.NewTrajectory(task, plan, trace, 100, "random", "", false)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Println(err)
		return
	}

	st, err := train.ReadTrajectories(&buf, "example.jsonl", train.ReadOptions{}, func(t *train.Trajectory) error {
		fmt.Printf("%s %s answer=%s score=%g reward=%g reward(λ=0)=%g\n", t.TaskID, t.Plan, t.Answer, t.Score, t.LoggedReward, t.Reward(0))
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("read", st.Read)
	// Output:
	// demo/1 IO[Math Solver@gpt-4o-mini] answer=42 score=1 reward=0.9 reward(λ=0)=1
	// demo/1 IO[Math Solver@gpt-4o-mini] answer=41 score=0 reward=-0.1 reward(λ=0)=0
	// read 2
}
