package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/train"
)

// epochRe matches one line of train's per-epoch progress.
var epochRe = regexp.MustCompile(`(?m)^epoch +(\d+)  reward +(-?[0-9.]+)  score ([0-9.]+)  \$/query ([0-9.]+)  entropy +[0-9.]+  \|grad\| [0-9.]+(  ESS ([0-9.]+))?$`)

// trainOnline trains a policy on gsm8k online (40 tasks, 2 epochs, λ 20)
// into path with extra flags and returns train's output.
func trainOnline(t *testing.T, path string, extra ...string) result {
	t.Helper()
	args := append([]string{"train", "--task", "gsm8k", "--online", "--epochs", "2", "--n", "40", "--lambda", "20", "--out", path}, extra...)
	res := runCLI(t, args...)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	return res
}

// readCheckpoint parses a policy checkpoint as every command loads it.
func readCheckpoint(t *testing.T, path string) *train.Checkpoint {
	t.Helper()
	cp, err := train.ReadCheckpoint(path)
	require.NoError(t, err)
	return cp
}

// checkEpochs checks that stdout shows one progress line per epoch of the
// checkpoint's history, with the history's figures, and returns the lines'
// ESS fields (empty when not printed).
func checkEpochs(t *testing.T, stdout string, cp *train.Checkpoint) []string {
	t.Helper()
	lines := epochRe.FindAllStringSubmatch(stdout, -1)
	require.Len(t, lines, cp.Training.Epochs, "one line per epoch in:\n%s", stdout)
	require.Len(t, cp.Training.History, cp.Training.Epochs)
	var ess []string
	for i, m := range lines {
		h := cp.Training.History[i]
		assert.Equal(t, strconv.Itoa(i+1), m[1])
		assert.Equal(t, fmt.Sprintf("%.4f", h.MeanReward), m[2], "epoch %d reward", i+1)
		assert.Equal(t, fmt.Sprintf("%.3f", h.MeanScore), m[3], "epoch %d score", i+1)
		assert.Equal(t, fmt.Sprintf("%.6f", h.DollarsPerQuery), m[4], "epoch %d dollars", i+1)
		ess = append(ess, m[6])
	}
	return ess
}

// trainingPart returns the IDs of gsm8k/test's training part at the default
// test fraction and split seed.
func trainingPart(t *testing.T) map[string]bool {
	t.Helper()
	all, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	trainPart, heldOut := tasks.SplitByID(all, 0.8, 1)
	require.NotEmpty(t, heldOut)
	ids := map[string]bool{}
	for _, tk := range trainPart {
		ids[tk.ID] = true
	}
	return ids
}

// readEvalReport decodes an eval report, refusing fields the type lacks.
func readEvalReport(t *testing.T, path string) evalReport {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep evalReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), "report %s", path)
	return rep
}

// editJSON rewrites the JSON object in src with edit and writes it to dst.
func editJSON(t *testing.T, src, dst string, edit func(m map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	edit(m)
	data, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, 0o644))
}

// histogramLine returns the line of stdout that starts with name + ":".
func histogramLine(t *testing.T, stdout, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `:.*$`).FindString(stdout)
	require.NotEmpty(t, m, "no %s histogram in:\n%s", name, stdout)
	return m
}

