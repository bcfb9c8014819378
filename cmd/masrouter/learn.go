package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/masrouter/masrouter/internal/safefile"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
	"github.com/masrouter/masrouter/train"
)

// splitFlags define the train/held-out split of a task set by task ID.
type splitFlags struct {
	task         string
	split        string
	testFraction float64
	splitSeed    int64
}

func (s *splitFlags) register(cmd *cobra.Command, defTask string) {
	cmd.Flags().StringVar(&s.task, "task", defTask, "benchmark (gsm8k, math, math500, mmlu, humaneval, mbpp) or a user tasks .jsonl file")
	cmd.Flags().StringVar(&s.split, "split", "test", "benchmark split to divide into training and held-out parts")
	cmd.Flags().Float64Var(&s.testFraction, "test-fraction", 0.8, "share of the split held out for evaluation (by task ID; MasRouter trains on 20 %)")
	cmd.Flags().Int64Var(&s.splitSeed, "split-seed", 1, "seed of the train/held-out split")
}

// parts loads the tasks and divides them into the training and held-out parts.
func (s *splitFlags) parts() (trainPart, heldOut []*tasks.Task, err error) {
	if s.testFraction <= 0 || s.testFraction >= 1 {
		return nil, nil, fmt.Errorf("--test-fraction %g: want a value in (0, 1)", s.testFraction)
	}
	all, err := loadTasks(s.task, s.split)
	if err != nil {
		return nil, nil, err
	}
	trainPart, heldOut = tasks.SplitByID(all, s.testFraction, s.splitSeed)
	if len(trainPart) == 0 || len(heldOut) == 0 {
		return nil, nil, fmt.Errorf("--task %s: %d tasks leave an empty part at --test-fraction %g", s.task, len(all), s.testFraction)
	}
	return trainPart, heldOut, nil
}

