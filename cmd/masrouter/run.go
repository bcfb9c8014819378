package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// queryFlags select the one task run and route work on.
type queryFlags struct {
	task   string
	split  string
	index  int
	domain string
	gold   string
	scorer string
	router string
}

func (q *queryFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&q.task, "task", "", "take the question from this benchmark (gsm8k, math, math500, mmlu, humaneval, mbpp) or .jsonl file")
	cmd.Flags().StringVar(&q.split, "split", "test", "benchmark split for --task")
	cmd.Flags().IntVar(&q.index, "index", 0, "0-based index of the question in --task")
	cmd.Flags().StringVar(&q.domain, "domain", "math", "domain of a question given as an argument (math, commonsense, code)")
	cmd.Flags().StringVar(&q.gold, "gold", "", "gold answer of a question given as an argument, to score the reply")
	cmd.Flags().StringVar(&q.scorer, "scorer", "", "scorer for --gold (default: math for math, mmlu for commonsense)")
	cmd.Flags().StringVar(&q.router, "router", "masrouter", "router: masrouter, static-delegation, random, or single/<model>/<IO|CoT>")
}

// resolve returns the task the flags and arguments name; changed reports
// whether the user set a flag. A question typed on the command line that is
// also a benchmark question gets that question's gold answer and scorer.
// Flags that do not apply to the chosen form are refused, not ignored.
func (q *queryFlags) resolve(args []string, changed func(flag string) bool) (*tasks.Task, error) {
	if q.task != "" {
		if len(args) > 0 {
			return nil, fmt.Errorf("give either a question or --task, not both")
		}
		for _, f := range []string{"domain", "gold", "scorer"} {
			if changed(f) {
				return nil, fmt.Errorf("--%s applies to a question given as an argument, not to --task", f)
			}
		}
		ts, err := loadTasks(q.task, q.split)
		if err != nil {
			return nil, err
		}
		if q.index < 0 || q.index >= len(ts) {
			return nil, fmt.Errorf("--index %d: %s has questions 0..%d", q.index, taskLabel(q.task, q.split), len(ts)-1)
		}
		return ts[q.index], nil
	}
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return nil, fmt.Errorf("give one question as an argument, or --task and --index")
	}
	for _, f := range []string{"split", "index"} {
		if changed(f) {
			return nil, fmt.Errorf("--%s applies only with --task", f)
		}
	}
	d, err := tasks.ParseDomain(q.domain)
	if err != nil {
		return nil, fmt.Errorf("--domain: %w", err)
	}
	name := q.scorer
	switch {
	case name != "" && q.gold == "":
		return nil, fmt.Errorf("--scorer %s: give --gold too; the scorer compares the reply with it", name)
	case name == "":
		name = map[tasks.Domain]string{tasks.DomainMath: "math", tasks.DomainCommonsense: "mmlu", tasks.DomainCode: "exact"}[d]
	}
	sc, err := tasks.ScorerByName(name)
	if err != nil {
		return nil, fmt.Errorf("--scorer: %w", err)
	}
	if q.gold != "" && !sc.Equivalent(q.gold, q.gold) {
		return nil, fmt.Errorf("--gold %q is not an answer the %s scorer can compare", q.gold, name)
	}
	query := strings.TrimSpace(args[0])
	t, err := findBenchmarkQuestion(d, query)
	if err != nil {
		return nil, err
	}
	if t != nil {
		// The benchmark's own gold and scorer apply; a --gold that
		// disagrees with them is a mistake worth reporting.
		if changed("scorer") && q.scorer != t.Scorer.Name() {
			return nil, fmt.Errorf("--scorer %s: the question is %s, scored by %s", q.scorer, t.ID, t.Scorer.Name())
		}
		if q.gold != "" && !t.Scorer.Equivalent(q.gold, t.Gold) {
			return nil, fmt.Errorf("--gold %q: the question is %s, whose gold answer is %q", q.gold, t.ID, t.Gold)
		}
		return t, nil
	}
	sum := sha256.Sum256([]byte(query))
	return &tasks.Task{ID: "cli/" + hex.EncodeToString(sum[:6]), Benchmark: "cli", Domain: d, Query: query, Gold: q.gold, Scorer: sc}, nil
}