func TestTrainOnlineAndUsePolicy(t *testing.T) {
	dir := parallelDir(t)
	policy := filepath.Join(dir, "p.json")
	res := trainOnline(t, policy)
	assert.Contains(t, res.stdout, "online training on 40 tasks of gsm8k/test, λ=20, 2 epochs, 4 samples per task")
	assert.Contains(t, res.stdout, "saved "+policy)
	assert.Empty(t, res.stderr)
	assert.Equal(t, []string{"p.json"}, listDir(t, dir))

	cp := readCheckpoint(t, policy)
	assert.Equal(t, "online", cp.Training.Mode)
	assert.Equal(t, "gsm8k", cp.Training.Task)
	assert.Equal(t, "test", cp.Training.Split)
	assert.Equal(t, 0.8, cp.Training.TestFraction)
	assert.Equal(t, int64(1), cp.Training.SplitSeed)
	assert.Equal(t, 20.0, cp.Training.Lambda)
	assert.Equal(t, 20.0, cp.Training.Config.Lambda)
	assert.Equal(t, 2, cp.Training.Epochs)
	assert.Equal(t, 4, cp.Training.Config.Samples)
	assert.Equal(t, 40, cp.Training.TrainTasks)
	assert.Empty(t, cp.Training.Trajectories)
	assert.NotEmpty(t, cp.FeaturesVersion)
	var pool []string
	for _, m := range cp.Pool {
		pool = append(pool, m.Name)
	}
	assert.Equal(t, simModels(t), pool)
	for i, line := range checkEpochs(t, res.stdout, cp) {
		assert.Empty(t, line, "epoch %d: online training prints no ESS", i+1)
		h := cp.Training.History[i]
		assert.Equal(t, 40*4, h.N, "epoch %d runs every task's samples", i+1)
		assert.Zero(t, h.Failed)
	}

	t.Run("eval", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "r.json")
		res := runCLI(t, "eval", "--policy", policy, "--n", "60", "--out", out)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		assert.Contains(t, res.stdout, "gsm8k/test held-out part (60 questions; test fraction 0.8, split seed 1), policy "+policy)
		assert.Contains(t, res.stdout, "report: "+out)

		rep := readEvalReport(t, out)
		assert.Equal(t, 1, rep.Version)
		assert.True(t, rep.Simulated)
		assert.Equal(t, policy, rep.Policy)
		assert.Equal(t, "gsm8k", rep.Task)
		assert.Equal(t, 0.8, rep.TestFraction)
		assert.Equal(t, 60, rep.N)
		want := []string{"masrouter", "static-delegation"}
		for _, m := range simModels(t) {
			want = append(want, "single/"+m+"/CoT")
		}
		var methods []string
		byName := map[string]train.MethodResult{}
		for _, r := range rep.Results {
			methods = append(methods, r.Method)
			byName[r.Method] = r
			checkResult(t, r, 60)
		}
		require.Equal(t, want, methods)
		checkTable(t, res.stdout, rep.Results)

		mr, static := byName["masrouter"], byName["static-delegation"]
		assert.Contains(t, res.stdout, fmt.Sprintf("\nmasrouter: %.1f%% accuracy, $%.6f per query, $%.6f per correct answer; %.1f%% of static delegation's dollars at %+.1f points\n",
			100*mr.Accuracy, mr.DollarsPerQuery, mr.DollarsPerSolved, 100*mr.Dollars/static.Dollars, 100*(mr.Accuracy-static.Accuracy)))
		for _, h := range []struct {
			name string
			m    map[string]int
		}{{"modes", mr.Modes}, {"roles", mr.Roles}, {"models", mr.Models}} {
			line := histogramLine(t, res.stdout, h.name)
			require.NotEmpty(t, h.m, h.name)
			var total int
			for _, v := range h.m {
				total += v
			}
			top := train.SortedKeys(h.m)[0]
			assert.Contains(t, line, fmt.Sprintf("%s %.0f%%", top, 100*float64(h.m[top])/float64(total)), h.name)
		}
		var modes int
		for _, v := range mr.Modes {
			modes += v
		}
		assert.Equal(t, 60, modes, "one mode per question")
	})

	t.Run("eval flags override the checkpoint's split", func(t *testing.T) {
		t.Parallel()
		res := runCLI(t, "eval", "--policy", policy, "--n", "5", "--test-fraction", "0.5", "--split-seed", "2", "--methods", "masrouter")
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		assert.Contains(t, res.stdout, "held-out part (5 questions; test fraction 0.5, split seed 2)")

		res = runCLI(t, "eval", "--policy", policy, "--test-fraction", "0")
		assert.Equal(t, 1, res.code)
		assert.Contains(t, res.stderr, "--test-fraction 0: want a value in (0, 1)")
	})

	t.Run("run", func(t *testing.T) {
		t.Parallel()
		task := benchTask(t, "gsm8k", "test", 5)
		plans := map[string]string{}
		for _, tt := range []struct{ name, seed, policy string }{
			{"trained", "5", policy},
			{"untrained", "5", ""},
		} {
			args := []string{"run", "--task", "gsm8k", "--index", "5", "--seed", tt.seed}
			if tt.policy != "" {
				args = append(args, "--policy", tt.policy)
			}
			res := runCLI(t, args...)
			require.Equal(t, 0, res.code, "%s: stderr: %s", tt.name, res.stderr)
			agents := checkPlan(t, res.stdout, task, "masrouter")
			checkTrace(t, res.stdout, agents)
			plans[tt.name] = planRe.FindStringSubmatch(res.stdout)[1]
		}
		assert.NotEqual(t, plans["untrained"], plans["trained"], "the policy, not the seed's random initialisation, picks the plan")
	})

	t.Run("bench", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "b.json")
		res := runCLI(t, "bench", "--task", "gsm8k", "--n", "10", "--policy", policy, "--out", out)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		rep, _ := readReport(t, out)
		assert.Equal(t, "trained ("+policy+")", rep.Policy)
		assert.Contains(t, res.stdout, "policy trained ("+policy+")")
		require.NotEmpty(t, rep.Results)
		assert.Equal(t, "masrouter", rep.Results[0].Method)
		checkResult(t, rep.Results[0], 10)
	})

	t.Run("determinism and the run log", func(t *testing.T) {
		// The same command again, logging every sampled run: the log must
		// not change what is learnt.
		t.Parallel()
		d := t.TempDir()
		log := filepath.Join(d, "online.jsonl")
		trainOnline(t, filepath.Join(d, "again.json"), "--log", log)
		assert.Equal(t, []string{"again.json", "online.jsonl"}, listDir(t, d), "no temporary file is left")
		again := readCheckpoint(t, filepath.Join(d, "again.json"))
		assert.Equal(t, string(cp.Params), string(again.Params), "the same command twice trains the same parameters")
		assert.Equal(t, cp.Training.History, again.Training.History)

		trs, stats, err := train.LoadTrajectories(log, train.ReadOptions{})
		require.NoError(t, err)
		assert.Zero(t, stats.Skipped)
		require.Len(t, trs, 2*40*4, "epochs × tasks × samples")
		inTrain := trainingPart(t)
		perTask := map[string]int{}
		var score, dollars float64
		for _, tr := range trs {
			perTask[tr.TaskID]++
			assert.True(t, inTrain[tr.TaskID], "%s is in the training part", tr.TaskID)
			assert.Equal(t, "masrouter", tr.Policy)
			assert.Equal(t, cp.FeaturesVersion, tr.FeaturesVersion)
			assert.Equal(t, 20.0, tr.Lambda)
			assert.NotEmpty(t, tr.Query)
			score += tr.Score
			dollars += tr.Dollars
		}
		assert.Len(t, perTask, 40)
		for id, n := range perTask {
			assert.Equal(t, 2*4, n, "runs of %s", id)
		}
		var hScore, hDollars float64
		for _, h := range cp.Training.History {
			hScore += h.MeanScore * float64(h.N)
			hDollars += h.DollarsPerQuery * float64(h.N)
		}
		assert.InDelta(t, hScore, score, 1e-6, "the log holds the runs the trainer scored")
		assert.InDelta(t, hDollars, dollars, 1e-9)
	})

	t.Run("collect with the policy", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "t.jsonl")
		res := runCLI(t, "collect", "--task", "gsm8k", "--n", "10", "--samples", "2", "--policy", policy, "--out", out)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		assert.Contains(t, res.stdout, "20 trajectories from 10 tasks of gsm8k/test (train part), policy "+policy)
		trs, stats, err := train.LoadTrajectories(out, train.ReadOptions{})
		require.NoError(t, err)
		assert.Zero(t, stats.Skipped)
		require.Len(t, trs, 20)
		for _, tr := range trs {
			assert.Equal(t, cp.FeaturesVersion, tr.FeaturesVersion)
			assert.Equal(t, policy, tr.Policy)
			assert.Negative(t, tr.BehaviourLogProb, "a sampled plan's log-probability")
		}
	})

	t.Run("pool or features changed", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name string
			edit func(m map[string]any)
			want []string
			// allowLoads says whether --allow-new-models then loads it.
			allowLoads bool
		}{
			{
				name: "model renamed",
				edit: func(m map[string]any) {
					m["pool"].([]any)[0].(map[string]any)["name"] = "gemini-9"
				},
				want:       []string{"pool differs", "added gemini-1.5-flash; removed gemini-9", "--allow-new-models"},
				allowLoads: true,
			},
			{
				name: "features version",
				edit: func(m map[string]any) { m["features_version"] = "hash-v0/8" },
				want: []string{"features_version", `"hash-v0/8"`, "retrain"},
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				d := t.TempDir()
				edited := filepath.Join(d, "edited.json")
				editJSON(t, policy, edited, tt.edit)
				out := filepath.Join(d, "r.json")
				res := runCLI(t, "eval", "--policy", edited, "--n", "5", "--methods", "masrouter", "--out", out)
				assert.Equal(t, 1, res.code)
				assert.Empty(t, res.stdout)
				assert.Contains(t, res.stderr, "masrouter: --policy: "+edited+": ")
				for _, w := range tt.want {
					assert.Contains(t, res.stderr, w)
				}
				assert.Equal(t, []string{"edited.json"}, listDir(t, d), "nothing is written")

				res = runCLI(t, "eval", "--policy", edited, "--n", "5", "--methods", "masrouter", "--allow-new-models", "--out", out)
				if !tt.allowLoads {
					assert.Equal(t, 1, res.code)
					assert.Contains(t, res.stderr, "features_version")
					assert.Equal(t, []string{"edited.json"}, listDir(t, d), "nothing is written")
					return
				}
				require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
				rep := readEvalReport(t, out)
				require.Len(t, rep.Results, 1)
				assert.Equal(t, "masrouter", rep.Results[0].Method)
				checkResult(t, rep.Results[0], 5)
			})
		}
	})
}