func newCollectCmd() *cobra.Command {
	var (
		ef      envFlags
		sf      splitFlags
		n       int
		samples int
		lambda  float64
		out     string
		noQuery bool
		part    string
	)
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Run a behaviour policy on tasks and log one trajectory per query (JSONL) for offline training",
		Example: `  masrouter collect --task gsm8k --n 300 --policy random --samples 4 --out traj.jsonl
  masrouter collect --task math --policy policy-math.json --out traj-math.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ef.validate(); err != nil {
				return err
			}
			if samples < 1 {
				return fmt.Errorf("--samples %d: want ≥ 1", samples)
			}
			if out == "" {
				out = fmt.Sprintf("trajectories-%s.jsonl", strings.TrimSuffix(filepath.Base(sf.task), ".jsonl"))
			}
			if err := checkOut(out); err != nil {
				return err
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			trainPart, heldOut, err := sf.parts()
			if err != nil {
				return err
			}
			ts := trainPart
			switch part {
			case "train":
			case "held-out":
				ts = heldOut
			case "all":
				ts = append(append([]*tasks.Task(nil), trainPart...), heldOut...)
			default:
				return fmt.Errorf("--part %s: want train, held-out or all", part)
			}
			ts = tasks.Sample(ts, n, ef.seed)
			policy := ef.policy
			ef.policy = ""
			e, err := newEnv(&ef, reg, ts)
			if err != nil {
				return err
			}
			var routers []routing.Router
			var features string
			if policy == "" || policy == "random" {
				for k := range samples {
					r, err := routing.NewRandom(e.pool, e.roles, ef.seed+int64(k), ef.maxAgents)
					if err != nil {
						return err
					}
					routers = append(routers, r)
				}
				policy = "random"
			} else {
				ef.policy = policy
				for k := range samples {
					f := ef
					f.seed = ef.seed + int64(k)
					ctrl, err := e.controller(&f, false)
					if err != nil {
						return err
					}
					routers = append(routers, ctrl)
					features = ctrl.FeaturesVersion()
				}
			}
			var n, failed int
			var score, dollars float64
			err = safefile.Write(out, 0o644, func(w io.Writer) error {
				bw := bufio.NewWriter(w)
				tw := train.NewWriter(bw)
				var werr error
				bar := newLazyBar(cmd.ErrOrStderr(), false, "collect")
				// Runs finish in any order; the file lists them task by
				// task, sample by sample, so a seed always writes the same
				// file (but for trajectory IDs and times). Evaluate starts
				// queries in that order, so only a few wait here.
				pending := map[int]*train.Trajectory{}
				next := 0
				_, err := train.Evaluate(cmd.Context(), e.exec, routers, ts, train.EvalOptions{
					Progress: bar.update,
					OnTrace: func(router, task int, t *tasks.Task, p topology.Plan, tr *topology.Trace) {
						var traj *train.Trajectory
						if tr != nil {
							traj = train.NewTrajectory(t, p, tr, lambda, policy, features, !noQuery)
						}
						pending[task*len(routers)+router] = traj
						for ; ; next++ {
							traj, ok := pending[next]
							if !ok {
								return
							}
							delete(pending, next)
							if traj == nil || werr != nil {
								continue
							}
							werr = tw.Write(traj)
							n++
							score += traj.Score
							dollars += traj.Dollars
							if traj.Err != "" {
								failed++
							}
						}
					},
				})
				bar.finish()
				if err != nil {
					return err
				}
				if werr != nil {
					return werr
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return bw.Flush()
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d trajectories from %d tasks of %s (%s part), policy %s: mean score %.3f, $%.6f per query, %d failed runs\nwrote %s\n",
				n, len(ts), taskLabel(sf.task, sf.split), part, policy, score/float64(max(n, 1)), dollars/float64(max(n, 1)), failed, out)
			return nil
		},
	}
	ef.register(cmd)
	sf.register(cmd, "gsm8k")
	cmd.Flags().Lookup("policy").Usage = `behaviour policy: "random" or a policy checkpoint (sampled)`
	cmd.Flags().Lookup("policy").DefValue = "random"
	cmd.Flags().IntVar(&n, "n", 0, "tasks to run (a seeded sample of the part); 0 means all")
	cmd.Flags().IntVar(&samples, "samples", 1, "plans sampled per task")
	cmd.Flags().Float64Var(&lambda, "lambda", 0, "cost weight recorded with each trajectory's reward (training may use another)")
	cmd.Flags().StringVar(&out, "out", "", "trajectory file (default trajectories-<task>.jsonl); written atomically")
	cmd.Flags().BoolVar(&noQuery, "no-query", false, "record only the query's SHA-256, not its text")
	cmd.Flags().StringVar(&part, "part", "train", "which part of the split to run: train, held-out or all")
	return cmd
}

// trainFlags are the optimiser's knobs.
type trainFlags struct {
	cfg        train.Config
	importance string
	restarts   int
	validation float64
}

func (t *trainFlags) register(cmd *cobra.Command) {
	cmd.Flags().Float64Var(&t.cfg.Lambda, "lambda", 10, "cost weight: reward = score − λ·dollars per query")
	cmd.Flags().IntVar(&t.cfg.Epochs, "epochs", 5, "passes over the training data")
	cmd.Flags().IntVar(&t.cfg.BatchSize, "batch", 32, "tasks (online) or trajectories (offline) per update")
	cmd.Flags().IntVar(&t.cfg.Samples, "samples", 4, "online: plans sampled per task and update (leave-one-out baseline when > 1)")
	cmd.Flags().Float64Var(&t.cfg.LearningRate, "lr", 0.03, "Adam learning rate")
	cmd.Flags().Float64Var(&t.cfg.Entropy, "entropy", 0.01, "entropy bonus coefficient")
	cmd.Flags().Float64Var(&t.cfg.ClipNorm, "clip-norm", 5, "gradient norm clip")
	cmd.Flags().StringVar(&t.importance, "importance", "clip", "offline importance weighting: clip or self-normalized")
	cmd.Flags().Float64Var(&t.cfg.ImportanceClip, "importance-clip", 10, "offline: largest importance weight (with --importance clip)")
	cmd.Flags().IntVar(&t.restarts, "restarts", 1, "online: train this many seeds (--seed, --seed+1, ...) and keep the policy with the best greedy reward on a validation slice of the training part")
	cmd.Flags().Float64Var(&t.validation, "validation", 0.25, "with --restarts > 1: share of the training part kept out of training to choose among the restarts")
}

// restartParts splits the training part into the tasks the restarts train
// on and the validation tasks that choose among them (by task ID, so the
// split is stable). The held-out part is never used.
func (t *trainFlags) restartParts(trainPart []*tasks.Task, seed int64) (fit, validate []*tasks.Task) {
	return tasks.SplitByID(trainPart, t.validation, seed^0x76616c6964)
}

// seeds lists the seeds of the restarts, starting at seed.
func (t *trainFlags) seeds(seed int64) []int64 {
	out := make([]int64, t.restarts)
	for i := range out {
		out[i] = seed + int64(i)
	}
	return out
}

// validate checks the optimiser's flags. The trainer reads a zero as "use
// the default", so a zero the user typed is refused rather than replaced.
func (t *trainFlags) validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case t.cfg.Lambda < 0 || !finite(t.cfg.Lambda):
		return fmt.Errorf("--lambda %g: want a finite value ≥ 0", t.cfg.Lambda)
	case t.cfg.Epochs < 1:
		return fmt.Errorf("--epochs %d: want ≥ 1", t.cfg.Epochs)
	case t.cfg.BatchSize < 1:
		return fmt.Errorf("--batch %d: want ≥ 1", t.cfg.BatchSize)
	case t.cfg.Samples < 1:
		return fmt.Errorf("--samples %d: want ≥ 1", t.cfg.Samples)
	case t.cfg.LearningRate <= 0 || !finite(t.cfg.LearningRate):
		return fmt.Errorf("--lr %g: want a finite value > 0", t.cfg.LearningRate)
	case t.cfg.Entropy <= 0 || !finite(t.cfg.Entropy):
		return fmt.Errorf("--entropy %g: want a finite value > 0 (the trainer reads 0 as its default)", t.cfg.Entropy)
	case t.cfg.ClipNorm <= 0 || !finite(t.cfg.ClipNorm):
		return fmt.Errorf("--clip-norm %g: want a finite value > 0", t.cfg.ClipNorm)
	case t.importance != string(train.ImportanceClip) && t.importance != string(train.ImportanceSelfNormalized):
		return fmt.Errorf("--importance %s: want %s or %s", t.importance, train.ImportanceClip, train.ImportanceSelfNormalized)
	case t.cfg.ImportanceClip < 1 || !finite(t.cfg.ImportanceClip):
		return fmt.Errorf("--importance-clip %g: want a finite value ≥ 1", t.cfg.ImportanceClip)
	case t.restarts < 1 || t.restarts > 64:
		return fmt.Errorf("--restarts %d: want 1..64", t.restarts)
	case t.validation <= 0 || t.validation >= 1:
		return fmt.Errorf("--validation %g: want a share in (0, 1)", t.validation)
	}
	return nil
}

// refuseFlags returns an error naming the first of the flags that was set
// on the command line: each applies only in another mode, described by where.
func refuseFlags(cmd *cobra.Command, where string, names ...string) error {
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s applies only %s", name, where)
		}
	}
	return nil
}

func newTrainCmd() *cobra.Command {
	var (
		ef      envFlags
		sf      splitFlags
		tf      trainFlags
		online  bool
		trajs   string
		skipBad bool
		n       int
		out     string
		logPath string
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Learn the router by policy gradient, online (run sampled plans) or offline (from logged trajectories)",
		Long: `train learns the cascaded controller's parameters by policy gradient on
reward = score − λ·dollars.

--online samples plans for the training part of --task (split by task ID,
--test-fraction held out), runs them, and updates the policy with Adam,
gradient clipping, an entropy bonus and a leave-one-out (or moving-average)
baseline.

--trajectories learns from a logged JSONL file instead, weighting each
logged plan by π_θ/π_behaviour (clipped, or self-normalised), so a log
collected by one policy improves another.

The policy is saved as a versioned checkpoint that run, route, bench, eval
and serve load with --policy.`,
		Example: `  masrouter train --task gsm8k --online --epochs 5 --lambda 20
  masrouter train --trajectories traj.jsonl --task gsm8k --lambda 20 --epochs 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if err := ef.validate(); err != nil {
				return err
			}
			if online == (trajs != "") {
				return fmt.Errorf("give exactly one of --online and --trajectories")
			}
			where, only := "with --trajectories", []string{"skip-bad", "importance", "importance-clip"}
			if !online {
				where, only = "with --online", []string{"n", "samples", "log", "restarts", "validation"}
			}
			if online && tf.restarts > 1 && logPath != "" {
				return fmt.Errorf("--log applies only with --restarts 1 (each restart would log its own runs)")
			}
			if err := refuseFlags(cmd, where, only...); err != nil {
				return err
			}
			if err := tf.validate(); err != nil {
				return err
			}
			tf.cfg.Importance = train.Importance(tf.importance)
			tf.cfg.Seed = ef.seed
			if out == "" {
				out = fmt.Sprintf("policy-%s.json", strings.TrimSuffix(filepath.Base(sf.task), ".jsonl"))
			}
			if err := checkOut(out); err != nil {
				return err
			}
			if logPath != "" {
				if err := checkPath("--log", logPath); err != nil {
					return err
				}
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			trainPart, heldOut, err := sf.parts()
			if err != nil {
				return err
			}
			if online {
				trainPart = tasks.Sample(trainPart, n, ef.seed)
			}
			w := cmd.OutOrStdout()
			tf.cfg.Progress = func(s train.EpochStats) {
				line := fmt.Sprintf("epoch %3d  reward %7.4f  score %.3f  $/query %.6f  entropy %5.2f  |grad| %.3f", s.Epoch, s.MeanReward, s.MeanScore, s.DollarsPerQuery, s.MeanEntropy, s.MeanGradNorm)
				if s.EffectiveSampleSize > 0 {
					line += fmt.Sprintf("  ESS %.3f", s.EffectiveSampleSize)
				}
				fmt.Fprintln(w, line)
			}
			info := train.TrainingInfo{Task: sf.task, Split: sf.split, TestFraction: sf.testFraction, SplitSeed: sf.splitSeed,
				Lambda: tf.cfg.Lambda, Epochs: tf.cfg.Epochs, Seed: ef.seed}
			var logs []train.Logged
			var envTasks []*tasks.Task
			if online {
				info.Mode = "online"
				envTasks = trainPart
			} else {
				info.Mode, info.Trajectories = "offline", trajs
				logs, err = loadLogged(cmd, trajs, skipBad, trainPart, heldOut, fmt.Sprintf("%s (test fraction %g, split seed %d)", taskLabel(sf.task, sf.split), sf.testFraction, sf.splitSeed))
				if err != nil {
					return err
				}
				for _, l := range logs {
					envTasks = append(envTasks, l.Task)
				}
			}
			e, err := newEnv(&ef, reg, envTasks)
			if err != nil {
				return err
			}
			ctrl, err := e.controller(&ef, false)
			if err != nil {
				return err
			}
			trainer, err := train.NewTrainer(ctrl, tf.cfg)
			if err != nil {
				return err
			}
			info.Config = trainer.Config()
			var hist []train.EpochStats
			if online {
				fmt.Fprintf(w, "online training on %d tasks of %s, λ=%g, %d epochs, %d samples per task (simulated pool)\n",
					len(trainPart), taskLabel(sf.task, sf.split), tf.cfg.Lambda, info.Config.Epochs, info.Config.Samples)
				if tf.restarts > 1 {
					build := func(seed int64) (*routing.Controller, error) {
						f := ef
						f.seed = seed
						return e.controller(&f, false)
					}
					fit, validate := tf.restartParts(trainPart, sf.splitSeed)
					fmt.Fprintf(w, "%d restarts, each trained on %d tasks and compared on %d validation tasks of the training part\n", tf.restarts, len(fit), len(validate))
					best, runs, err := train.OnlineRestarts(cmd.Context(), build, e.exec, fit, validate, tf.cfg, tf.seeds(ef.seed))
					if err != nil {
						return err
					}
					for _, r := range runs {
						fmt.Fprintf(w, "restart seed %d: greedy on the validation tasks %.1f%%, $%.6f per query, reward %.4f\n",
							r.Seed, 100*r.Selection.Accuracy, r.Selection.DollarsPerQuery, r.Reward)
					}
					info.Restarts = runs
					ctrl = best
					bestRun := runs[0]
					for _, r := range runs {
						if r.Reward > bestRun.Reward {
							bestRun = r
						}
					}
					hist = bestRun.History
					info.Seed = bestRun.Seed
					fmt.Fprintf(w, "kept seed %d\n", bestRun.Seed)
				} else {
					record, closeLog, err := trajectoryLog(logPath, tf.cfg.Lambda, ctrl.FeaturesVersion())
					if err != nil {
						return err
					}
					hist, err = trainer.Online(cmd.Context(), e.exec, trainPart, record)
					if cerr := closeLog(err == nil); err == nil {
						err = cerr
					}
					if err != nil {
						return err
					}
				}
				info.TrainTasks = len(trainPart)
			} else {
				fmt.Fprintf(w, "offline training on %d trajectories from %s, λ=%g, %d epochs, importance %s\n",
					len(logs), trajs, tf.cfg.Lambda, info.Config.Epochs, info.Config.Importance)
				hist, err = trainer.Offline(cmd.Context(), logs)
				if err != nil {
					return err
				}
				info.TrainTasks = len(logs)
			}
			info.History = hist
			info.Duration = time.Since(start)
			cp, err := train.NewCheckpoint(ctrl, info)
			if err != nil {
				return err
			}
			if err := cp.Save(out); err != nil {
				return err
			}
			fmt.Fprintf(w, "saved %s (%.1fs)\nevaluate it on the held-out part: masrouter eval --policy %s\n", out, time.Since(start).Seconds(), out)
			return nil
		},
	}
	ef.register(cmd)
	sf.register(cmd, "gsm8k")
	tf.register(cmd)
	cmd.Flags().BoolVar(&online, "online", false, "train by running sampled plans")
	cmd.Flags().StringVar(&trajs, "trajectories", "", "train offline from this trajectory log")
	cmd.Flags().BoolVar(&skipBad, "skip-bad", false, "offline: skip (and report) bad trajectory lines instead of stopping at the first")
	cmd.Flags().IntVar(&n, "n", 0, "online: training tasks to use (a seeded sample of the training part); 0 means all")
	cmd.Flags().StringVar(&out, "out", "", "policy checkpoint path (default policy-<task>.json); written atomically")
	cmd.Flags().StringVar(&logPath, "log", "", "online: also log every sampled run as a trajectory to this JSONL file")
	return cmd
}

