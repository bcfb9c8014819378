package agents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/tmc/langchaingo/llms"
)

func TestRetryAfter(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Duration
	}{
		{"none", http.Header{}, 0},
		{"nil", nil, 0},
		{"seconds", http.Header{"Retry-After": {"5"}}, 5 * time.Second},
		{"zero", http.Header{"Retry-After": {"0"}}, 0},
		{"negative", http.Header{"Retry-After": {"-3"}}, 0},
		{"huge", http.Header{"Retry-After": {"99999999"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"http date", http.Header{"Retry-After": {"Sat, 01 Mar 2025 12:00:30 GMT"}}, 30 * time.Second},
		{"http date in the past", http.Header{"Retry-After": {"Sat, 01 Mar 2025 11:00:00 GMT"}}, 0},
		{"openai milliseconds win", http.Header{"Retry-After": {"5"}, "Retry-After-Ms": {"1500"}}, 1500 * time.Millisecond},
		{"bad milliseconds fall back", http.Header{"Retry-After": {"2"}, "Retry-After-Ms": {"x"}}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, retryAfter(tt.header, at))
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	now := time.Now()
	withStatus := func(status int, h http.Header) *probe {
		p := &probe{}
		p.observe(&http.Response{StatusCode: status, Header: h}, nil)
		return p
	}
	tests := []struct {
		name      string
		err       error
		probe     *probe
		retryable bool
		status    int
		wait      time.Duration
	}{
		{"429 with Retry-After", errors.New("x"), withStatus(429, http.Header{"Retry-After": {"3"}}), true, 429, 3 * time.Second},
		{"503 with Retry-After", errors.New("x"), withStatus(503, http.Header{"Retry-After": {"4"}}), true, 503, 4 * time.Second},
		{"500 ignores Retry-After", errors.New("x"), withStatus(500, http.Header{"Retry-After": {"4"}}), true, 500, 0},
		{"408", errors.New("x"), withStatus(408, nil), true, 408, 0},
		{"400", errors.New("x"), withStatus(400, nil), false, 400, 0},
		{"401", errors.New("x"), withStatus(401, nil), false, 401, 0},
		{"404", errors.New("x"), withStatus(404, nil), false, 404, 0},
		{"200 with a bad body", errors.New("invalid character"), withStatus(200, nil), true, 200, 0},
		{"transport error", errors.New("x"), func() *probe { p := &probe{}; p.observe(nil, io.EOF); return p }(), true, 0, 0},
		{"status in langchaingo's text", errors.New("API returned unexpected status code: 502: bad gateway"), &probe{}, true, 502, 0},
		{"4xx in langchaingo's text", errors.New("API returned unexpected status code: 403: forbidden"), &probe{}, false, 403, 0},
		{"llms rate limit", llms.NewError(llms.ErrCodeRateLimit, "openai", "slow down"), &probe{}, true, 0, 0},
		{"llms auth", llms.NewError(llms.ErrCodeAuthentication, "openai", "bad key"), &probe{}, false, 0, 0},
		{"net timeout", fmt.Errorf("call: %w", timeoutErr{}), &probe{}, true, 0, 0},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), &probe{}, true, 0, 0},
		{"sanitized network error", errors.New("network error: failed to reach API server"), &probe{}, true, 0, 0},
		{"unknown", errors.New("sim: tool calls are not supported"), &probe{}, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify(tt.err, tt.probe, now)
			assert.Equal(t, tt.retryable, f.retryable)
			assert.Equal(t, tt.status, f.status)
			assert.Equal(t, tt.wait, f.retryAfter)
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	r, err := NewResilient(ResilientConfig{Name: "m", LLM: noopLLM{}, Jitter: func() float64 { return 0.999999 },
		Policy: RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	prev := time.Duration(0)
	for k := 0; k < 40; k++ {
		d := r.backoff(k)
		assert.LessOrEqual(t, d, time.Second, k)
		assert.GreaterOrEqual(t, d, prev, k)
		prev = d
	}
	r.jitter = func() float64 { return 0 }
	assert.Equal(t, time.Duration(0), r.backoff(5), "full jitter reaches zero")
}

type noopLLM struct{}

func (noopLLM) Call(context.Context, string, ...llms.CallOption) (string, error) { return "", nil }
func (noopLLM) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: "ok"}}}, nil
}