// findBenchmarkQuestion returns the shipped benchmark question of domain d
// whose text is query, or nil. Sets are searched in order (the test split
// first; the large GSM8K train split last) and the search stops at the
// first match.
func findBenchmarkQuestion(d tasks.Domain, query string) (*tasks.Task, error) {
	var sets [][2]string
	switch d {
	case tasks.DomainMath:
		sets = [][2]string{{"gsm8k", "test"}, {"math", "test"}, {"gsm8k", "train"}}
	case tasks.DomainCommonsense:
		sets = [][2]string{{"mmlu", "test"}, {"mmlu", "dev"}}
	}
	for _, s := range sets {
		ts, err := tasks.Load(s[0], s[1])
		if err != nil {
			return nil, fmt.Errorf("look the question up in %s/%s: %w", s[0], s[1], err)
		}
		for _, t := range ts {
			if strings.TrimSpace(t.Query) == query {
				return t, nil
			}
		}
	}
	return nil, nil
}

// pickRouter returns the router --router names.
func pickRouter(e *env, ef *envFlags, name string) (routing.Router, error) {
	ctrl, err := e.controller(ef, true)
	if err != nil {
		return nil, err
	}
	base, err := e.baselines(ef)
	if err != nil {
		return nil, err
	}
	rs, err := selectMethods(append([]routing.Router{ctrl}, base...), "--router", name)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

func newRunCmd() *cobra.Command {
	var (
		ef   envFlags
		qf   queryFlags
		full bool
	)
	cmd := &cobra.Command{
		Use:   "run [question]",
		Short: "Route one question, run the plan, and show every agent's reply, the answer and its cost",
		Example: `  masrouter run --task gsm8k --index 3
  masrouter run "Janet's ducks lay 16 eggs per day. ..." --domain math
  masrouter run --task mmlu --index 100 --router static-delegation`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ef.validate(); err != nil {
				return err
			}
			if strings.Contains(qf.router, ",") {
				return fmt.Errorf("--router %q: name one router", qf.router)
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			t, err := qf.resolve(args, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			e, err := newEnv(&ef, reg, []*tasks.Task{t})
			if err != nil {
				return err
			}
			r, err := pickRouter(e, &ef, qf.router)
			if err != nil {
				return err
			}
			plan, err := r.Route(cmd.Context(), t)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := printPlan(w, t, r.Name(), plan); err != nil {
				return err
			}
			tr, runErr := e.exec.Run(cmd.Context(), plan, t)
			printTrace(w, t, tr, full)
			return runErr
		},
	}
	ef.register(cmd)
	qf.register(cmd)
	cmd.Flags().BoolVar(&full, "full", false, "print whole replies and prompts instead of the first lines")
	return cmd
}

func newRouteCmd() *cobra.Command {
	var (
		ef envFlags
		qf queryFlags
	)
	cmd := &cobra.Command{
		Use:     "route [question]",
		Short:   "Show the plan the router chooses for one question, with each decision's probability, without running it",
		Example: "  masrouter route --task math --index 7",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ef.validate(); err != nil {
				return err
			}
			if strings.Contains(qf.router, ",") {
				return fmt.Errorf("--router %q: name one router", qf.router)
			}
			reg, err := ef.loadRoles()
			if err != nil {
				return err
			}
			t, err := qf.resolve(args, cmd.Flags().Changed)
			if err != nil {
				return err
			}
			e, err := newEnv(&ef, reg, []*tasks.Task{t})
			if err != nil {
				return err
			}
			r, err := pickRouter(e, &ef, qf.router)
			if err != nil {
				return err
			}
			plan, err := r.Route(cmd.Context(), t)
			if err != nil {
				return err
			}
			return printPlan(cmd.OutOrStdout(), t, r.Name(), plan)
		},
	}
	ef.register(cmd)
	qf.register(cmd)
	return cmd
}

func printPlan(w io.Writer, t *tasks.Task, router string, p topology.Plan) error {
	fmt.Fprintf(w, "Question (%s):\n%s\n\n", t.ID, indent(t.Query, "  "))
	fmt.Fprintf(w, "Router: %s\nPlan:   %s   (log-prob %.3f)\n", router, p.String(), p.LogProb())
	for _, c := range p.Choices {
		label := c.Stage
		if c.Stage == "role" || c.Stage == "model" {
			label = fmt.Sprintf("%s[%d]", c.Stage, c.Index)
		}
		fmt.Fprintf(w, "  %-9s %-32s p=%.3f\n", label, c.Value, expProb(c.LogProb))
	}
	d, err := topology.Build(p)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDAG (Graphviz DOT):\n%s\n", indent(strings.TrimSpace(d.DOT()), "  "))
	return nil
}

func printTrace(w io.Writer, t *tasks.Task, tr *topology.Trace, full bool) {
	if tr == nil {
		return
	}
	fmt.Fprintf(w, "\nAgents:\n")
	for _, n := range tr.Nodes {
		head := fmt.Sprintf("[%s] %s", n.ID, n.Kind)
		if n.Role != "" {
			head += " " + n.Role
		}
		if n.Model != "" {
			head += fmt.Sprintf(" on %s: %d in / %d out tokens, $%.6f, %.1fs simulated", n.Model, n.PromptTokens, n.CompletionTokens, n.Dollars, n.ReportedLatency.Seconds())
		}
		fmt.Fprintln(w, head)
		if n.Error != "" {
			label := "error"
			if n.Skipped {
				label = "skipped"
			}
			fmt.Fprintf(w, "  %s: %s\n", label, n.Error)
		}
		if n.Reply != "" {
			fmt.Fprintln(w, indent(clip(n.Reply, full), "  | "))
		}
		if n.Feedback != "" {
			fmt.Fprintf(w, "  %s\n", n.Feedback)
		}
	}
	fmt.Fprintf(w, "\nAnswer: %s\n", orNone(tr.Answer))
	switch {
	case t.Domain == tasks.DomainCode && t.Gold != "":
		fmt.Fprintf(w, "Score:  %.0f (pass@1: the task's hidden tests, run in the sandbox)\n", tr.Score)
	case t.Gold == "":
		fmt.Fprintln(w, "Score:  not scored (no gold answer; pass --gold)")
	default:
		fmt.Fprintf(w, "Score:  %.0f (gold %s)\n", tr.Score, t.Gold)
	}
	fmt.Fprintf(w, "Cost:   $%.6f, %d tokens (%d in, %d out), %d model calls, %.1fs critical path (simulated latency)\n",
		tr.Dollars, tr.PromptTokens+tr.CompletionTokens, tr.PromptTokens, tr.CompletionTokens, tr.Agents(), tr.CriticalPath.Seconds())
	if tr.Err != "" {
		fmt.Fprintf(w, "Error:  %s\n", tr.Err)
	}
	switch {
	case t.Benchmark != "cli":
	case t.Gold == "":
		fmt.Fprintln(w, "\nNote: the offline simulator only answers questions in its answer key (the built-in benchmarks);")
		fmt.Fprintln(w, "use --task/--index for a benchmark question, or pass --gold to simulate replies against your answer.")
	default:
		fmt.Fprintln(w, "\nNote: this is not a benchmark question; the simulated replies were drawn against the --gold you gave.")
	}
}

func clip(s string, full bool) string {
	if full {
		return s
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 8 {
		lines = append(lines[:4], fmt.Sprintf("... (%d more lines; --full shows all)", len(lines)-7), lines[len(lines)-3], lines[len(lines)-2], lines[len(lines)-1])
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func expProb(lp float64) float64 { return math.Exp(lp) }
