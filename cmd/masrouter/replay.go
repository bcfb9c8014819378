package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/internal/safefile"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/train"
)

// replayNote says what a replay report's numbers are.
const replayNote = "Replayed real recorded outcomes (agents/replay): correctness is what the real models did; dollars are estimates at the source's list prices."

func newEvalReplayCmd() *cobra.Command {
	var (
		source, benchmark string
		seed, splitSeed   int64
		trainFraction     float64
		kappas            string
		plot, md, out     string
		cfg               train.Config
		progress          bool
		encoder           string
		cost              string
		n                 int
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Train and measure routers on real recorded model outcomes (RouteLLM GPT-4 vs Mixtral; LLMRouter's 9 open models)",
		Long: `replay splits a recorded benchmark by question ID into a training part
(--train-fraction, 20 % by default) and a held-out part, trains the learned
router (the controller restricted to IO) on the training part at each cost
setting κ of --kappas, runs PickLLM's two online learners, the random router
and every model alone, and measures all of them on the held-out part.

--source routellm (GPT-4 vs Mixtral-8x7B on --benchmark gsm8k or mmlu)
prints RouteLLM's metrics — APGR, CPT(50 %), CPT(80 %) — beside the routers
RouteLLM published (labelled "published", with their training data) and
draws the call–performance curves (--plot). --source llmrouter (9 open
models, 14 tasks) prints quality and dollars per router beside the best
single model and the oracle, and draws the cost–quality plane.

κ is the quality a query must stand to gain for the dearest model to be
worth its price: the cost weight is λ = κ / (the dearest model's mean
dollars per training question).`,
		Example: `  masrouter eval replay --source routellm --benchmark gsm8k --plot gsm8k.png --md gsm8k.md
  masrouter eval replay --source routellm --benchmark mmlu --out mmlu.json
  masrouter eval replay --source llmrouter --plot llmrouter.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			def, ok := replayDefaults[source]
			if !ok {
				return fmt.Errorf("--source %q: want routellm or llmrouter", source)
			}
			if kappas == "" {
				kappas = def.kappas
			}
			if encoder == "" {
				encoder = def.encoder
			}
			if cfg.Entropy == 0 {
				cfg.Entropy = def.entropy
			}
			ks, err := parseKappas(kappas)
			if err != nil {
				return err
			}
			if n < 0 {
				return fmt.Errorf("--n %d: want 0 (every question) or more", n)
			}
			if !(trainFraction > 0 && trainFraction < 1) {
				return fmt.Errorf("--train-fraction %g: want a value in (0, 1)", trainFraction)
			}
			for _, f := range []struct{ flag, path string }{{"--plot", plot}, {"--md", md}, {"--out", out}} {
				if f.path != "" {
					if err := checkPath(f.flag, f.path); err != nil {
						return err
					}
				}
			}
			rc := train.ReplayConfig{N: n, TrainFraction: trainFraction, SplitSeed: splitSeed, Seed: seed, Kappas: ks, Train: cfg}
			switch {
			case cost == "call" || cost == "" && source == replay.SourceRouteLLM:
				u := replay.RouteLLMCallUsage()
				rc.CallUsage = &u
			case cost == "tokens" || cost == "":
			default:
				return fmt.Errorf("--cost %q: want call or tokens", cost)
			}
			switch encoder {
			case "hash":
				rc.Encoder = &routing.HashEncoder{}
			case "stats":
				rc.Encoder = &train.QueryStatsEncoder{}
			case "stats+hash":
				rc.Encoder = &train.QueryStatsEncoder{Base: &routing.HashEncoder{}}
			default:
				return fmt.Errorf("--encoder %q: want hash, stats or stats+hash", encoder)
			}
			switch source {
			case replay.SourceRouteLLM:
				if benchmark != "gsm8k" && benchmark != "mmlu" {
					return fmt.Errorf("--benchmark %q: want gsm8k or mmlu with --source routellm", benchmark)
				}
				rc.Data, err = replay.LoadRouteLLM(benchmark)
			case replay.SourceLLMRouter:
				if cmd.Flags().Changed("benchmark") {
					return fmt.Errorf("--benchmark applies only to --source routellm (llmrouter mixes 14 tasks)")
				}
				rc.Data, err = replay.LoadLLMRouter()
			}
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			if progress {
				rc.Progress = func(line string) { fmt.Fprintln(errw, line) }
			}
			rep, err := train.Replay(cmd.Context(), rc)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			var table string
			if rep.Strong != "" {
				printRouteLLM(w, rep)
				table = routeLLMMarkdown(rep)
			} else {
				printLLMRouter(w, rep)
				table = llmRouterMarkdown(rep)
			}
			if md != "" {
				if err := safefile.WriteFile(md, []byte(table), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(w, "\nwrote %s\n", md)
			}
			if plot != "" {
				if err := plotReplay(plot, rep); err != nil {
					return err
				}
				fmt.Fprintf(w, "wrote %s\n", plot)
			}
			if out != "" {
				data, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if err := safefile.WriteFile(out, append(data, '\n'), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(w, "report: %s\n", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", replay.SourceRouteLLM, "recorded source: routellm or llmrouter")
	f.StringVar(&benchmark, "benchmark", "gsm8k", "with --source routellm: gsm8k or mmlu")
	f.Int64Var(&seed, "seed", 1, "seed of the controllers, training, the random router and the bandits")
	f.Int64Var(&splitSeed, "split-seed", 1, "seed of the train/held-out split by question ID")
	f.IntVar(&n, "n", 0, "use a seeded sample of this many questions (0 means all), for a quick run")
	f.Float64Var(&trainFraction, "train-fraction", 0.2, "share of the questions the routers train on; the rest are held out")
	f.StringVar(&kappas, "kappas", "", "comma-separated cost settings κ (λ = κ / the dearest model's mean dollars per question); default "+replayDefaults["routellm"].kappas+" (routellm), "+replayDefaults["llmrouter"].kappas+" (llmrouter)")
	f.StringVar(&plot, "plot", "", "write the call–performance curves (routellm) or the cost–quality plane (llmrouter) as a PNG here")
	f.StringVar(&md, "md", "", "write the table as markdown here")
	f.StringVar(&out, "out", "", "write the JSON report here")
	f.IntVar(&cfg.Epochs, "epochs", 10, "training passes over the training part per κ")
	f.IntVar(&cfg.Samples, "samples", 8, "plans sampled per training question and update")
	f.IntVar(&cfg.BatchSize, "batch", 32, "training questions per update")
	f.Float64Var(&cfg.LearningRate, "lr", 0.03, "Adam step size")
	f.Float64Var(&cfg.Entropy, "entropy", 0, "entropy bonus; default 0.2 (routellm: keeps the policy's log-odds, the threshold router's score, proportional to the expected gain) or 0.05 (llmrouter: sharper choices among 9 models)")
	f.BoolVar(&progress, "progress", false, "print a line per finished step on stderr")
	f.StringVar(&cost, "cost", "", "how a call is priced: call (RouteLLM's App. D usage, 95 input and 264 output tokens per call, so cost counts strong calls; default for routellm) or tokens (estimated from the text; default for llmrouter)")
	f.StringVar(&encoder, "encoder", "", "query encoder of the learned router: hash (hashed words and trigrams), stats (a few text statistics and the header line) or stats+hash; default stats (routellm: a few hundred questions, so few features) or hash (llmrouter: the words tell the 14 tasks apart)")
	return cmd
}

// replayDefaults are the per-source defaults of --kappas, --encoder and
// --entropy. It is read-only.
var replayDefaults = map[string]struct {
	kappas, encoder string
	entropy         float64
}{
	replay.SourceRouteLLM:  {"0.05,0.1,0.15,0.2,0.25,0.3", "stats", 0.2},
	replay.SourceLLMRouter: {"0.02,0.04,0.06,0.08,0.1,0.15", "hash", 0.05},
}

func parseKappas(s string) ([]float64, error) {
	var out []float64
	for part := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("--kappas %q: %q is not a number ≥ 0", s, part)
		}
		out = append(out, v)
	}
	return out, nil
}

func pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100**p)
}

func num(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *p)
}

// replayRows are the table rows of a report: label, training condition and result.
type replayRow struct {
	label, trained string
	res            *train.ReplayResult
	pub            *train.PublishedRow
}

// replayKindOrder orders a RouteLLM table's rows by router kind.
var replayKindOrder = []string{train.ReplayThreshold, train.ReplayLearned, train.ReplayBandit, train.ReplayRandom, train.ReplaySingle, train.ReplayOracle}

func routeLLMRows(rep *train.ReplayReport) []replayRow {
	trained := fmt.Sprintf("%.0f%% of these questions (%d)", 100*rep.TrainFraction, rep.Train)
	var rows []replayRow
	order := make([]int, 0, len(rep.Results))
	for _, kind := range replayKindOrder {
		for i := range rep.Results {
			if rep.Results[i].Kind == kind {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		r := &rep.Results[i]
		row := replayRow{label: r.Router, res: r, trained: "—"}
		switch r.Kind {
		case train.ReplayLearned:
			row.label, row.trained = "masrouter (κ sweep, greedy)", trained
		case train.ReplayThreshold:
			row.trained = trained
		case train.ReplayBandit:
			row.label += " (κ sweep)"
			row.trained = "online, " + trained + " then held-out"
		case train.ReplaySingle:
			row.label += " alone"
		case train.ReplayOracle:
			row.label = "optimal (knows the outcomes)"
		}
		rows = append(rows, row)
	}
	for i := range rep.Published {
		p := &rep.Published[i]
		rows = append(rows, replayRow{label: "published: " + p.Router, trained: p.Training, pub: p})
	}
	return rows
}

func printRouteLLM(w io.Writer, rep *train.ReplayReport) {
	fmt.Fprintf(w, "RouteLLM %s: %s (strong) vs %s (weak), held-out %d of %d questions (train fraction %g, split seed %d, seed %d)\n",
		rep.Benchmark, rep.Strong, rep.Weak, rep.Test, rep.Train+rep.Test, rep.TrainFraction, rep.SplitSeed, rep.Seed)
	fmt.Fprintf(w, "held-out quality: strong %.2f%%, weak %.2f%%. %s %s\n\n", 100*rep.StrongQuality, 100*rep.WeakQuality, replayNote, costNote(rep))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "router\ttrained on\tAPGR\tCPT(50%)\tCPT(80%)\tquality\tstrong calls\t$/1k queries")
	for _, r := range routeLLMRows(rep) {
		if r.pub != nil {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.1f%%\t%.1f%%\t—\t—\t—\n", r.label, r.trained, r.pub.APGR, 100*r.pub.CPT50, 100*r.pub.CPT80)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f%%\t%s\t%.4g\n", r.label, r.trained, num(r.res.APGR), pct(r.res.CPT50), pct(r.res.CPT80),
			100*r.res.Quality, pct(r.res.StrongCalls), 1000*r.res.DollarsPerQuery)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nPublished rows are RouteLLM's own routers (paper Tables 1–3), trained on Chatbot Arena data (+ GPT-4 judge or MMLU validation labels), measured on all questions; ours train on the split shown.")
	fmt.Fprintln(w, "quality, strong calls and $ of a κ sweep are at its middle κ; routers without a score are measured on their sweep, anchored at each model alone.")
	printPoints(w, rep)
}

// costNote says how calls were priced.
func costNote(rep *train.ReplayReport) string {
	if rep.CallUsage != nil {
		return fmt.Sprintf("Every call is priced at %d input + %d output tokens (RouteLLM App. D), so dollars count strong calls.", rep.CallUsage.PromptTokens, rep.CallUsage.CompletionTokens)
	}
	return "Tokens are estimated from each call's text (agents.EstimateTokens)."
}

func printPoints(w io.Writer, rep *train.ReplayReport) {
	for _, r := range rep.Results {
		if len(r.Points) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s by κ:\n", r.Router)
		tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  κ\tλ\tquality\tstrong calls\t$/1k queries\tcalls by model")
		for _, p := range r.Points {
			fmt.Fprintf(tw, "  %g\t%.4g\t%.2f%%\t%s\t%.4g\t%s\n", p.Kappa, p.Lambda, 100*p.Quality, pct(p.StrongCalls), 1000*p.DollarsPerQuery, usage(p.Models))
		}
		tw.Flush()
	}
}

func usage(h map[string]int) string {
	var parts []string
	for _, k := range train.SortedKeys(h) {
		parts = append(parts, fmt.Sprintf("%s %d", k, h[k]))
	}
	return strings.Join(parts, ", ")
}

func routeLLMMarkdown(rep *train.ReplayReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# RouteLLM %s, replayed\n\n%s (strong) vs %s (weak). Held-out %d of %d questions (train fraction %g, split seed %d, seed %d); held-out quality: strong %.2f%%, weak %.2f%%. %s %s\n\n",
		rep.Benchmark, rep.Strong, rep.Weak, rep.Test, rep.Train+rep.Test, rep.TrainFraction, rep.SplitSeed, rep.Seed, 100*rep.StrongQuality, 100*rep.WeakQuality, replayNote, costNote(rep))
	b.WriteString("| router | trained on | APGR | CPT(50%) | CPT(80%) | quality | strong calls | $/1k queries |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range routeLLMRows(rep) {
		if r.pub != nil {
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.1f%% | %.1f%% | — | — | — |\n", r.label, r.trained, r.pub.APGR, 100*r.pub.CPT50, 100*r.pub.CPT80)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f%% | %s | %.4g |\n", r.label, r.trained, num(r.res.APGR), pct(r.res.CPT50), pct(r.res.CPT80),
			100*r.res.Quality, pct(r.res.StrongCalls), 1000*r.res.DollarsPerQuery)
	}
	b.WriteString("\nPublished rows are RouteLLM's own routers (paper Tables 1–3), trained on Chatbot Arena data (+ GPT-4 judge or MMLU validation labels) and measured on all questions.\n")
	return b.String()
}

// llmRouterRows orders an N-model report: routers, then the best single
// model, the other single models and the oracle.
func llmRouterRows(rep *train.ReplayReport) []replayRow {
	var rows, singles []replayRow
	var best, oracle replayRow
	for i := range rep.Results {
		r := &rep.Results[i]
		row := replayRow{label: r.Router, res: r, trained: "—"}
		switch r.Kind {
		case train.ReplayLearned:
			row.label = "masrouter (middle κ)"
			row.trained = fmt.Sprintf("%.0f%% (%d questions)", 100*rep.TrainFraction, rep.Train)
		case train.ReplayBandit:
			row.label += " (middle κ)"
			row.trained = "online"
		case train.ReplaySingle:
			if r.Router == rep.BestSingle {
				row.label = "best single: " + r.Router
				best = row
				continue
			}
			singles = append(singles, row)
			continue
		case train.ReplayOracle:
			oracle = row
			continue
		}
		rows = append(rows, row)
	}
	rows = append(rows, best)
	rows = append(rows, singles...)
	return append(rows, oracle)
}

func bestDollars(rep *train.ReplayReport) float64 {
	if r := rep.Result(rep.BestSingle); r != nil {
		return r.DollarsPerQuery
	}
	return math.NaN()
}

func printLLMRouter(w io.Writer, rep *train.ReplayReport) {
	fmt.Fprintf(w, "LLMRouter: %d open models on 14 tasks, held-out %d of %d questions (train fraction %g, split seed %d, seed %d)\n%s %s\n\n",
		len(rep.Models), rep.Test, rep.Train+rep.Test, rep.TrainFraction, rep.SplitSeed, rep.Seed, replayNote, costNote(rep))
	bd := bestDollars(rep)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "router\ttrained on\tquality\t$/1k queries\t% of best single's $\tarea")
	for _, r := range llmRouterRows(rep) {
		fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%.4g\t%.1f%%\t%s\n", r.label, r.trained, 100*r.res.Quality, 1000*r.res.DollarsPerQuery, 100*r.res.DollarsPerQuery/bd, num(r.res.Area))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nBest single = highest quality on the training part. area: the normalised area under the router's cost–quality curve between %s (cost 0) and %s (cost 1); 0.5 = mixing the two at random.\n", rep.Cheapest, rep.BestSingle)
	printPoints(w, rep)
}

func llmRouterMarkdown(rep *train.ReplayReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# LLMRouter, replayed\n\n%d open models on 14 tasks. Held-out %d of %d questions (train fraction %g, split seed %d, seed %d). %s %s\n\n",
		len(rep.Models), rep.Test, rep.Train+rep.Test, rep.TrainFraction, rep.SplitSeed, rep.Seed, replayNote, costNote(rep))
	bd := bestDollars(rep)
	b.WriteString("| router | trained on | quality | $/1k queries | % of best single's $ | area |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range llmRouterRows(rep) {
		fmt.Fprintf(&b, "| %s | %s | %.2f%% | %.4g | %.1f%% | %s |\n", r.label, r.trained, 100*r.res.Quality, 1000*r.res.DollarsPerQuery, 100*r.res.DollarsPerQuery/bd, num(r.res.Area))
	}
	for _, r := range rep.Results {
		if len(r.Points) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s by κ:\n\n| κ | λ | quality | $/1k queries | %% of best single's $ |\n|---:|---:|---:|---:|---:|\n", r.Router)
		for _, p := range r.Points {
			fmt.Fprintf(&b, "| %g | %.4g | %.2f%% | %.4g | %.1f%% |\n", p.Kappa, p.Lambda, 100*p.Quality, 1000*p.DollarsPerQuery, 100*p.DollarsPerQuery/bd)
		}
	}
	return b.String()
}

func plotReplay(path string, rep *train.ReplayReport) error {
	if rep.Strong != "" {
		var curves []train.NamedCurve
		for _, r := range rep.Results {
			if len(r.Curve) == 0 {
				continue
			}
			label := r.Router
			if len(r.Points) > 0 {
				label += " (κ sweep)"
			}
			curves = append(curves, train.NamedCurve{Label: label, Curve: r.Curve, Dashed: r.Kind == train.ReplayOracle || r.Kind == train.ReplayRandom})
		}
		title := fmt.Sprintf("RouteLLM %s, %d held-out questions (replayed real outcomes)", rep.Benchmark, rep.Test)
		return train.PlotCallCurves(path, title, curves, "Mixtral-8x7B", rep.WeakQuality, "GPT-4", rep.StrongQuality)
	}
	var pts []train.Point
	for _, r := range rep.Results {
		switch {
		case r.Kind == train.ReplayLearned:
			for _, p := range r.Points {
				pts = append(pts, train.Point{Label: "masrouter κ=" + strconv.FormatFloat(p.Kappa, 'g', -1, 64), Kind: train.KindRouter, Lambda: p.Lambda, Accuracy: p.Quality, DollarsPerQuery: p.DollarsPerQuery})
			}
		case r.Kind == train.ReplayBandit:
			for _, p := range r.Points {
				pts = append(pts, train.Point{Label: r.Router, Kind: r.Router, Accuracy: p.Quality, DollarsPerQuery: p.DollarsPerQuery})
			}
		case r.Kind == train.ReplaySingle:
			pts = append(pts, train.Point{Label: r.Router, Kind: train.KindSingle, Accuracy: r.Quality, DollarsPerQuery: r.DollarsPerQuery})
		case r.Kind == train.ReplayRandom:
			pts = append(pts, train.Point{Label: r.Router, Kind: train.KindRandom, Accuracy: r.Quality, DollarsPerQuery: r.DollarsPerQuery})
		default:
			pts = append(pts, train.Point{Label: r.Router, Kind: r.Kind, Accuracy: r.Quality, DollarsPerQuery: r.DollarsPerQuery})
		}
	}
	return train.PlotPareto(path, fmt.Sprintf("LLMRouter, %d held-out questions (replayed real outcomes; MasRouter points labelled by λ)", rep.Test), pts)
}
