// Package server serves the router behind an OpenAI-compatible HTTP API.
//
// POST /v1/chat/completions routes each request's query through a trained
// controller, runs the multi-agent plan on the pool, and answers in OpenAI's
// chat.completion shape (or chat.completion.chunk events with stream: true)
// with the usage of the whole plan and a "masrouter" object: mode, roles,
// models, dollars, trace id and a summary of every node and provider
// attempt. The model is "masrouter", or "masrouter:<λ>" to set the cost
// weight of one request. GET /v1/models lists them, GET /healthz answers
// probes, and GET /metrics exposes counters in Prometheus' text format.
package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// Defaults of Config.
const (
	// DefaultMaxBodyBytes limits request bodies when Config.MaxBodyBytes is 0.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultShutdownTimeout is how long Serve drains in-flight requests
	// when given no timeout.
	DefaultShutdownTimeout = 30 * time.Second
)

// Config configures a Server.
type Config struct {
	// Pool holds the models plans run on. Required.
	Pool *agents.Pool
	// Roles holds the roles plans name; nil means roles.Default().
	Roles *roles.Registry
	// Policies are the routing policies, at least one. A request at cost
	// weight λ is routed by the policy whose λ is nearest; when λ differs
	// from it, each agent's model is re-chosen with the policy's model
	// stage shifted by the change in expected cost (see Policy).
	Policies []Policy
	// DefaultLambda is the λ of requests for plain "masrouter"; nil means
	// the λ of the first policy.
	DefaultLambda *float64
	// DefaultDomain is the domain of requests that name none; "" means math.
	DefaultDomain tasks.Domain
	// Budget caps what one query may spend, in dollars; 0 means no cap. A
	// request's masrouter_budget may lower it, never raise it. The check
	// before each call assumes the call's whole completion limit, so the
	// plan stops before the cap would be crossed (prompt tokens are
	// estimated at four characters each).
	Budget float64
	// MaxTokens caps each agent's completion; 0 means topology.DefaultMaxTokens.
	MaxTokens int
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Token, when set, is the bearer token every /v1/ and /metrics request
	// must carry (Authorization: Bearer <token>).
	Token string
	// Seed is passed to the executor (0: providers' own sampling).
	Seed int
	// Logger receives one line per request and no prompts; nil discards.
	Logger *slog.Logger
	// NewID returns trace ids; nil means uuid.NewString.
	NewID func() string
	// Now is the clock of "created" fields; nil means time.Now.
	Now func() time.Time
}

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg       Config
	lambda    float64
	simulated bool
	metrics   *metrics
	draining  atomic.Bool
}