// collectRandom logs 60 trajectories of the random policy on 30 training
// tasks of gsm8k into path.
func collectRandom(t *testing.T, path string, extra ...string) result {
	t.Helper()
	args := append([]string{"collect", "--task", "gsm8k", "--n", "30", "--samples", "2", "--policy", "random", "--lambda", "5", "--out", path}, extra...)
	res := runCLI(t, args...)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	return res
}

func TestCollectAndTrainOffline(t *testing.T) {
	dir := parallelDir(t)
	log := filepath.Join(dir, "t.jsonl")
	res := collectRandom(t, log)
	assert.Contains(t, res.stdout, "60 trajectories from 30 tasks of gsm8k/test (train part), policy random")
	assert.Contains(t, res.stdout, "wrote "+log)

	trs, stats, err := train.LoadTrajectories(log, train.ReadOptions{})
	require.NoError(t, err)
	assert.Zero(t, stats.Skipped)
	assert.Equal(t, 60, stats.Lines)
	require.Len(t, trs, 60)
	inTrain := trainingPart(t)
	perTask := map[string]int{}
	for _, tr := range trs {
		perTask[tr.TaskID]++
		assert.True(t, inTrain[tr.TaskID], "%s is in the training part", tr.TaskID)
		assert.Equal(t, "random", tr.Policy)
		assert.Equal(t, 5.0, tr.Lambda)
		assert.Empty(t, tr.FeaturesVersion, "the random policy encodes no features")
		assert.NotEmpty(t, tr.Query)
		assert.Equal(t, train.QuerySHA256(tr.Query), tr.QuerySHA256)
		assert.InDelta(t, tr.Score-5*tr.Dollars, tr.LoggedReward, 1e-9)
	}
	assert.Len(t, perTask, 30)
	for id, n := range perTask {
		assert.Equal(t, 2, n, "samples of %s", id)
	}
	lines := strings.Split(strings.TrimSuffix(readString(t, log), "\n"), "\n")
	require.Len(t, lines, 60)

	t.Run("train offline", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "p2.json")
		res := runCLI(t, "train", "--trajectories", log, "--task", "gsm8k", "--epochs", "3", "--lambda", "20", "--out", out)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		assert.Empty(t, res.stderr)
		assert.Contains(t, res.stdout, "offline training on 60 trajectories from "+log+", λ=20, 3 epochs, importance clip")
		cp := readCheckpoint(t, out)
		assert.Equal(t, "offline", cp.Training.Mode)
		assert.Equal(t, log, cp.Training.Trajectories)
		assert.Equal(t, 20.0, cp.Training.Lambda)
		assert.Equal(t, 60, cp.Training.TrainTasks)
		for i, ess := range checkEpochs(t, res.stdout, cp) {
			h := cp.Training.History[i]
			require.NotEmpty(t, ess, "epoch %d prints ESS", i+1)
			assert.Equal(t, fmt.Sprintf("%.3f", h.EffectiveSampleSize), ess)
			assert.Greater(t, h.EffectiveSampleSize, 0.0)
			assert.LessOrEqual(t, h.EffectiveSampleSize, 1.0)
			assert.Equal(t, 60, h.N)
		}
	})

	for _, tt := range []struct {
		name   string
		break3 func(t *testing.T, line string) string
		want   string // after "file:3: "
		skip   bool   // also train with --skip-bad
	}{
		{
			name:   "broken JSON",
			break3: func(_ *testing.T, line string) string { return line[:len(line)/2] },
			want:   "json: ",
		},
		{
			name: "score out of range",
			break3: func(t *testing.T, line string) string {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &m))
				m["score"] = 7
				data, err := json.Marshal(m)
				require.NoError(t, err)
				return string(data)
			},
			want: "score: 7 is outside [0, 1]",
			skip: true,
		},
		{
			name: "unknown field",
			break3: func(_ *testing.T, line string) string {
				return strings.Replace(line, `"policy":`, `"polcy":"x","policy":`, 1)
			},
			want: "polcy: unknown field",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := t.TempDir()
			bad := make([]string, len(lines))
			copy(bad, lines)
			bad[2] = tt.break3(t, bad[2])
			require.NotEqual(t, lines[2], bad[2])
			path := writeFile(t, d, "bad.jsonl", strings.Join(bad, "\n")+"\n")
			out := filepath.Join(d, "p.json")
			args := []string{"train", "--trajectories", path, "--task", "gsm8k", "--epochs", "1", "--out", out}

			res := runCLI(t, args...)
			assert.Equal(t, 1, res.code)
			assert.Empty(t, res.stdout)
			assert.Contains(t, res.stderr, "masrouter: --trajectories: "+path+":3: "+tt.want)
			assert.Equal(t, []string{"bad.jsonl"}, listDir(t, d), "no checkpoint is written")

			if !tt.skip {
				return
			}
			res = runCLI(t, append(args, "--skip-bad")...)
			require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
			assert.True(t, strings.HasPrefix(res.stderr, "skipped "+path+":3: "+tt.want), "stderr: %s", res.stderr)
			assert.Contains(t, res.stderr, path+": skipped 1 bad lines of 60\n")
			assert.Equal(t, 1, strings.Count(res.stderr, "skipped "+path+":"), "only line 3 is bad")
			assert.Contains(t, res.stdout, "offline training on 59 trajectories")
			cp := readCheckpoint(t, out)
			assert.Equal(t, 59, cp.Training.TrainTasks)
		})
	}
}

