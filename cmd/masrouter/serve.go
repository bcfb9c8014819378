package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/server"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
	"github.com/masrouter/masrouter/train"
)

// serveFlags are serve's flags.
type serveFlags struct {
	pool            string
	policies        []string
	allowNew        bool
	addr            string
	lambda          float64
	budget          float64
	tokenEnv        string
	maxBody         int64
	shutdownTimeout time.Duration
	domain          string
	maxTokens       int
	rolesDir        string
	seed            int64
	maxAgents       int
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the router behind an OpenAI-compatible HTTP API",
		Long: `serve answers POST /v1/chat/completions like an OpenAI endpoint: each
request's user messages are routed by the controller, the chosen multi-agent
plan runs on the pool, and the reply carries the whole plan's usage and a
"masrouter" object (mode, roles, models, dollars, trace id, every attempt).
Ask for model "masrouter", or "masrouter:<λ>" to set the cost weight of one
request. GET /v1/models, GET /healthz and GET /metrics (Prometheus) too.

Without --pool the pool is the offline simulator's seven models. Without
--policy the controller is untrained (random initialisation). Stop with
Ctrl-C: in-flight requests are drained first.`,
		Example: `  masrouter serve --pool examples/pool.sim.yaml
  masrouter serve --pool examples/pool.replay.yaml
  masrouter serve --pool pool.yaml --policy policy.json --allow-new-models --token-env MASROUTER_TOKEN
  masrouter serve --policy 0=cheap.json --policy 50=dear.json --lambda 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.pool, "pool", "", "pool file (see examples/pool.sim.yaml, examples/pool.replay.yaml, examples/pool.openai.yaml); default the simulated pool")
	fl.StringArrayVar(&f.policies, "policy", nil, "trained policy checkpoint, or λ=checkpoint; repeat to serve one policy per λ (requests use the nearest)")
	fl.BoolVar(&f.allowNew, "allow-new-models", false, "load --policy into a pool that adds or drops models (scored from their descriptions, no retraining)")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fl.Float64Var(&f.lambda, "lambda", 0, "cost weight λ of requests for plain \"masrouter\" (default: the first policy's λ)")
	fl.Float64Var(&f.budget, "budget", 0, "per-query dollar budget; 0 means none")
	fl.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding the bearer token clients must send; default no auth")
	fl.Int64Var(&f.maxBody, "max-body", server.DefaultMaxBodyBytes, "largest request body, in bytes")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long to drain in-flight requests on shutdown")
	fl.StringVar(&f.domain, "domain", "math", "domain of requests without masrouter_domain (math, commonsense, code)")
	fl.IntVar(&f.maxTokens, "max-tokens", topology.DefaultMaxTokens, "cap on each agent's completion")
	fl.StringVar(&f.rolesDir, "roles", "", "folder of extra role profiles (*.yaml) to add to the built-in ones")
	fl.Int64Var(&f.seed, "seed", 1, "seed of the untrained controller and of the default simulated pool")
	fl.IntVar(&f.maxAgents, "max-agents", routing.DefaultMaxAgents, "most agents an untrained controller's plans may use")
	return cmd
}

func (f *serveFlags) validate(changed func(string) bool) error {
	switch {
	case f.budget < 0 || math.IsNaN(f.budget) || math.IsInf(f.budget, 0):
		return fmt.Errorf("--budget %g: want a dollar amount ≥ 0 (0 means no budget)", f.budget)
	case changed("lambda") && (f.lambda < 0 || !(f.lambda <= server.MaxLambda)):
		return fmt.Errorf("--lambda %g: want a value in [0, %g]", f.lambda, server.MaxLambda)
	case f.maxBody <= 0:
		return fmt.Errorf("--max-body %d: want a positive number of bytes", f.maxBody)
	case f.shutdownTimeout <= 0:
		return fmt.Errorf("--shutdown-timeout %v: want a positive duration", f.shutdownTimeout)
	case f.maxTokens <= 0:
		return fmt.Errorf("--max-tokens %d: want a positive number", f.maxTokens)
	case f.maxAgents < 2 || f.maxAgents > routing.MaxAgentsLimit:
		return fmt.Errorf("--max-agents %d: want 2..%d", f.maxAgents, routing.MaxAgentsLimit)
	case f.allowNew && len(f.policies) == 0:
		return fmt.Errorf("--allow-new-models applies only with --policy")
	case len(f.policies) > 0 && changed("max-agents"):
		return fmt.Errorf("--max-agents applies only to an untrained controller; a policy keeps its own")
	}
	if _, err := tasks.ParseDomain(f.domain); err != nil {
		return fmt.Errorf("--domain: %w", err)
	}
	for _, spec := range f.policies {
		if _, _, _, err := parsePolicySpec(spec); err != nil {
			return err
		}
	}
	return nil
}

func runServe(ctx context.Context, cmd *cobra.Command, f *serveFlags) error {
	changed := func(name string) bool { return cmd.Flags().Changed(name) }
	if err := f.validate(changed); err != nil {
		return err
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	token := ""
	if f.tokenEnv != "" {
		token = strings.TrimSpace(os.Getenv(f.tokenEnv))
		if token == "" {
			return fmt.Errorf("--token-env %s: the environment variable is not set or empty", f.tokenEnv)
		}
	}
	reg, err := (&envFlags{rolesDir: f.rolesDir}).loadRoles()
	if err != nil {
		return err
	}
	// Listen first, so a bad or busy address is reported before the pool
	// is built.
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", f.addr, err)
	}
	defer ln.Close()
	pool, source, err := servePool(ctx, f, reg)
	if err != nil {
		return err
	}
	policies, err := servePolicies(f, pool, reg)
	if err != nil {
		return err
	}
	cfg := server.Config{
		Pool: pool, Roles: reg, Policies: policies, DefaultDomain: tasks.Domain(f.domain),
		Budget: f.budget, MaxTokens: f.maxTokens, MaxBodyBytes: f.maxBody, Token: token,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if changed("lambda") {
		cfg.DefaultLambda = &f.lambda
	}
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	describe(stdout, ln.Addr().String(), pool, source, policies, token != "")
	return srv.Serve(ctx, ln, f.shutdownTimeout)
}

// servePool loads --pool, or builds the simulated pool.
func servePool(ctx context.Context, f *serveFlags, reg *roles.Registry) (*agents.Pool, string, error) {
	opts := agents.PoolFileOptions{Providers: map[string]agents.ProviderFactory{
		agents.ProviderSim:    sim.PoolProvider(sim.Config{Roles: reg}),
		agents.ProviderReplay: replay.PoolProvider(),
	}}
	if f.pool != "" {
		pool, err := agents.LoadPoolFile(ctx, f.pool, opts)
		if err != nil {
			return nil, "", fmt.Errorf("--pool: %w", err)
		}
		return pool, f.pool, nil
	}
	cat, err := sim.DefaultCatalog()
	if err != nil {
		return nil, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sim: {seed: %d}\nmodels:\n", f.seed)
	for _, m := range cat.Models {
		fmt.Fprintf(&b, "  - {name: %s, provider: sim}\n", m.Name)
	}
	pf, err := agents.ParsePoolFile("(simulated pool)", []byte(b.String()))
	if err != nil {
		return nil, "", err
	}
	pool, err := pf.Build(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return pool, "the simulated pool", nil
}

// servePolicies loads every --policy, or makes an untrained controller.
func servePolicies(f *serveFlags, pool *agents.Pool, reg *roles.Registry) ([]server.Policy, error) {
	if len(f.policies) == 0 {
		ctrl, err := routing.NewController(routing.ControllerConfig{Pool: pool, Roles: reg, Seed: f.seed, Greedy: true, MaxAgents: f.maxAgents})
		if err != nil {
			return nil, err
		}
		return []server.Policy{{Name: "untrained", Lambda: 0, Controller: ctrl}}, nil
	}
	var out []server.Policy
	seen := map[float64]string{}
	for _, spec := range f.policies {
		lambda, path, hasLambda, err := parsePolicySpec(spec)
		if err != nil {
			return nil, err
		}
		ctrl, cp, err := train.LoadPolicy(path, pool, reg, train.LoadOptions{AllowPoolChange: f.allowNew, Greedy: true, Seed: f.seed})
		if err != nil {
			if errors.Is(err, train.ErrPoolChanged) {
				return nil, fmt.Errorf("--policy %s: %w; pass --allow-new-models to load it into this pool anyway", spec, err)
			}
			return nil, fmt.Errorf("--policy %s: %w", spec, err)
		}
		if !hasLambda {
			lambda = cp.Training.Lambda
		}
		if other, dup := seen[lambda]; dup {
			return nil, fmt.Errorf("--policy %s: λ=%g is already served by %s", spec, lambda, other)
		}
		seen[lambda] = path
		out = append(out, server.Policy{Name: path, Lambda: lambda, Temperature: cp.Training.Config.Entropy, Controller: ctrl})
	}
	return out, nil
}

// parsePolicySpec reads "path" or "λ=path".
func parsePolicySpec(spec string) (lambda float64, path string, hasLambda bool, err error) {
	if l, p, ok := strings.Cut(spec, "="); ok {
		v, perr := strconv.ParseFloat(l, 64)
		if perr == nil {
			if v < 0 || !(v <= server.MaxLambda) || p == "" {
				return 0, "", false, fmt.Errorf("--policy %s: want λ=path with λ in [0, %g]", spec, server.MaxLambda)
			}
			return v, p, true, nil
		}
	}
	if spec == "" {
		return 0, "", false, fmt.Errorf("--policy: empty")
	}
	return 0, spec, false, nil
}

// describe prints where the server listens and what it serves.
func describe(w io.Writer, addr string, pool *agents.Pool, source string, policies []server.Policy, auth bool) {
	fmt.Fprintf(w, "masrouter: listening on http://%s\n", addr)
	fmt.Fprintf(w, "pool: %d models from %s: %s\n", pool.Len(), source, strings.Join(pool.Names(), ", "))
	for _, p := range policies {
		fmt.Fprintf(w, "policy: %s (λ=%g)\n", p.Name, p.Lambda)
	}
	if policies[0].Name == "untrained" {
		fmt.Fprintln(w, "note: no --policy given; routing with an untrained controller (random initialisation)")
	}
	var simulated, replayed bool
	for _, m := range pool.Models() {
		simulated = simulated || m.Provider == agents.ProviderSim
		replayed = replayed || m.Provider == agents.ProviderReplay
	}
	if simulated {
		fmt.Fprintln(w, "note: the pool is simulated (agents/sim); no language model runs, and figures are the simulation's")
	}
	if replayed {
		fmt.Fprintln(w, "note: replay models (agents/replay) answer only recorded questions, sent verbatim, with the recorded replies; other questions get a reply saying they are not in the recording; token counts and dollars are estimates")
	}
	if auth {
		fmt.Fprintln(w, "auth: bearer token required on /v1/ and /metrics")
	}
	fmt.Fprintf(w, "try: curl -s http://%s/v1/chat/completions -H 'Content-Type: application/json' -d '{\"model\":\"masrouter\",\"messages\":[{\"role\":\"user\",\"content\":\"...\"}]}'\n", addr)
}