// trajectoryLog returns a recorder writing trajectories to path (atomically,
// when closed with ok) or a no-op when path is empty.
func trajectoryLog(path string, lambda float64, features string) (func(*tasks.Task, topology.Plan, *topology.Trace), func(ok bool) error, error) {
	if path == "" {
		return nil, func(bool) error { return nil }, nil
	}
	if err := checkPath("--log", path); err != nil {
		return nil, nil, err
	}
	f, err := safefile.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--log: %w", err)
	}
	bw := bufio.NewWriter(f)
	tw := train.NewWriter(bw)
	var werr error
	record := func(t *tasks.Task, p topology.Plan, tr *topology.Trace) {
		if werr == nil {
			werr = tw.Write(train.NewTrajectory(t, p, tr, lambda, "masrouter", features, true))
		}
	}
	closeLog := func(ok bool) error {
		err := werr
		if err == nil {
			err = tw.Flush()
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil || !ok {
			f.Abort()
			return err
		}
		return f.Commit(0o644)
	}
	return record, closeLog, nil
}

// loadLogged reads a trajectory file into records the trainer uses. Each
// trajectory's task comes from the loaded task set by ID, or from the query
// text the trajectory carries. Bad lines stop the read unless skipBad, and
// every skipped line is reported on stderr.
func loadLogged(cmd *cobra.Command, path string, skipBad bool, known, heldOut []*tasks.Task, split string) ([]train.Logged, error) {
	byID := make(map[string]*tasks.Task, len(known))
	for _, t := range known {
		byID[t.ID] = t
	}
	held := make(map[string]bool, len(heldOut))
	for _, t := range heldOut {
		held[t.ID] = true
	}
	opt := train.ReadOptions{SkipBad: skipBad, OnBad: func(le *tasks.LineError) {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %v\n", le)
	}}
	ts, stats, err := train.LoadTrajectories(path, opt)
	if err != nil {
		return nil, fmt.Errorf("--trajectories: %w", err)
	}
	if stats.Skipped > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: skipped %d bad lines of %d\n", path, stats.Skipped, stats.Lines)
	}
	var out []train.Logged
	var unknown, leaked int
	for _, tr := range ts {
		if held[tr.TaskID] {
			leaked++
			continue
		}
		t := byID[tr.TaskID]
		if t == nil {
			if tr.Query == "" {
				unknown++
				continue
			}
			t = &tasks.Task{ID: tr.TaskID, Benchmark: tr.Benchmark, Domain: tr.Domain, Query: tr.Query}
		}
		out = append(out, train.Logged{Task: t, Plan: tr.Plan, BehaviourLogProb: tr.BehaviourLogProb, Score: tr.Score, Dollars: tr.Dollars})
	}
	if leaked > 0 {
		return nil, fmt.Errorf("--trajectories %s: %d trajectories are of tasks in the held-out part of %s; training on them would leak into evaluation (collect with --part train)", path, leaked, split)
	}
	if unknown > 0 {
		return nil, fmt.Errorf("--trajectories %s: %d trajectories carry no query text and their task IDs are not in the training part of --task; pass the --task they were collected on", path, unknown)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--trajectories %s: no trajectories", path)
	}
	return out, nil
}

