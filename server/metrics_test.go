package server_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promSample is one sample line of the text exposition format.
var promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? (\S+)$`)

// scrape fetches /metrics and parses it strictly: every family has HELP
// and TYPE before its samples, every sample line is well formed.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "text/plain; version=0.0.4; charset=utf-8", w.Header().Get("Content-Type"))
	out := map[string]float64{}
	typed := map[string]string{}
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			require.Len(t, f, 2, line)
			require.Contains(t, []string{"counter", "gauge", "histogram"}, f[1])
			typed[f[0]] = f[1]
			continue
		}
		m := promSample.FindStringSubmatch(line)
		require.NotNil(t, m, "malformed sample line %q", line)
		name := m[1]
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		require.Contains(t, typed, family, "sample %q before its TYPE", line)
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err, line)
		out[name+m[2]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	pool := simPool(t)
	s := newServer(t, pool, nil)
	const n = 6
	var dollars float64
	var prompt float64
	modes := map[string]float64{}
	for _, q := range gsm8k(t, n) {
		c := routed(t, s, "masrouter", q.Query)
		dollars += c.Masrouter.Dollars
		prompt += float64(c.Usage.PromptTokens)
		modes[c.Masrouter.Mode]++
	}
	post(t, s, []byte("{"), nil)
	post(t, s, chatBody("gpt-4o", "hi", nil), nil)

	m := scrape(t, s)
	assert.Equal(t, float64(n), m[`masrouter_requests_total{path="/v1/chat/completions",code="200"}`])
	assert.Equal(t, 1.0, m[`masrouter_requests_total{path="/v1/chat/completions",code="400"}`])
	assert.Equal(t, 1.0, m[`masrouter_requests_total{path="/v1/chat/completions",code="404"}`])
	assert.Equal(t, 2.0, m[`masrouter_errors_total{type="invalid_request_error"}`])
	assert.Equal(t, 1.0, m[`masrouter_in_flight_requests`], "the scrape itself")
	for mode, k := range modes {
		assert.Equal(t, k, m[`masrouter_routing_decisions_total{mode="`+mode+`"}`], mode)
	}
	assert.Equal(t, float64(n), m[`masrouter_policy_requests_total{policy="untrained (λ=0)"}`])

	var gotDollars, gotPrompt, okAttempts float64
	for k, v := range m {
		switch {
		case strings.HasPrefix(k, "masrouter_dollars_total{"):
			gotDollars += v
		case strings.HasPrefix(k, "masrouter_tokens_total{") && strings.Contains(k, `kind="prompt"`):
			gotPrompt += v
		case strings.HasPrefix(k, "masrouter_model_attempts_total{") && strings.Contains(k, `outcome="ok"`):
			okAttempts += v
		}
	}
	assert.InDelta(t, dollars, gotDollars, 1e-12)
	assert.Equal(t, prompt, gotPrompt)
	assert.Positive(t, okAttempts)

	// The histogram counts the chat completions that ran, cumulatively.
	count := m[`masrouter_request_duration_seconds_count`]
	assert.Equal(t, float64(n), count)
	assert.Equal(t, count, m[`masrouter_request_duration_seconds_bucket{le="+Inf"}`])
	prev := 0.0
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120"} {
		v, ok := m[`masrouter_request_duration_seconds_bucket{le="`+le+`"}`]
		require.True(t, ok, le)
		assert.GreaterOrEqual(t, v, prev, le)
		prev = v
	}
	assert.Positive(t, m[`masrouter_request_duration_seconds_sum`])
}