// readString returns the contents of a file.
func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func TestCollectWithoutQueries(t *testing.T) {
	dir := parallelDir(t)
	log := filepath.Join(dir, "t.jsonl")
	res := runCLI(t, "collect", "--task", "gsm8k", "--n", "10", "--no-query", "--out", log)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	assert.Contains(t, res.stdout, "10 trajectories from 10 tasks of gsm8k/test (train part), policy random")
	assert.NotContains(t, readString(t, log), `"query":`)
	trs, _, err := train.LoadTrajectories(log, train.ReadOptions{})
	require.NoError(t, err)
	require.Len(t, trs, 10)
	all, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	queries := map[string]string{}
	for _, tk := range all {
		queries[tk.ID] = tk.Query
	}
	for _, tr := range trs {
		assert.Empty(t, tr.Query)
		assert.Equal(t, train.QuerySHA256(queries[tr.TaskID]), tr.QuerySHA256, "the hash of %s's query", tr.TaskID)
	}

	t.Run("task given", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "p.json")
		res := runCLI(t, "train", "--trajectories", log, "--task", "gsm8k", "--epochs", "2", "--out", out)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		assert.Contains(t, res.stdout, "offline training on 10 trajectories")
		assert.Equal(t, 10, readCheckpoint(t, out).Training.TrainTasks)
	})

	t.Run("tasks not available", func(t *testing.T) {
		t.Parallel()
		d := t.TempDir()
		res := runCLI(t, "train", "--trajectories", log, "--task", "math", "--epochs", "2", "--out", filepath.Join(d, "p.json"))
		assert.Equal(t, 1, res.code)
		assert.Empty(t, res.stdout)
		assert.Contains(t, res.stderr, "--trajectories "+log+": 10 trajectories carry no query text and their task IDs are not in the training part of --task; pass the --task they were collected on")
		assert.Empty(t, listDir(t, d))
	})
}

