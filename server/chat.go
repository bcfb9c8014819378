package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// usage is OpenAI's usage object: here, the whole plan's.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Info is the "masrouter" object of a response: how the query was routed
// and what the plan cost.
type Info struct {
	// Mode is the collaboration mode.
	Mode string `json:"mode"`
	// Roles and Models are the plan's agents, in order.
	Roles  []string `json:"roles"`
	Models []string `json:"models"`
	// AnsweredBy lists every model that wrote a reply, fallbacks included,
	// sorted and without repeats.
	AnsweredBy []string `json:"answered_by"`
	Domain     string   `json:"domain"`
	// Lambda is the request's cost weight; Policy and PolicyLambda name the
	// policy that routed it.
	Lambda       float64 `json:"lambda"`
	Policy       string  `json:"policy"`
	PolicyLambda float64 `json:"policy_lambda"`
	// Dollars is what the whole plan cost; Budget the cap it ran under (0:
	// none).
	Dollars float64 `json:"dollars"`
	Budget  float64 `json:"budget,omitempty"`
	TraceID string  `json:"trace_id"`
	// Answer is the final answer extracted by the domain's scorer.
	Answer    string  `json:"answer,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	// Simulated is true when the pool's models are simulated: the figures
	// are properties of the simulation, not of the real models.
	Simulated bool       `json:"simulated,omitempty"`
	Nodes     []NodeInfo `json:"nodes"`
}

// NodeInfo summarises one node of the plan (no prompts or replies).
type NodeInfo struct {
	ID               string        `json:"id"`
	Kind             string        `json:"kind"`
	Role             string        `json:"role,omitempty"`
	Model            string        `json:"model,omitempty"`
	AnsweredBy       string        `json:"answered_by,omitempty"`
	PromptTokens     int           `json:"prompt_tokens"`
	CompletionTokens int           `json:"completion_tokens"`
	Dollars          float64       `json:"dollars"`
	LatencyMS        float64       `json:"latency_ms"`
	Skipped          bool          `json:"skipped,omitempty"`
	Error            string        `json:"error,omitempty"`
	Attempts         []AttemptInfo `json:"attempts,omitempty"`
}

// AttemptInfo summarises one provider call.
type AttemptInfo struct {
	Model     string  `json:"model"`
	Status    int     `json:"status,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	WaitMS    float64 `json:"wait_ms,omitempty"`
	Error     string  `json:"error,omitempty"`
}

// completion is the chat.completion response.
type completion struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"`
	Created   int64    `json:"created"`
	Model     string   `json:"model"`
	Choices   []choice `json:"choices"`
	Usage     usage    `json:"usage"`
	Masrouter *Info    `json:"masrouter"`
}

type choice struct {
	Index        int            `json:"index"`
	Message      map[string]any `json:"message"`
	FinishReason string         `json:"finish_reason"`
	Logprobs     any            `json:"logprobs"`
}

// chunk is a chat.completion.chunk event.
type chunk struct {
	ID        string        `json:"id"`
	Object    string        `json:"object"`
	Created   int64         `json:"created"`
	Model     string        `json:"model"`
	Choices   []chunkChoice `json:"choices"`
	Usage     *usage        `json:"usage,omitempty"`
	Masrouter *Info         `json:"masrouter,omitempty"`
}

type chunkChoice struct {
	Index        int               `json:"index"`
	Delta        map[string]string `json:"delta"`
	FinishReason *string           `json:"finish_reason"`
	Logprobs     any               `json:"logprobs"`
}

// scorers extract answers per domain (a served query has no gold answer):
// on math the first that finds one of a \boxed{} or "answer is" statement
// (MATH's form) and a final number ("#### N", GSM8K's form).
var scorers = map[tasks.Domain][]string{tasks.DomainMath: {"math", "gsm8k"}, tasks.DomainCommonsense: {"mmlu"}, tasks.DomainCode: {"exact"}}