func newEvalCmd() *cobra.Command {
	var (
		ef      envFlags
		sf      splitFlags
		tf      trainFlags
		n       int
		nTrain  int
		sweep   string
		plot    string
		md      string
		out     string
		methods string
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a trained policy on held-out questions, or sweep λ and draw the accuracy–cost Pareto front",
		Long: `eval --policy p.json evaluates the trained router (greedy decoding) on the
held-out part of the task it was trained on, beside static delegation and
every single model, and prints accuracy, dollars, dollars per correct answer
and the router's mode, role and model usage.

eval --sweep 0,5,10,20 trains one policy per λ online on the training part
and evaluates each on the held-out part, then draws the accuracy–cost
Pareto front (--plot, a PNG) beside static delegation and the single-model
points, and writes the same numbers as a markdown table (--md).`,
		Example: `  masrouter eval --policy policy-gsm8k.json
  masrouter eval --task math --sweep 2,5,10,20,50 --epochs 10 --plot pareto-math.png --md pareto-math.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ef.validate(); err != nil {
				return err
			}
			if (ef.policy == "") == (sweep == "") {
				return fmt.Errorf("give exactly one of --policy and --sweep")
			}
			err := refuseFlags(cmd, "to offline training (train --trajectories)", "importance", "importance-clip")
			if err == nil && ef.policy != "" {
				err = refuseFlags(cmd, "with --sweep", "plot", "md", "n-train", "lambda", "epochs", "batch", "samples", "lr", "entropy", "clip-norm", "restarts", "validation")
			}
			if err == nil && sweep != "" {
				err = refuseFlags(cmd, "with --policy", "out", "methods")
			}
			if err == nil {
				err = tf.validate()
			}
			if err != nil {
				return err
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			if ef.policy != "" {
				cp, err := train.ReadCheckpoint(ef.policy)
				if err != nil {
					return fmt.Errorf("--policy: %w", err)
				}
				// Evaluate on the checkpoint's held-out part unless the
				// flags say otherwise; another --task keeps the default split.
				changed := cmd.Flags().Changed
				if !changed("task") {
					sf.task = cp.Training.Task
					if !changed("split") {
						sf.split = cp.Training.Split
					}
				}
				if !changed("test-fraction") {
					sf.testFraction = cp.Training.TestFraction
				}
				if !changed("split-seed") {
					sf.splitSeed = cp.Training.SplitSeed
				}
			}
			trainPart, heldOut, err := sf.parts()
			if err != nil {
				return err
			}
			heldOut = tasks.Sample(heldOut, n, ef.seed)
			w := cmd.OutOrStdout()
			if ef.policy != "" {
				return evalPolicy(cmd, &ef, reg, sf, heldOut, methods, out)
			}
			lambdas, err := parseFloats("--sweep", sweep)
			if err != nil {
				return err
			}
			for _, p := range []struct{ flag, path string }{{"--md", md}, {"--plot", plot}} {
				if p.path == "" {
					continue
				}
				if err := checkPath(p.flag, p.path); err != nil {
					return err
				}
			}
			trainPart = tasks.Sample(trainPart, nTrain, ef.seed)
			e, err := newEnv(&ef, reg, append(append([]*tasks.Task(nil), trainPart...), heldOut...))
			if err != nil {
				return err
			}
			tf.cfg.Importance = train.Importance(tf.importance)
			tf.cfg.Seed = ef.seed
			points, err := sweepLambdas(cmd.Context(), w, e, &ef, &tf, sf.splitSeed, lambdas, trainPart, heldOut)
			if err != nil {
				return err
			}
			table := train.MarkdownTable(points)
			fmt.Fprintf(w, "\n%s: trained on %d tasks, evaluated on %d held-out tasks (simulated pool)\n\n%s", taskLabel(sf.task, sf.split), len(trainPart), len(heldOut), table)
			if md != "" {
				head := fmt.Sprintf("# Accuracy–cost front on %s\n\nTrained online on %d tasks per λ, evaluated on %d held-out tasks (split by task ID, test fraction %g, seed %d). %s\n\n",
					taskLabel(sf.task, sf.split), len(trainPart), len(heldOut), sf.testFraction, sf.splitSeed, simNote)
				if err := safefile.WriteFile(md, []byte(head+table), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(w, "\nwrote %s\n", md)
			}
			if plot != "" {
				title := fmt.Sprintf("%s held-out (%d questions, simulated pool)", taskLabel(sf.task, sf.split), len(heldOut))
				if err := train.PlotPareto(plot, title, points); err != nil {
					return err
				}
				fmt.Fprintf(w, "wrote %s\n", plot)
			}
			return nil
		},
	}
	ef.register(cmd)
	sf.register(cmd, "gsm8k")
	tf.register(cmd)
	cmd.Flags().IntVar(&n, "n", 0, "held-out tasks to evaluate on (a seeded sample); 0 means all")
	cmd.Flags().IntVar(&nTrain, "n-train", 0, "with --sweep: training tasks per policy (a seeded sample); 0 means all")
	cmd.Flags().StringVar(&sweep, "sweep", "", "comma-separated λ values to train and evaluate one policy each")
	cmd.Flags().StringVar(&plot, "plot", "", "with --sweep: write the Pareto front PNG here")
	cmd.Flags().StringVar(&md, "md", "", "with --sweep: write the markdown table here")
	cmd.Flags().StringVar(&out, "out", "", "with --policy: write the JSON report here")
	cmd.Flags().StringVar(&methods, "methods", "", "with --policy: methods to compare (default masrouter, static-delegation and every single model with CoT)")
	cmd.AddCommand(newEvalReplayCmd())
	return cmd
}

// evalReport is the JSON report eval --policy writes.
type evalReport struct {
	Version      int                  `json:"version"`
	Simulated    bool                 `json:"simulated"`
	Note         string               `json:"note"`
	Policy       string               `json:"policy"`
	Task         string               `json:"task"`
	Split        string               `json:"split,omitempty"`
	TestFraction float64              `json:"test_fraction"`
	SplitSeed    int64                `json:"split_seed"`
	N            int                  `json:"n"`
	Created      time.Time            `json:"created"`
	Results      []train.MethodResult `json:"results"`
}

// evalPolicy evaluates the --policy checkpoint greedily on the held-out
// tasks beside static delegation and the single models.
func evalPolicy(cmd *cobra.Command, ef *envFlags, reg *roles.Registry, sf splitFlags, heldOut []*tasks.Task, methods, out string) error {
	if out != "" {
		if err := checkOut(out); err != nil {
			return err
		}
	}
	e, err := newEnv(ef, reg, heldOut)
	if err != nil {
		return err
	}
	ctrl, err := e.controller(ef, true)
	if err != nil {
		return err
	}
	base, err := e.baselines(ef)
	if err != nil {
		return err
	}
	all := append([]routing.Router{ctrl}, base...)
	var routers []routing.Router
	if methods == "" {
		for _, r := range all {
			if r.Name() == "random" || strings.HasSuffix(r.Name(), "/IO") {
				continue
			}
			routers = append(routers, r)
		}
	} else if routers, err = selectMethods(all, "--methods", methods); err != nil {
		return err
	}
	bar := newLazyBar(cmd.ErrOrStderr(), false, "eval")
	res, err := train.Evaluate(cmd.Context(), e.exec, routers, heldOut, train.EvalOptions{Progress: bar.update})
	bar.finish()
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%s held-out part (%d questions; test fraction %g, split seed %d), policy %s. %s\n\n",
		taskLabel(sf.task, sf.split), len(heldOut), sf.testFraction, sf.splitSeed, ef.policy, simNote)
	printResults(w, res)
	var static *train.MethodResult
	for i := range res {
		if res[i].Method == "static-delegation" {
			static = &res[i]
		}
	}
	for _, r := range res {
		if r.Method != ctrl.Name() {
			continue
		}
		fmt.Fprintf(w, "\nmasrouter: %.1f%% accuracy, $%.6f per query, $%.6f per correct answer", 100*r.Accuracy, r.DollarsPerQuery, r.DollarsPerSolved)
		if static != nil && static.Dollars > 0 {
			fmt.Fprintf(w, "; %.1f%% of static delegation's dollars at %+.1f points", 100*r.Dollars/static.Dollars, 100*(r.Accuracy-static.Accuracy))
		}
		fmt.Fprintln(w)
		printUsage(w, r, 6)
	}
	if out != "" {
		rep := evalReport{Version: 1, Simulated: true, Note: simNote, Policy: ef.policy, Task: sf.task, Split: sf.split,
			TestFraction: sf.testFraction, SplitSeed: sf.splitSeed, N: len(heldOut), Created: time.Now().UTC(), Results: res}
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := safefile.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nreport: %s\n", out)
	}
	return nil
}

// sweepLambdas trains one policy per λ and evaluates it with the baselines.
func sweepLambdas(ctx context.Context, w io.Writer, e *env, ef *envFlags, tf *trainFlags, splitSeed int64, lambdas []float64, trainPart, heldOut []*tasks.Task) ([]train.Point, error) {
	cfg, seeds := tf.cfg, tf.seeds(ef.seed)
	var points []train.Point
	for _, l := range lambdas {
		build := func(seed int64) (*routing.Controller, error) {
			f := *ef
			f.policy, f.seed = "", seed
			return e.controller(&f, false)
		}
		c := cfg
		c.Lambda = l
		t0 := time.Now()
		fit, validate := trainPart, trainPart
		if len(seeds) > 1 {
			fit, validate = tf.restartParts(trainPart, splitSeed)
		}
		ctrl, _, err := train.OnlineRestarts(ctx, build, e.exec, fit, validate, c, seeds)
		if err != nil {
			return nil, err
		}
		res, err := train.Evaluate(ctx, e.exec, []routing.Router{ctrl.Greedily()}, heldOut, train.EvalOptions{})
		if err != nil {
			return nil, err
		}
		r := res[0]
		fmt.Fprintf(w, "λ=%-6g trained in %5.1fs: held-out accuracy %.1f%%, $%.6f per query, %.2f calls, top mode %s\n",
			l, time.Since(t0).Seconds(), 100*r.Accuracy, r.DollarsPerQuery, r.MeanAgents, first(train.SortedKeys(r.Modes)))
		points = append(points, train.Point{Label: "masrouter λ=" + strconv.FormatFloat(l, 'g', -1, 64), Kind: train.KindRouter, Lambda: l, Accuracy: r.Accuracy, DollarsPerQuery: r.DollarsPerQuery})
	}
	base, err := e.baselines(ef)
	if err != nil {
		return nil, err
	}
	var keep []routing.Router
	for _, b := range base {
		if b.Name() == "random" || strings.HasSuffix(b.Name(), "/IO") {
			continue
		}
		keep = append(keep, b)
	}
	res, err := train.Evaluate(ctx, e.exec, keep, heldOut, train.EvalOptions{})
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		kind := train.KindSingle
		if r.Method == "static-delegation" {
			kind = train.KindStatic
		}
		points = append(points, train.Point{Label: r.Method, Kind: kind, Accuracy: r.Accuracy, DollarsPerQuery: r.DollarsPerQuery})
	}
	return points, nil
}

func parseFloats(flag, s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s %s: %q is not a number ≥ 0", flag, s, part)
		}
		out = append(out, v)
	}
	return out, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// printUsage prints a router's mode, role and model histograms.
func printUsage(w io.Writer, r train.MethodResult, top int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range []struct {
		name string
		m    map[string]int
	}{{"modes", r.Modes}, {"roles", r.Roles}, {"models", r.Models}} {
		var total int
		for _, v := range h.m {
			total += v
		}
		keys := train.SortedKeys(h.m)
		if len(keys) > top {
			keys = keys[:top]
		}
		fmt.Fprintf(tw, "%s:", h.name)
		for _, k := range keys {
			fmt.Fprintf(tw, "\t%s %.0f%%", k, 100*float64(h.m[k])/float64(max(total, 1)))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