func TestEvalSweep(t *testing.T) {
	dir := parallelDir(t)
	plot, md := filepath.Join(dir, "f.png"), filepath.Join(dir, "f.md")
	res := runCLI(t, "eval", "--task", "gsm8k", "--sweep", "10,40", "--epochs", "2", "--n-train", "40", "--n", "60", "--plot", plot, "--md", md)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	assert.Regexp(t, `(?m)^λ=10 +trained in +[0-9.]+s: held-out accuracy [0-9.]+%, \$[0-9.]+ per query`, res.stdout)
	assert.Regexp(t, `(?m)^λ=40 +trained in +[0-9.]+s: held-out accuracy [0-9.]+%, \$[0-9.]+ per query`, res.stdout)
	assert.Contains(t, res.stdout, "gsm8k/test: trained on 40 tasks, evaluated on 60 held-out tasks")
	assert.Equal(t, []string{"f.md", "f.png"}, listDir(t, dir))

	f, err := os.Open(plot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Greater(t, img.Bounds().Dx(), 100)
	assert.Greater(t, img.Bounds().Dy(), 100)

	table := readString(t, md)
	assert.True(t, strings.HasPrefix(table, "# Accuracy–cost front on gsm8k/test\n"))
	assert.Contains(t, table, "Trained online on 40 tasks per λ, evaluated on 60 held-out tasks")
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			rows[strings.TrimSpace(cells[1])] = line
		}
	}
	want := []string{"masrouter λ=10", "masrouter λ=40", "static-delegation"}
	for _, m := range simModels(t) {
		want = append(want, "single/"+m+"/CoT")
	}
	for _, w := range want {
		assert.Contains(t, rows, w, "row of the markdown table")
		assert.Contains(t, res.stdout, rows[w], "stdout prints the same table")
	}
	assert.Regexp(t, `\| masrouter λ=40 \| router \| 40 \| [0-9.]+ \| [0-9.]+ \| (yes|no) \|`, rows["masrouter λ=40"])
	assert.Len(t, rows, len(want)+2, "the header, its rule and one row per point")
}