// scorerFor returns the answer extractor of served queries of domain d.
func scorerFor(d tasks.Domain) (tasks.Scorer, error) {
	var out firstScorer
	for _, name := range scorers[d] {
		sc, err := tasks.ScorerByName(name)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scorer for domain %q", d)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// firstScorer extracts with the first of its scorers that finds an answer
// and compares with the first scorer's equivalence.
type firstScorer []tasks.Scorer

func (f firstScorer) Name() string { return f[0].Name() }

func (f firstScorer) Extract(reply string) (string, bool) {
	for _, sc := range f {
		if a, ok := sc.Extract(reply); ok {
			return a, true
		}
	}
	return "", false
}

func (f firstScorer) Equivalent(a, b string) bool { return f[0].Equivalent(a, b) }

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, newAPIError(http.StatusRequestEntityTooLarge, typeInvalidRequest, "", "request_too_large", "the request body is larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		s.fail(w, invalid("", "read the request body: %v", err))
		return
	}
	req, e := decodeChatRequest(body)
	if e != nil {
		s.fail(w, e)
		return
	}
	if !req.HasLambda {
		req.Lambda = s.lambda
	}
	if req.Domain == "" {
		req.Domain = s.cfg.DefaultDomain
	}
	if len(s.cfg.Roles.Domain(req.Domain)) == 0 {
		s.fail(w, invalid("masrouter_domain", "masrouter_domain: this server has no roles for domain %q", req.Domain))
		return
	}
	budget := s.cfg.Budget
	if req.Budget > 0 && (budget == 0 || req.Budget < budget) {
		budget = req.Budget
	}
	sc, err := scorerFor(req.Domain)
	if err != nil {
		s.fail(w, newAPIError(http.StatusInternalServerError, typeServer, "", "", "scorer: %v", err))
		return
	}
	sum := sha256.Sum256([]byte(string(req.Domain) + "\x00" + req.Query))
	task := &tasks.Task{ID: "serve/" + hex.EncodeToString(sum[:8]), Benchmark: "serve", Domain: req.Domain, Query: req.Query, Scorer: sc}

	pol := nearest(s.cfg.Policies, req.Lambda)
	plan, err := route(r.Context(), pol, s.cfg.Pool, task, req.Lambda, min(s.cfg.MaxTokens, topology.DefaultExpectedCompletion))
	if err != nil {
		if r.Context().Err() != nil {
			s.clientGone(r, start, err)
			return
		}
		s.fail(w, newAPIError(http.StatusInternalServerError, typeServer, "", "routing_failed", "routing failed: %v", err))
		return
	}

	traceID := s.newID()
	id := "chatcmpl-" + traceID
	created := s.cfg.Now().Unix()
	var stream *sse
	hooks := topology.Hooks{}
	if req.Stream {
		stream = newSSE(w)
		if stream == nil {
			s.fail(w, newAPIError(http.StatusInternalServerError, typeServer, "", "", "this connection cannot stream"))
			return
		}
		// OnNodeEnd runs on this goroutine, so writing here is safe.
		hooks.OnNodeEnd = func(n topology.NodeTrace) {
			who := ""
			if n.Model != "" {
				who = " " + n.Role + "@" + n.Model
			}
			state := "done"
			switch {
			case n.Skipped:
				state = "skipped"
			case n.Error != "":
				state = "failed"
			}
			stream.comment(fmt.Sprintf("node %s%s %s", n.ID, who, state))
		}
	}
	exec, err := topology.NewExecutor(topology.Config{
		Pool: s.cfg.Pool, Roles: s.cfg.Roles, Budget: budget, MaxTokens: s.cfg.MaxTokens,
		ExpectedCompletion: s.cfg.MaxTokens, Seed: s.cfg.Seed, Hooks: hooks, NewID: func() string { return traceID },
	})
	if err != nil {
		s.fail(w, newAPIError(http.StatusInternalServerError, typeServer, "", "", "executor: %v", err))
		return
	}
	if stream != nil {
		// The first chunk says the request was accepted; progress comments
		// keep the connection alive while the plan runs.
		stream.event(chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			Choices: []chunkChoice{{Delta: map[string]string{"role": "assistant", "content": ""}}}})
	}
	tr, runErr := exec.Run(r.Context(), plan, task)
	info := s.info(req, pol, plan, tr, budget, start)
	s.metrics.plan(fmt.Sprintf("%s (λ=%g)", pol.Name, pol.Lambda), plan.Mode, tr)
	s.metrics.latency(time.Since(start))
	if runErr != nil && r.Context().Err() != nil {
		if s.draining.Load() {
			// The drain timed out and cancelled the plan: say so, in case
			// the client is still listening.
			e := newAPIError(http.StatusServiceUnavailable, typeServer, "", "shutting_down", "the server shut down before the plan finished: %v", runErr)
			s.log(r, req, info, e.Status, runErr)
			s.metrics.error(e.Type)
			if stream != nil {
				stream.event(struct {
					Error *apiError `json:"error"`
				}{e})
				stream.done()
				return
			}
			e.write(w)
			return
		}
		s.clientGone(r, start, runErr)
		return
	}
	if runErr != nil {
		e := runError(runErr, budget, req.Budget > 0)
		s.log(r, req, info, e.Status, runErr)
		if stream != nil {
			s.metrics.error(e.Type)
			stream.event(struct {
				Error     *apiError `json:"error"`
				Masrouter *Info     `json:"masrouter"`
			}{e, info})
			stream.done()
			return
		}
		s.metrics.error(e.Type)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = newEncoder(w).Encode(struct {
			Error     *apiError `json:"error"`
			Masrouter *Info     `json:"masrouter"`
		}{e, info})
		return
	}
	u := usage{PromptTokens: tr.PromptTokens, CompletionTokens: tr.CompletionTokens, TotalTokens: tr.PromptTokens + tr.CompletionTokens}
	s.log(r, req, info, http.StatusOK, nil)
	if stream != nil {
		for _, piece := range pieces(tr.Final, 64) {
			stream.event(chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
				Choices: []chunkChoice{{Delta: map[string]string{"content": piece}}}})
		}
		stop := "stop"
		stream.event(chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			Choices: []chunkChoice{{Delta: map[string]string{}, FinishReason: &stop}}})
		if req.IncludeUsage {
			stream.event(chunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
				Choices: []chunkChoice{}, Usage: &u, Masrouter: info})
		}
		stream.done()
		return
	}
	writeJSON(w, http.StatusOK, completion{
		ID: id, Object: "chat.completion", Created: created, Model: req.Model,
		Choices: []choice{{Message: map[string]any{"role": "assistant", "content": tr.Final, "refusal": nil}, FinishReason: "stop"}},
		Usage:   u, Masrouter: info,
	})
}

