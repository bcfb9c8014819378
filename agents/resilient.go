package agents

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// Retry defaults.
const (
	// DefaultBaseDelay is the backoff ceiling of the first retry when
	// RetryPolicy.BaseDelay is 0; each further retry doubles it.
	DefaultBaseDelay = 500 * time.Millisecond
	// DefaultMaxDelay caps the backoff ceiling when RetryPolicy.MaxDelay is 0.
	DefaultMaxDelay = 20 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After honoured when
	// RetryPolicy.MaxRetryAfter is 0.
	DefaultMaxRetryAfter = time.Minute
)

// RetryPolicy says how hard a Resilient model tries before giving up.
type RetryPolicy struct {
	// Timeout bounds each attempt; 0 means attempts are bounded only by the
	// caller's context.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt; 0 means
	// one attempt only.
	MaxRetries int
	// BaseDelay and MaxDelay shape the exponential backoff with full
	// jitter: before retry k (from 0) the model sleeps a uniform draw from
	// [0, min(MaxDelay, BaseDelay·2^k)). Zero means DefaultBaseDelay and
	// DefaultMaxDelay.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After (on 429 and 503) the model
	// waits for; a server asking for longer sends the call to the fallback
	// at once. Zero means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// Validate reports the first impossible field.
func (p RetryPolicy) Validate() error {
	switch {
	case p.Timeout < 0:
		return fmt.Errorf("retry policy: timeout %v is negative", p.Timeout)
	case p.MaxRetries < 0:
		return fmt.Errorf("retry policy: max retries %d is negative", p.MaxRetries)
	case p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0:
		return errors.New("retry policy: delays must not be negative")
	}
	return nil
}

// Clock tells the time and sleeps. Resilient models take it as a parameter
// so tests can run backoffs without waiting.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, returning ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d or until ctx ends.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ResilientConfig configures NewResilient.
type ResilientConfig struct {
	// Name is the pool name of the model, recorded in each Attempt. Required.
	Name string
	// LLM is the provider client. Required.
	LLM llms.Model
	// Policy bounds attempts and shapes the backoff.
	Policy RetryPolicy
	// Fallback, when set, is called once this model has failed for good
	// (retries exhausted, a non-retryable error, or a Retry-After beyond
	// Policy.MaxRetryAfter). Its usage is priced at its own price.
	Fallback *Model
	// Clock times attempts and sleeps between them; nil means SystemClock.
	Clock Clock
	// Jitter returns a uniform draw from [0, 1) for the backoff; nil means
	// math/rand/v2's Float64. It must be safe for concurrent use.
	Jitter func() float64
}

// Resilient is an llms.Model that adds a timeout per attempt, retries with
// exponential backoff and full jitter on transient failures (429, 5xx,
// timeouts, dropped connections, malformed replies; honouring Retry-After on
// 429 and 503) and a fallback model. Under a context from RecordAttempts it
// records every attempt, its fallbacks' included. It is safe for concurrent
// use when its LLM is.
type Resilient struct {
	name     string
	llm      llms.Model
	policy   RetryPolicy
	fallback *Model
	clock    Clock
	jitter   func() float64
}

var _ llms.Model = (*Resilient)(nil)

// NewResilient validates cfg and returns the wrapped model.
func NewResilient(cfg ResilientConfig) (*Resilient, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("resilient model: config field Name is empty")
	case cfg.LLM == nil:
		return nil, fmt.Errorf("resilient model %s: config field LLM is nil", cfg.Name)
	case cfg.Fallback != nil && cfg.Fallback.LLM == nil:
		return nil, fmt.Errorf("resilient model %s: fallback %s has no LLM", cfg.Name, cfg.Fallback.Name)
	case cfg.Fallback != nil && cfg.Fallback.Name == cfg.Name:
		return nil, fmt.Errorf("resilient model %s: falls back to itself", cfg.Name)
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("resilient model %s: %w", cfg.Name, err)
	}
	if cfg.Policy.BaseDelay == 0 {
		cfg.Policy.BaseDelay = DefaultBaseDelay
	}
	if cfg.Policy.MaxDelay == 0 {
		cfg.Policy.MaxDelay = DefaultMaxDelay
	}
	if cfg.Policy.MaxRetryAfter == 0 {
		cfg.Policy.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Resilient{name: cfg.Name, llm: cfg.LLM, policy: cfg.Policy, fallback: cfg.Fallback, clock: cfg.Clock, jitter: cfg.Jitter}, nil
}

// Name is the pool name the model records in attempts.
func (r *Resilient) Name() string { return r.name }

// Policy returns the retry policy after defaults.
func (r *Resilient) Policy() RetryPolicy { return r.policy }

// Fallback returns the fallback model, or nil.
func (r *Resilient) Fallback() *Model { return r.fallback }

// Unwrap returns the provider client.
func (r *Resilient) Unwrap() llms.Model { return r.llm }

// Call implements llms.Model.
func (r *Resilient) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, r, prompt, options...)
}

// visitedKey marks the models a call has already passed through, so a
// fallback chain assembled by hand cannot loop.
type visitedKey struct{}

func visited(ctx context.Context, name string) bool {
	for v, _ := ctx.Value(visitedKey{}).(*visit); v != nil; v = v.prev {
		if v.name == name {
			return true
		}
	}
	return false
}

type visit struct {
	name string
	prev *visit
}