// New validates cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Pool == nil {
		return nil, errors.New("server: config field Pool is nil")
	}
	if len(cfg.Policies) == 0 {
		return nil, errors.New("server: config field Policies is empty")
	}
	if cfg.Roles == nil {
		reg, err := roles.Default()
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		cfg.Roles = reg
	}
	cfg.Policies = slices.Clone(cfg.Policies)
	for i, p := range cfg.Policies {
		switch {
		case p.Controller == nil:
			return nil, fmt.Errorf("server: policy %d (%s): controller is nil", i, p.Name)
		case !(p.Lambda >= 0) || math.IsInf(p.Lambda, 0):
			return nil, fmt.Errorf("server: policy %d (%s): λ = %g, want a finite value ≥ 0", i, p.Name, p.Lambda)
		case p.Temperature < 0 || math.IsNaN(p.Temperature):
			return nil, fmt.Errorf("server: policy %d (%s): temperature %g is negative", i, p.Name, p.Temperature)
		}
		if p.Name == "" {
			cfg.Policies[i].Name = fmt.Sprintf("policy-%d", i)
		}
	}
	lambda := cfg.Policies[0].Lambda
	if cfg.DefaultLambda != nil {
		lambda = *cfg.DefaultLambda
		if !(lambda >= 0) || lambda > MaxLambda {
			return nil, fmt.Errorf("server: config field DefaultLambda: %g, want a value in [0, %g]", lambda, MaxLambda)
		}
	}
	if cfg.DefaultDomain == "" {
		cfg.DefaultDomain = tasks.DomainMath
	}
	if _, err := tasks.ParseDomain(string(cfg.DefaultDomain)); err != nil {
		return nil, fmt.Errorf("server: config field DefaultDomain: %w", err)
	}
	if len(cfg.Roles.Domain(cfg.DefaultDomain)) == 0 {
		return nil, fmt.Errorf("server: config field DefaultDomain: no roles for domain %q", cfg.DefaultDomain)
	}
	switch {
	case !(cfg.Budget >= 0) || math.IsInf(cfg.Budget, 0):
		return nil, fmt.Errorf("server: config field Budget: %g, want a dollar amount ≥ 0", cfg.Budget)
	case cfg.MaxTokens < 0:
		return nil, fmt.Errorf("server: config field MaxTokens: %d is negative", cfg.MaxTokens)
	case cfg.MaxBodyBytes < 0:
		return nil, fmt.Errorf("server: config field MaxBodyBytes: %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = topology.DefaultMaxTokens
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Check an executor can be built now, rather than on the first request.
	if _, err := topology.NewExecutor(topology.Config{Pool: cfg.Pool, Roles: cfg.Roles, Budget: cfg.Budget, MaxTokens: cfg.MaxTokens}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{cfg: cfg, lambda: lambda, metrics: newMetrics()}
	for _, m := range cfg.Pool.Models() {
		if m.Provider == agents.ProviderSim {
			s.simulated = true
		}
	}
	return s, nil
}

func (s *Server) newID() string {
	if s.cfg.NewID != nil {
		return s.cfg.NewID()
	}
	return uuid.NewString()
}

// ServeHTTP routes a request to its endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	s.metrics.inFlight.Add(1)
	defer func() {
		s.metrics.inFlight.Add(-1)
		code := rec.status
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.request(r.URL.Path, code)
	}()
	path := r.URL.Path
	switch {
	case path == "/healthz":
		s.handleHealth(rec, r)
		return
	case strings.HasPrefix(path, "/v1/") || path == "/metrics":
		if !s.authorized(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="masrouter"`)
			s.fail(rec, newAPIError(http.StatusUnauthorized, typeAuthentication, "", "invalid_api_key",
				"missing or wrong bearer token: send Authorization: Bearer <token>"))
			return
		}
	}
	switch path {
	case "/v1/chat/completions":
		if s.allow(rec, r, http.MethodPost) {
			s.handleChat(rec, r)
		}
	case "/v1/models":
		if s.allow(rec, r, http.MethodGet) {
			s.handleModels(rec)
		}
	case "/metrics":
		if s.allow(rec, r, http.MethodGet) {
			rec.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			if err := s.metrics.write(rec); err != nil {
				s.cfg.Logger.Warn("write metrics", "error", err)
			}
		}
	default:
		s.fail(rec, newAPIError(http.StatusNotFound, typeInvalidRequest, "", "not_found", "Invalid URL (%s %s)", r.Method, safeParam(path)))
	}
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got := r.Header.Get("Authorization")
	want := "Bearer " + s.cfg.Token
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Server) allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || method == http.MethodGet && r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", method)
	s.fail(w, newAPIError(http.StatusMethodNotAllowed, typeInvalidRequest, "", "method_not_allowed", "%s %s is not allowed; use %s", r.Method, safeParam(r.URL.Path), method))
	return false
}

// fail writes an error response and counts it.
func (s *Server) fail(w http.ResponseWriter, e *apiError) {
	s.metrics.error(e.Type)
	e.write(w)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		s.fail(w, newAPIError(http.StatusMethodNotAllowed, typeInvalidRequest, "", "method_not_allowed", "use GET /healthz"))
		return
	}
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "shutting down", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "models": s.cfg.Pool.Len(), "policies": len(s.cfg.Policies)})
}

// modelEntry is one item of GET /v1/models.
type modelEntry struct {
	ID      string  `json:"id"`
	Object  string  `json:"object"`
	Created int64   `json:"created"`
	OwnedBy string  `json:"owned_by"`
	Lambda  float64 `json:"masrouter_lambda"`
	Policy  string  `json:"masrouter_policy"`
}

// poolEntry describes one pool model in GET /v1/models.
type poolEntry struct {
	Name      string             `json:"name"`
	Provider  string             `json:"provider"`
	Price     agents.Price       `json:"price"`
	Fallbacks []string           `json:"fallbacks,omitempty"`
	Simulated bool               `json:"simulated,omitempty"`
	MaxTokens int                `json:"max_tokens,omitempty"`
	Skills    map[string]float64 `json:"skills,omitempty"`
}

func (s *Server) handleModels(w http.ResponseWriter) {
	created := s.cfg.Now().Unix()
	data := []modelEntry{{ID: ModelName, Object: "model", Created: created, OwnedBy: "masrouter", Lambda: s.lambda, Policy: nearest(s.cfg.Policies, s.lambda).Name}}
	for _, p := range s.cfg.Policies {
		data = append(data, modelEntry{ID: ModelName + ":" + strconv.FormatFloat(p.Lambda, 'g', -1, 64), Object: "model", Created: created, OwnedBy: "masrouter", Lambda: p.Lambda, Policy: p.Name})
	}
	var pool []poolEntry
	for _, m := range s.cfg.Pool.Models() {
		e := poolEntry{Name: m.Name, Provider: m.Provider, Price: m.Price, Simulated: m.Provider == agents.ProviderSim, MaxTokens: m.MaxTokens, Skills: m.Skills}
		for _, fb := range m.Fallbacks() {
			e.Fallbacks = append(e.Fallbacks, fb.Name)
		}
		pool = append(pool, e)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "masrouter_pool": pool})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = newEncoder(w).Encode(v)
}

// newEncoder writes JSON without escaping <, > and &, which replies and
// messages may hold.
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := newEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections, reports /healthz as 503, and waits up to
// shutdownTimeout (0 means DefaultShutdownTimeout) for in-flight requests,
// streams included, to finish. Requests still running then are cancelled
// and Serve returns an error saying how many there were. It returns nil
// after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener, shutdownTimeout time.Duration) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}
	// Requests outlive ctx while they drain; base is cancelled only if the
	// drain times out.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	hs := &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	inFlight := s.metrics.inFlight.Load()
	s.cfg.Logger.Info("shutting down", "in_flight", inFlight, "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		left := s.metrics.inFlight.Load()
		cancelBase()
		_ = hs.Close()
		<-errc
		return fmt.Errorf("shutdown: %d request(s) still in flight after %v were cancelled: %w", left, shutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.cfg.Logger.Info("shut down cleanly")
	return nil
}