// TestLearnBadInput runs each bad command of collect, train and eval in its
// own directory ("{dir}" in args and want) and checks that it exits 1
// naming the flag and writes nothing.
func TestLearnBadInput(t *testing.T) {
	t.Parallel()
	// files are written in a case's directory first.
	files := map[string]map[string]string{
		"eval policy that is not a checkpoint": {"t.jsonl": `{"v": 1}` + "\n"},
		"sweep markdown path is a folder":      {"reports/keep": ""},
	}
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"train neither mode", []string{"train", "--task", "gsm8k", "--out", "{dir}/p.json"}, []string{"give exactly one of --online and --trajectories"}},
		{"train both modes", []string{"train", "--online", "--trajectories", "{dir}/t.jsonl", "--out", "{dir}/p.json"}, []string{"give exactly one of --online and --trajectories"}},
		{"train test fraction 0", []string{"train", "--online", "--test-fraction", "0", "--out", "{dir}/p.json"}, []string{"--test-fraction 0: want a value in (0, 1)"}},
		{"train test fraction 1.5", []string{"train", "--online", "--test-fraction", "1.5", "--out", "{dir}/p.json"}, []string{"--test-fraction 1.5: want a value in (0, 1)"}},
		{"train missing trajectories", []string{"train", "--trajectories", "{dir}/t.jsonl", "--out", "{dir}/p.json"}, []string{"--trajectories", "{dir}/t.jsonl", "no such file"}},
		{"train zero epochs", []string{"train", "--online", "--epochs", "0", "--out", "{dir}/p.json"}, []string{"--epochs 0: want ≥ 1"}},
		{"train negative lambda", []string{"train", "--online", "--lambda", "-1", "--out", "{dir}/p.json"}, []string{"--lambda -1"}},
		{"train zero entropy", []string{"train", "--online", "--entropy", "0", "--out", "{dir}/p.json"}, []string{"--entropy 0"}},
		{"train unknown importance", []string{"train", "--trajectories", "{dir}/t.jsonl", "--importance", "full", "--out", "{dir}/p.json"}, []string{"--importance full: want clip or self-normalized"}},
		{"train skip-bad online", []string{"train", "--online", "--skip-bad", "--out", "{dir}/p.json"}, []string{"--skip-bad applies only with --trajectories"}},
		{"train log offline", []string{"train", "--trajectories", "{dir}/t.jsonl", "--log", "{dir}/l.jsonl", "--out", "{dir}/p.json"}, []string{"--log applies only with --online"}},
		{"train n offline", []string{"train", "--trajectories", "{dir}/t.jsonl", "--n", "5", "--out", "{dir}/p.json"}, []string{"--n applies only with --online"}},
		{"train log in a missing folder", []string{"train", "--online", "--n", "2", "--epochs", "1", "--log", "{dir}/nodir/l.jsonl", "--out", "{dir}/p.json"}, []string{"--log {dir}/nodir/l.jsonl", "no such file"}},
		{"sweep plot in a missing folder", []string{"eval", "--sweep", "5", "--plot", "{dir}/nodir/f.png"}, []string{"--plot {dir}/nodir/f.png", "no such file"}},
		{"sweep markdown path is a folder", []string{"eval", "--sweep", "5", "--md", "{dir}/reports"}, []string{"--md {dir}/reports: is a directory"}},
		{"eval neither mode", []string{"eval"}, []string{"give exactly one of --policy and --sweep"}},
		{"eval both modes", []string{"eval", "--policy", "{dir}/p.json", "--sweep", "5"}, []string{"give exactly one of --policy and --sweep"}},
		{"eval sweep not a number", []string{"eval", "--sweep", "5,abc"}, []string{`--sweep 5,abc: "abc" is not a number ≥ 0`}},
		{"eval sweep negative", []string{"eval", "--sweep", "-1"}, []string{`--sweep -1: "-1" is not a number ≥ 0`}},
		{"eval missing policy", []string{"eval", "--policy", "{dir}/missing.json", "--out", "{dir}/r.json"}, []string{"--policy", "{dir}/missing.json", "no such file"}},
		{"eval policy that is not a checkpoint", []string{"eval", "--policy", "{dir}/t.jsonl"}, []string{"--policy: read checkpoint {dir}/t.jsonl", `unknown field "v"`}},
		{"eval plot with policy", []string{"eval", "--policy", "{dir}/p.json", "--plot", "{dir}/f.png"}, []string{"--plot applies only with --sweep"}},
		{"eval epochs with policy", []string{"eval", "--policy", "{dir}/p.json", "--epochs", "3"}, []string{"--epochs applies only with --sweep"}},
		{"eval out with sweep", []string{"eval", "--sweep", "5", "--out", "{dir}/r.json"}, []string{"--out applies only with --policy"}},
		{"eval importance", []string{"eval", "--sweep", "5", "--importance", "clip"}, []string{"--importance applies only to offline training"}},
		{"allow-new-models without policy", []string{"eval", "--sweep", "5", "--allow-new-models"}, []string{"--allow-new-models applies only with --policy"}},
		{"collect unknown part", []string{"collect", "--part", "middle", "--out", "{dir}/t.jsonl"}, []string{"--part middle: want train, held-out or all"}},
		{"collect zero samples", []string{"collect", "--samples", "0", "--out", "{dir}/t.jsonl"}, []string{"--samples 0: want ≥ 1"}},
		{"collect test fraction 1", []string{"collect", "--test-fraction", "1", "--out", "{dir}/t.jsonl"}, []string{"--test-fraction 1: want a value in (0, 1)"}},
		{"collect missing policy", []string{"collect", "--policy", "{dir}/missing.json", "--n", "2", "--out", "{dir}/t.jsonl"}, []string{"--policy", "{dir}/missing.json", "no such file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := parallelDir(t)
			inDir := func(s string) string {
				return strings.ReplaceAll(s, "{dir}/", filepath.ToSlash(dir)+"/")
			}
			var args []string
			for _, a := range tt.args {
				require.False(t, strings.Contains(inDir(a), "{dir}"), "write {dir}/name, never {dir} alone: %s", a)
				args = append(args, inDir(a))
			}
			for name, data := range files[tt.name] {
				writeFile(t, dir, name, data)
			}
			before := listDir(t, dir)
			res := runCLI(t, args...)
			assert.Equal(t, 1, res.code)
			assert.Empty(t, res.stdout)
			assert.Regexp(t, `^masrouter: `, res.stderr)
			for _, w := range tt.want {
				assert.Contains(t, res.stderr, inDir(w))
			}
			assert.Equal(t, before, listDir(t, dir), "nothing is written")
		})
	}
}