// runError maps a failed run to an OpenAI error; param names
// masrouter_budget when the request set the budget.
func runError(err error, budget float64, requested bool) *apiError {
	if errors.Is(err, topology.ErrBudget) {
		param := ""
		if requested {
			param = "masrouter_budget"
		}
		return newAPIError(http.StatusBadRequest, typeInvalidRequest, param, "budget_exceeded",
			"the per-query budget of $%g cannot pay for the plan's calls: %v", budget, err)
	}
	return newAPIError(http.StatusBadGateway, typeUpstream, "", "upstream_error", "the plan failed: %v", err)
}

// clientGone records a request whose client left before the answer.
func (s *Server) clientGone(r *http.Request, start time.Time, err error) {
	s.metrics.error("client_closed")
	s.cfg.Logger.Info("chat completion abandoned by the client", "path", r.URL.Path, "latency_ms", ms(time.Since(start)), "error", err.Error())
}

// log writes one line per request: never the query or replies.
func (s *Server) log(r *http.Request, req chatRequest, info *Info, status int, err error) {
	attrs := []any{
		"status", status, "trace_id", info.TraceID, "model", req.Model, "lambda", req.Lambda,
		"policy", info.Policy, "domain", info.Domain, "mode", info.Mode, "models", strings.Join(info.Models, ","),
		"dollars", info.Dollars, "latency_ms", info.LatencyMS, "stream", req.Stream, "query_chars", len(req.Query),
	}
	if err != nil {
		s.cfg.Logger.Warn("chat completion failed", append(attrs, "error", err.Error())...)
		return
	}
	s.cfg.Logger.Info("chat completion", attrs...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// info builds the masrouter object of a response.
func (s *Server) info(req chatRequest, pol *Policy, plan topology.Plan, tr *topology.Trace, budget float64, start time.Time) *Info {
	in := &Info{
		Mode: string(plan.Mode), Domain: string(req.Domain), Lambda: req.Lambda,
		Policy: pol.Name, PolicyLambda: pol.Lambda, Budget: budget, Simulated: s.simulated,
		Roles: []string{}, Models: []string{}, AnsweredBy: []string{}, Nodes: []NodeInfo{},
		LatencyMS: ms(time.Since(start)),
	}
	for _, a := range plan.Agents {
		in.Roles = append(in.Roles, a.Role)
		in.Models = append(in.Models, a.Model)
	}
	if tr == nil {
		return in
	}
	in.TraceID, in.Dollars, in.Answer = tr.ID, tr.Dollars, tr.Answer
	seen := map[string]bool{}
	for _, n := range tr.Nodes {
		ni := NodeInfo{
			ID: n.ID, Kind: string(n.Kind), Role: n.Role, Model: n.Model, AnsweredBy: n.AnsweredBy,
			PromptTokens: n.PromptTokens, CompletionTokens: n.CompletionTokens, Dollars: n.Dollars,
			LatencyMS: ms(n.Latency), Skipped: n.Skipped, Error: n.Error,
		}
		for _, a := range n.Attempts {
			ni.Attempts = append(ni.Attempts, AttemptInfo{Model: a.Model, Status: a.Status, LatencyMS: ms(a.Latency), WaitMS: ms(a.Wait), Error: a.Error})
		}
		if n.Model != "" && !n.Skipped && n.Error == "" {
			by := n.Model
			if n.AnsweredBy != "" {
				by = n.AnsweredBy
			}
			if !seen[by] {
				seen[by] = true
				in.AnsweredBy = append(in.AnsweredBy, by)
			}
		}
		in.Nodes = append(in.Nodes, ni)
	}
	slices.Sort(in.AnsweredBy)
	return in
}

// sse writes server-sent events.
type sse struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	if err := s.rc.Flush(); err != nil {
		return nil
	}
	return s
}

func (s *sse) event(v any) {
	b, err := marshal(v)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(s.w, "data: %s\n\n", b)
	_ = s.rc.Flush()
}

func (s *sse) comment(text string) {
	_, _ = fmt.Fprintf(s.w, ": %s\n\n", strings.ReplaceAll(text, "\n", " "))
	_ = s.rc.Flush()
}

func (s *sse) done() {
	_, _ = io.WriteString(s.w, "data: [DONE]\n\n")
	_ = s.rc.Flush()
}

// pieces splits text into chunks of about n bytes on rune boundaries.
func pieces(text string, n int) []string {
	var out []string
	for len(text) > 0 {
		k := min(n, len(text))
		for k < len(text) && text[k]&0xC0 == 0x80 {
			k++
		}
		out = append(out, text[:k])
		text = text[k:]
	}
	return out
}
