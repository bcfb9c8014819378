package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/masrouter/masrouter/internal/safefile"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/train"
)

// benchReport is the JSON report bench writes.
type benchReport struct {
	Version   int                  `json:"version"`
	Simulated bool                 `json:"simulated"`
	Note      string               `json:"note"`
	Task      string               `json:"task"`
	Split     string               `json:"split,omitempty"` // empty for a user JSONL file
	N         int                  `json:"n"`
	Seed      int64                `json:"seed"`
	Policy    string               `json:"policy"`
	Created   time.Time            `json:"created"`
	Elapsed   float64              `json:"elapsed_seconds"`
	Pool      []poolEntry          `json:"pool"`
	Results   []train.MethodResult `json:"results"`
}

type poolEntry struct {
	Model            string  `json:"model"`
	InputPerMillion  float64 `json:"input_per_million"`
	OutputPerMillion float64 `json:"output_per_million"`
}

const simNote = "Models are simulated offline (agents/sim): accuracies calibrated to published single-model figures, replies built from the datasets' reference solutions. No LLM ran."

func newBenchCmd() *cobra.Command {
	var (
		ef       envFlags
		task     string
		split    string
		n        int
		out      string
		methods  string
		workers  int
		sample   bool
		progress bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Compare the router with static delegation and single models on a benchmark",
		Long: `bench runs every method on N questions of a benchmark and prints, per
method, accuracy, dollars (total, per query, per solved query), tokens,
mean agents per query and simulated latency, and writes a JSON report.

Methods: masrouter (the cascaded controller), static-delegation (a Chain of
4 roles all on the premium model), random, and each model alone with IO and
CoT. On code tasks (humaneval, mbpp) the score is pass@1: each answer's
program runs against the task's tests with python3 in a sandbox.`,
		Example: "  masrouter bench --task gsm8k --n 200\n  masrouter bench --task mmlu --n 500 --methods masrouter,static-delegation\n  masrouter bench --task mbpp --n 0",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if err := ef.validate(); err != nil {
				return err
			}
			if n < 0 {
				return fmt.Errorf("--n %d: want ≥ 0 (0 means every question)", n)
			}
			if workers < 0 {
				return fmt.Errorf("--workers %d: want ≥ 0 (0 means GOMAXPROCS)", workers)
			}
			if out != "" {
				if err := checkOut(out); err != nil {
					return err
				}
			}
			if _, err := splitMethods("--methods", methods); err != nil {
				return err
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			all, err := loadTasks(task, split)
			if err != nil {
				return err
			}
			ts := tasks.Sample(all, n, ef.seed)
			env, err := newEnv(&ef, reg, ts)
			if err != nil {
				return err
			}
			ctrl, err := env.controller(&ef, !sample)
			if err != nil {
				return err
			}
			base, err := env.baselines(&ef)
			if err != nil {
				return err
			}
			routers, err := selectMethods(append([]routing.Router{ctrl}, base...), "--methods", methods)
			if err != nil {
				return err
			}
			bar := newLazyBar(cmd.ErrOrStderr(), progress, "bench")
			res, err := train.Evaluate(cmd.Context(), env.exec, routers, ts, train.EvalOptions{Workers: workers, Progress: bar.update})
			bar.finish()
			if err != nil {
				return err
			}
			repSplit := split
			if isTaskFile(task) {
				repSplit = ""
			}
			rep := benchReport{
				Version: 1, Simulated: true, Note: simNote, Task: task, Split: repSplit, N: len(ts), Seed: ef.seed,
				Policy: ef.policyLabel(), Created: time.Now().UTC(), Elapsed: time.Since(start).Seconds(), Results: res,
			}
			for _, m := range env.pool.Models() {
				rep.Pool = append(rep.Pool, poolEntry{m.Name, m.Price.InputPerMillion, m.Price.OutputPerMillion})
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d questions, seed %d, policy %s. %s\n\n", taskLabel(task, split), len(ts), ef.seed, rep.Policy, simNote)
			printResultsAs(w, res, metricName(ts))
			if out == "" {
				// In the working directory, also when --task is a path.
				out = fmt.Sprintf("bench-%s-n%d-seed%d.json", strings.TrimSuffix(filepath.Base(task), ".jsonl"), len(ts), ef.seed)
			}
			data, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				return err
			}
			if err := safefile.WriteFile(out, append(data, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(w, "\nreport: %s (%.1fs)\n", out, time.Since(start).Seconds())
			return nil
		},
	}
	ef.register(cmd)
	cmd.Flags().StringVar(&task, "task", "gsm8k", "benchmark (gsm8k, math, math500, mmlu, humaneval, mbpp) or a user tasks .jsonl file")
	cmd.Flags().StringVar(&split, "split", "test", "benchmark split")
	cmd.Flags().IntVar(&n, "n", 200, "number of questions (a seeded sample); 0 means all")
	cmd.Flags().StringVar(&out, "out", "", "JSON report path (default bench-<task>-n<N>-seed<S>.json)")
	cmd.Flags().StringVar(&methods, "methods", "", "comma-separated method names to run (default all)")
	cmd.Flags().IntVar(&workers, "workers", 0, "queries run at once (default GOMAXPROCS)")
	cmd.Flags().BoolVar(&sample, "sample", false, "sample the router's plans instead of decoding greedily")
	cmd.Flags().BoolVar(&progress, "progress", false, "show a progress bar even when stderr is not a terminal")
	return cmd
}

// checkOut refuses a report path that cannot be written, before any work:
// a directory, or a file in a folder that does not exist.
func checkOut(out string) error { return checkPath("--out", out) }

// checkPath checks that the file flag names can be written: its folder
// exists and it is not itself a folder.
func checkPath(flag, path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("%s %s: is a directory; name a file", flag, path)
	}
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%s %s: %s is not a directory", flag, path, dir)
	}
	return nil
}