// TestOfflineRefusesHeldOutTrajectories: a log of held-out tasks must not
// train a policy that is then evaluated on those same tasks.
func TestOfflineRefusesHeldOutTrajectories(t *testing.T) {
	dir := parallelDir(t)
	log := filepath.Join(dir, "held.jsonl")
	res := runCLI(t, "collect", "--task", "gsm8k", "--n", "6", "--part", "held-out", "--out", log)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
	out := filepath.Join(dir, "p.json")
	res = runCLI(t, "train", "--trajectories", log, "--task", "gsm8k", "--epochs", "2", "--out", out)
	assert.Equal(t, 1, res.code)
	assert.Contains(t, res.stderr, "6 trajectories are of tasks in the held-out part of gsm8k/test (test fraction 0.8, split seed 1)")
	assert.NoFileExists(t, out)
}

// TestCollectIsDeterministic runs the same collection twice: the files list
// the same runs in the same order (task by task, sample by sample), though
// the runs finish concurrently in any order; only IDs and times differ.
func TestCollectIsDeterministic(t *testing.T) {
	dir := parallelDir(t)
	var runs [2][]*train.Trajectory
	for i := range runs {
		log := filepath.Join(dir, fmt.Sprintf("t%d.jsonl", i))
		res := runCLI(t, "collect", "--task", "gsm8k", "--n", "40", "--samples", "6", "--out", log)
		require.Equal(t, 0, res.code, "stderr: %s", res.stderr)
		trs, _, err := train.LoadTrajectories(log, train.ReadOptions{})
		require.NoError(t, err)
		require.Len(t, trs, 240)
		runs[i] = trs
	}
	for k := range runs[0] {
		a, b := *runs[0][k], *runs[1][k]
		assert.NotEqual(t, a.ID, b.ID)
		a.ID, b.ID = "", ""
		a.Time = b.Time
		require.Equal(t, a, b, "line %d", k+1)
	}
	// Lines come task by task: each task's samples are adjacent.
	seen := map[string]bool{}
	for k, tr := range runs[0] {
		if k > 0 && runs[0][k-1].TaskID == tr.TaskID {
			continue
		}
		assert.False(t, seen[tr.TaskID], "task %s appears in two runs of lines", tr.TaskID)
		seen[tr.TaskID] = true
	}
	assert.Len(t, seen, 40)
}
