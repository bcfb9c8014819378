package agents

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// Attempt is one provider call made while answering one agent call: the
// first try, each retry, and each try of a fallback model.
type Attempt struct {
	// Model is the pool name of the model that was called.
	Model string `json:"model"`
	// Start is when the attempt began, by the Resilient model's clock.
	Start time.Time `json:"start"`
	// Latency is how long the attempt took.
	Latency time.Duration `json:"latency_ns"`
	// Status is the HTTP status of the provider's reply, 0 when there was
	// none (a timeout, a dropped connection, a provider without HTTP).
	Status int `json:"status,omitempty"`
	// Error is why the attempt failed; empty when it answered.
	Error string `json:"error,omitempty"`
	// Wait is the backoff slept after this attempt before the next one
	// (the larger of the jittered backoff and the server's Retry-After).
	Wait time.Duration `json:"wait_ns,omitempty"`
}

// OK reports whether the attempt answered.
func (a Attempt) OK() bool { return a.Error == "" }

// attemptLog collects the attempts made under one context; a nested log
// also reports to its parent.
type attemptLog struct {
	mu     sync.Mutex
	list   []Attempt
	parent *attemptLog
}

type attemptLogKey struct{}

func (l *attemptLog) add(a Attempt) {
	for ; l != nil; l = l.parent {
		l.mu.Lock()
		l.list = append(l.list, a)
		l.mu.Unlock()
	}
}

func (l *attemptLog) snapshot() []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Attempt(nil), l.list...)
}

// RecordAttempts returns a context under which Resilient models record
// every attempt they make, and a function that returns the attempts
// recorded so far, in the order they ended. A recorder already in ctx keeps
// receiving them too.
func RecordAttempts(ctx context.Context) (context.Context, func() []Attempt) {
	parent, _ := ctx.Value(attemptLogKey{}).(*attemptLog)
	l := &attemptLog{parent: parent}
	return context.WithValue(ctx, attemptLogKey{}, l), l.snapshot
}

func recordAttempt(ctx context.Context, a Attempt) {
	if l, ok := ctx.Value(attemptLogKey{}).(*attemptLog); ok {
		l.add(a)
	}
}

// probe is what StatusTransport saw of the HTTP exchanges of one attempt.
type probe struct {
	mu           sync.Mutex
	status       int
	header       http.Header
	transportErr error
	at           time.Time
}

type probeKey struct{}

func withProbe(ctx context.Context) (context.Context, *probe) {
	p := &probe{}
	return context.WithValue(ctx, probeKey{}, p), p
}

func (p *probe) observe(resp *http.Response, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = time.Now()
	if err != nil {
		p.status, p.header, p.transportErr = 0, nil, err
		return
	}
	p.status, p.header, p.transportErr = resp.StatusCode, resp.Header.Clone(), nil
}

func (p *probe) get() (status int, header http.Header, transportErr error, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, p.header, p.transportErr, p.at
}

// StatusTransport wraps next (nil means http.DefaultTransport) so that a
// Resilient model learns the HTTP status and Retry-After header of each
// reply, which langchaingo's clients do not expose in their errors. Give it
// to a provider client (openai.WithHTTPClient, anthropic.WithHTTPClient,
// ollama.WithHTTPClient); pool files do this for every HTTP provider.
func StatusTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &statusTransport{next: next}
}

type statusTransport struct {
	next http.RoundTripper
	// noAuth drops the Authorization header: an entry without api_key_env
	// must not send the placeholder token langchaingo insists on.
	noAuth bool
}

func (t *statusTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.noAuth && req.Header.Get("Authorization") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	resp, err := t.next.RoundTrip(req)
	if p, ok := req.Context().Value(probeKey{}).(*probe); ok {
		p.observe(resp, err)
	}
	return resp, err
}

// failure is the classification of a failed attempt.
type failure struct {
	retryable  bool
	status     int
	retryAfter time.Duration
}

// statusRe finds the status code langchaingo's OpenAI and Anthropic clients
// write into their errors ("API returned unexpected status code: 503").
var statusRe = regexp.MustCompile(`status code:? (\d{3})\b`)

// classify decides whether a failed attempt (other than one that hit its
// own timeout, which is always retried) is worth retrying. What works: with
// StatusTransport in the provider's HTTP client (pool files install it),
// the real status and Retry-After of the last reply are known; without it
// the status is parsed from langchaingo's error text ("API returned
// unexpected status code: 503", written by its OpenAI and Anthropic
// clients), and Retry-After is unknown. Retried: 408, 425, 429 and 5xx
// replies; a 2xx reply whose body could not be read or decoded (malformed
// JSON, a connection dropped mid-body); transport failures (refused, reset,
// EOF); net.Error timeouts and langchaingo rate-limit, timeout and
// unavailable error codes. Not retried: other 4xx replies and anything
// unrecognised. Retry-After is read on 429 and 503 only.
func classify(err error, p *probe, now time.Time) failure {
	status, header, transportErr, at := p.get()
	if transportErr != nil {
		return failure{retryable: true}
	}
	if status == 0 {
		if m := statusRe.FindStringSubmatch(err.Error()); m != nil {
			status, _ = strconv.Atoi(m[1])
		}
	}
	if status != 0 {
		f := failure{status: status}
		switch {
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			f.retryable = true
			if at.IsZero() {
				at = now
			}
			f.retryAfter = retryAfter(header, at)
		case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status >= 500:
			f.retryable = true
		case status >= 200 && status < 300:
			// The reply arrived but could not be read or decoded.
			f.retryable = true
		}
		return f
	}
	var le *llms.Error
	if errors.As(err, &le) {
		switch le.Code {
		case llms.ErrCodeRateLimit, llms.ErrCodeTimeout, llms.ErrCodeProviderUnavailable:
			return failure{retryable: true}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return failure{retryable: true}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		return failure{retryable: true}
	}
	// langchaingo's OpenAI client replaces transport errors with these texts.
	msg := err.Error()
	if strings.Contains(msg, "request timeout: network operation") || strings.Contains(msg, "network error: failed to reach API server") {
		return failure{retryable: true}
	}
	return failure{}
}

// retryAfter reads how long a server asked the client to wait: OpenAI's
// retry-after-ms (milliseconds) when present and valid, else Retry-After as
// delay-seconds or an HTTP date (relative to at, when the reply arrived).
// It returns 0 when neither header holds a usable value.
func retryAfter(h http.Header, at time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e10 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(at); d > 0 {
			return d
		}
	}
	return 0
}