// splitMethods splits a comma-separated list of method names, refusing an
// empty name or a name given twice. flag names the flag, for errors.
func splitMethods(flag, list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("%s %q: empty method name", flag, list)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: method %q listed twice", flag, name)
		}
		seen[name] = true
		out = append(out, name)
	}
	return out, nil
}

// selectMethods returns the routers named in the comma-separated list, in
// its order, or all of them when the list is empty. flag names the flag the
// list came from, for errors.
func selectMethods(all []routing.Router, flag, list string) ([]routing.Router, error) {
	names, err := splitMethods(flag, list)
	if err != nil {
		return nil, err
	}
	if names == nil {
		return all, nil
	}
	by := map[string]routing.Router{}
	var have []string
	for _, r := range all {
		by[r.Name()] = r
		have = append(have, r.Name())
	}
	out := make([]routing.Router, 0, len(names))
	for _, name := range names {
		r, ok := by[name]
		if !ok {
			return nil, fmt.Errorf("%s: unknown method %q (have %s)", flag, name, strings.Join(have, ", "))
		}
		out = append(out, r)
	}
	return out, nil
}

func printResults(w io.Writer, res []train.MethodResult) { printResultsAs(w, res, "accuracy") }

// metricName names what a score means for ts: "pass@1" when every task is
// code judged by its tests, "accuracy" otherwise.
func metricName(ts []*tasks.Task) string {
	for _, t := range ts {
		if t.Domain != tasks.DomainCode {
			return "accuracy"
		}
	}
	return "pass@1"
}

// printResultsAs prints the comparison table, heading the score column metric.
func printResultsAs(w io.Writer, res []train.MethodResult, metric string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\t"+metric+"\t$ total\t$/query\t$/solved\ttokens\tagents\tlatency\tfailed\t")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.4f\t%.6f\t%.6f\t%d\t%.2f\t%.1fs\t%d\t\n",
			r.Method, 100*r.Accuracy, r.Dollars, r.DollarsPerQuery, r.DollarsPerSolved,
			r.PromptTokens+r.CompletionTokens, r.MeanAgents, r.MeanCriticalPath.Seconds(), r.Failed)
	}
	tw.Flush()
}

// lazyBar shows a progress bar only once a job has run for a second, and
// only on a terminal unless forced.
type lazyBar struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	desc  string
	start time.Time
	bar   *progressbar.ProgressBar
}

func newLazyBar(w io.Writer, force bool, desc string) *lazyBar {
	on := force
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		on = true
	}
	return &lazyBar{w: w, on: on, desc: desc, start: time.Now()}
}

func (b *lazyBar) update(done, total int) {
	if !b.on {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		if time.Since(b.start) < time.Second {
			return
		}
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(b.desc),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	_ = b.bar.Set(done)
}

func (b *lazyBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}
