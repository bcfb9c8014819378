package server

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/masrouter/masrouter/topology"
)

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// metrics are the server's counters, written in Prometheus' text format.
type metrics struct {
	inFlight atomic.Int64

	mu        sync.Mutex
	requests  map[[2]string]float64 // path, code
	errors    map[string]float64    // OpenAI error type
	dollars   map[string]float64    // model that answered
	tokens    map[[2]string]float64 // model, prompt|completion
	attempts  map[[2]string]float64 // model, ok|error
	decisions map[string]float64    // mode
	lambda    map[string]float64    // policy
	buckets   []uint64
	sum       float64
	count     uint64
}

func newMetrics() *metrics {
	return &metrics{
		requests:  map[[2]string]float64{},
		errors:    map[string]float64{},
		dollars:   map[string]float64{},
		tokens:    map[[2]string]float64{},
		attempts:  map[[2]string]float64{},
		decisions: map[string]float64{},
		lambda:    map[string]float64{},
		buckets:   make([]uint64, len(latencyBuckets)),
	}
}

// knownPaths keep the path label's values bounded.
var knownPaths = []string{"/v1/chat/completions", "/v1/models", "/healthz", "/metrics"}

func pathLabel(p string) string {
	if slices.Contains(knownPaths, p) {
		return p
	}
	return "other"
}

// request counts one finished HTTP request.
func (m *metrics) request(path string, code int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{pathLabel(path), strconv.Itoa(code)}]++
}

// error counts one error response of OpenAI type typ.
func (m *metrics) error(typ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors[typ]++
}

// latency observes one chat completion's duration.
func (m *metrics) latency(d time.Duration) {
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, b := range latencyBuckets {
		if s <= b {
			m.buckets[i]++
		}
	}
	m.sum += s
	m.count++
}

// plan counts a routing decision and what its run spent, per model.
func (m *metrics) plan(policy string, mode topology.Mode, tr *topology.Trace) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decisions[string(mode)]++
	m.lambda[policy]++
	if tr == nil {
		return
	}
	for _, n := range tr.Nodes {
		if n.Model == "" || n.Skipped {
			continue
		}
		model := n.Model
		if n.AnsweredBy != "" {
			model = n.AnsweredBy
		}
		m.dollars[model] += n.Dollars
		m.tokens[[2]string{model, "prompt"}] += float64(n.PromptTokens)
		m.tokens[[2]string{model, "completion"}] += float64(n.CompletionTokens)
		for _, a := range n.Attempts {
			outcome := "ok"
			if !a.OK() {
				outcome = "error"
			}
			m.attempts[[2]string{a.Model, outcome}]++
		}
	}
}

// write renders every metric in the Prometheus text exposition format
// (version 0.0.4), each family sorted by its labels.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	pairs := func(name string, mp map[[2]string]float64, l1, l2 string) {
		keys := make([][2]string, 0, len(mp))
		for k := range mp {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b [2]string) int {
			if c := strings.Compare(a[0], b[0]); c != 0 {
				return c
			}
			return strings.Compare(a[1], b[1])
		})
		for _, k := range keys {
			fmt.Fprintf(&b, "%s{%s=%s,%s=%s} %s\n", name, l1, quoteLabel(k[0]), l2, quoteLabel(k[1]), formatValue(mp[k]))
		}
	}
	singles := func(name string, mp map[string]float64, l string) {
		keys := make([]string, 0, len(mp))
		for k := range mp {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s{%s=%s} %s\n", name, l, quoteLabel(k), formatValue(mp[k]))
		}
	}

	family("masrouter_requests_total", "counter", "HTTP requests served, by path and status code.")
	pairs("masrouter_requests_total", m.requests, "path", "code")
	family("masrouter_errors_total", "counter", "Error responses, by OpenAI error type.")
	singles("masrouter_errors_total", m.errors, "type")
	family("masrouter_in_flight_requests", "gauge", "Requests being served now.")
	fmt.Fprintf(&b, "masrouter_in_flight_requests %d\n", m.inFlight.Load())
	family("masrouter_routing_decisions_total", "counter", "Plans routed, by collaboration mode.")
	singles("masrouter_routing_decisions_total", m.decisions, "mode")
	family("masrouter_policy_requests_total", "counter", "Plans routed, by the policy (and its λ) that routed them.")
	singles("masrouter_policy_requests_total", m.lambda, "policy")
	family("masrouter_dollars_total", "counter", "US dollars spent, by the model that answered.")
	singles("masrouter_dollars_total", m.dollars, "model")
	family("masrouter_tokens_total", "counter", "Tokens used, by the model that answered and kind (prompt or completion).")
	pairs("masrouter_tokens_total", m.tokens, "model", "kind")
	family("masrouter_model_attempts_total", "counter", "Provider calls, retries and fallbacks included, by model and outcome.")
	pairs("masrouter_model_attempts_total", m.attempts, "model", "outcome")
	family("masrouter_request_duration_seconds", "histogram", "Chat completion latency: routing, the plan's run and the reply.")
	for i, le := range latencyBuckets {
		fmt.Fprintf(&b, "masrouter_request_duration_seconds_bucket{le=%q} %d\n", formatValue(le), m.buckets[i])
	}
	fmt.Fprintf(&b, "masrouter_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", m.count)
	fmt.Fprintf(&b, "masrouter_request_duration_seconds_sum %s\n", formatValue(m.sum))
	fmt.Fprintf(&b, "masrouter_request_duration_seconds_count %d\n", m.count)
	_, err := io.WriteString(w, b.String())
	return err
}

// quoteLabel quotes a label value, escaping backslash, quote and newline.
func quoteLabel(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