// GenerateContent implements llms.Model: it calls the provider, retrying and
// falling back as the policy says. A call that has streamed a chunk to the
// caller is not retried, since the caller would see the chunks twice.
func (r *Resilient) GenerateContent(ctx context.Context, messages []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	if visited(ctx, r.name) {
		return nil, fmt.Errorf("model %s: fallback loop", r.name)
	}
	prev, _ := ctx.Value(visitedKey{}).(*visit)
	ctx = context.WithValue(ctx, visitedKey{}, &visit{name: r.name, prev: prev})

	var opts llms.CallOptions
	for _, o := range options {
		o(&opts)
	}
	// Some clients call the streaming function from their own goroutine.
	var streamedFlag atomic.Bool
	if opts.StreamingFunc != nil {
		f := opts.StreamingFunc
		options = append(options[:len(options):len(options)], llms.WithStreamingFunc(func(ctx context.Context, chunk []byte) error {
			if len(chunk) > 0 {
				streamedFlag.Store(true)
			}
			return f(ctx, chunk)
		}))
	}

	var lastErr error
	attempts := 0
	for k := 0; k <= r.policy.MaxRetries; k++ {
		attempts++
		resp, a, fail, err := r.attempt(ctx, messages, options, opts.StreamingFunc != nil)
		if err == nil {
			recordAttempt(ctx, a)
			return resp, nil
		}
		lastErr = err
		if cerr := ctx.Err(); cerr != nil {
			recordAttempt(ctx, a)
			return nil, fmt.Errorf("model %s: %w (provider: %v)", r.name, cerr, err)
		}
		if !fail.retryable || k == r.policy.MaxRetries || streamedFlag.Load() {
			recordAttempt(ctx, a)
			break
		}
		wait := r.backoff(k)
		if fail.retryAfter > 0 {
			if fail.retryAfter > r.policy.MaxRetryAfter {
				recordAttempt(ctx, a)
				lastErr = fmt.Errorf("%w (the server asked to wait %v, more than the %v allowed)", err, fail.retryAfter, r.policy.MaxRetryAfter)
				break
			}
			wait = max(wait, fail.retryAfter)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			recordAttempt(ctx, a)
			lastErr = fmt.Errorf("%w (no time left to wait %v before a retry)", err, wait)
			break
		}
		a.Wait = wait
		recordAttempt(ctx, a)
		if err := r.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("model %s: %w (waiting to retry after: %v)", r.name, err, lastErr)
		}
	}
	err := fmt.Errorf("model %s: %d attempt(s) failed: %w", r.name, attempts, lastErr)
	if r.fallback == nil || streamedFlag.Load() {
		return nil, err
	}
	resp, ferr := r.callFallback(ctx, messages, options)
	if ferr != nil {
		return nil, fmt.Errorf("%w; fallback: %w", err, ferr)
	}
	return resp, nil
}

// attempt makes one call and returns it with its record, which the caller
// completes (the wait before a retry) and records.
func (r *Resilient) attempt(ctx context.Context, messages []llms.MessageContent, options []llms.CallOption, streaming bool) (*llms.ContentResponse, Attempt, failure, error) {
	start := r.clock.Now()
	actx, cancel := ctx, context.CancelFunc(func() {})
	if r.policy.Timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, r.policy.Timeout)
	}
	actx, p := withProbe(actx)
	resp, err := r.llm.GenerateContent(actx, messages, options...)
	timedOut := err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if err == nil && (resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil) {
		err = errors.New("empty response")
	}
	end := r.clock.Now()
	status, _, _, _ := p.get()
	if err == nil && streaming && status != 0 && resp.Choices[0].StopReason == "" {
		// langchaingo's OpenAI client skips undecodable events and returns
		// what it has when a stream breaks off; a finished stream always
		// carries a finish reason.
		err = errors.New("the reply stream ended before the reply was finished")
	}
	a := Attempt{Model: r.name, Start: start, Latency: end.Sub(start), Status: status}
	if err == nil {
		return resp, a, failure{}, nil
	}
	var fail failure
	if timedOut {
		err = fmt.Errorf("attempt timed out after %v (provider: %v)", r.policy.Timeout, err)
		fail = failure{retryable: true}
	} else {
		fail = classify(err, p, end)
		if a.Status == 0 {
			a.Status = fail.status
		}
	}
	a.Error = err.Error()
	return nil, a, fail, err
}

// backoff is the jittered delay before retry k (from 0).
func (r *Resilient) backoff(k int) time.Duration {
	ceiling := float64(r.policy.BaseDelay) * math.Pow(2, float64(k))
	ceiling = math.Min(ceiling, float64(r.policy.MaxDelay))
	return time.Duration(r.jitter() * ceiling)
}

// callFallback calls the fallback model. A fallback that is not Resilient
// records no attempts of its own, so its one attempt is recorded here.
func (r *Resilient) callFallback(ctx context.Context, messages []llms.MessageContent, options []llms.CallOption) (*llms.ContentResponse, error) {
	fb := r.fallback
	if _, ok := fb.LLM.(*Resilient); ok {
		return fb.LLM.GenerateContent(ctx, messages, options...)
	}
	start := r.clock.Now()
	actx, p := withProbe(ctx)
	resp, err := fb.LLM.GenerateContent(actx, messages, options...)
	if err == nil && (resp == nil || len(resp.Choices) == 0 || resp.Choices[0] == nil) {
		err = errors.New("empty response")
	}
	status, _, _, _ := p.get()
	a := Attempt{Model: fb.Name, Start: start, Latency: r.clock.Now().Sub(start), Status: status}
	if err != nil {
		a.Error = err.Error()
		recordAttempt(ctx, a)
		return nil, fmt.Errorf("model %s: %w", fb.Name, err)
	}
	recordAttempt(ctx, a)
	return resp, nil
}
