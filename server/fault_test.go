package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/internal/providertest"
	"github.com/masrouter/masrouter/server"
)

// instantClock never sleeps, so backoffs and Retry-After cost no time.
type instantClock struct{ slept atomic.Int64 }

func (c *instantClock) Now() time.Time { return time.Now() }
func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.slept.Add(int64(d))
	return ctx.Err()
}

// faultyPool serves every simulated model through a fake OpenAI-compatible
// API where 20 % of requests, drawn by a hash of their arrival number,
// fail in one of seven ways: 429 with Retry-After, 500, 503 with
// Retry-After, a reply slower than the timeout, malformed JSON, a dropped
// connection, a connection cut mid-body.
// The pool is built from a pool file like a user's, with fallbacks.
func faultyPool(t *testing.T, clock agents.Clock) (*agents.Pool, *providertest.Server) {
	t.Helper()
	world, err := sim.NewWorld(sim.Config{Seed: 1, Benchmarks: []string{"gsm8k"}})
	require.NoError(t, err)
	faults := providertest.Faults()
	srv := providertest.New(providertest.Config{
		Wire: providertest.OpenAI,
		Backend: func(model string) (llms.Model, error) {
			return world.Model(model)
		},
		Fault: func(n int64) providertest.Fault {
			h := splitmix(uint64(n))
			if float64(h>>11)/(1<<53) >= 0.2 {
				return providertest.None
			}
			return faults[splitmix(h)%uint64(len(faults))]
		},
	})
	t.Cleanup(srv.Close)

	simPool, err := world.Pool()
	require.NoError(t, err)
	// Every model falls back along a chain that ends at llama-3.1-8b, the
	// last resort, which retries more.
	fallback := map[string]string{"gpt-4o-mini": "gemini-1.5-flash", "llama-3.1-70b": "llama-3.1-8b", "llama-3.1-405b": "llama-3.1-70b",
		"gpt-4o": "gpt-4o-mini", "claude-3.5-sonnet": "gpt-4o", "gemini-1.5-flash": "llama-3.1-8b"}
	var b strings.Builder
	b.WriteString("defaults:\n  timeout: 300ms\n  max_retries: 3\nmodels:\n")
	for _, m := range simPool.Models() {
		fmt.Fprintf(&b, "  - name: %s\n    provider: openai\n    base_url: %s\n", m.Name, srv.URL)
		fmt.Fprintf(&b, "    price: {input_per_million: %g, output_per_million: %g}\n", m.Price.InputPerMillion, m.Price.OutputPerMillion)
		fmt.Fprintf(&b, "    skills: {math: %g, commonsense: %g}\n", m.Skills["math"], m.Skills["commonsense"])
		if fb := fallback[m.Name]; fb != "" {
			fmt.Fprintf(&b, "    fallback: %s\n", fb)
		} else {
			b.WriteString("    max_retries: 10\n")
		}
	}
	f, err := agents.ParsePoolFile("faulty.yaml", []byte(b.String()))
	require.NoError(t, err)
	pool, err := f.Build(context.Background(), agents.PoolFileOptions{Clock: clock})
	require.NoError(t, err)
	return pool, srv
}

// TestThousandQueriesUnderFaults sends 1,000 GSM8K questions through the
// server while 20 % of provider requests fail, and checks none is lost:
// every query is answered, and every provider request appears as an
// attempt in some response's trace.
func TestThousandQueriesUnderFaults(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	n := 1000
	if testing.Short() {
		n = 200
	}
	clock := &instantClock{}
	pool, backend := faultyPool(t, clock)
	s := newServer(t, pool, func(c *server.Config) {
		c.Policies = []server.Policy{{Name: "untrained", Lambda: 30, Controller: controller(t, pool, 1)}}
	})
	qs := gsm8k(t, n)
	lambdas := []string{"0", "10", "30", "1000"} // from dear plans to cheap ones

	type outcome struct {
		status                      int
		content                     string
		attempts, failed, fallbacks int
		failedNodes                 int
		models                      []string
	}
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				w := post(t, s, chatBody("masrouter:"+lambdas[i%len(lambdas)], qs[i].Query, nil), nil)
				o := outcome{status: w.Code}
				if w.Code == http.StatusOK {
					var c completion
					decodeStrict(t, w.Body.Bytes(), &c)
					o.content = c.Choices[0].Message.Content
					o.models = c.Masrouter.AnsweredBy
					for _, nd := range c.Masrouter.Nodes {
						if nd.AnsweredBy != "" {
							o.fallbacks++
						}
						if nd.Error != "" {
							o.failedNodes++
						}
						for _, a := range nd.Attempts {
							o.attempts++
							if a.Error != "" {
								o.failed++
							}
						}
					}
				} else {
					o.content = w.Body.String()
				}
				outcomes[i] = o
			}
		}()
	}
	wg.Wait()

	var attempts, failed, fallbacks, failedNodes int
	models := map[string]bool{}
	for i, o := range outcomes {
		require.Equal(t, http.StatusOK, o.status, "query %d lost: %s", i, o.content)
		require.NotEmpty(t, o.content, "query %d", i)
		attempts += o.attempts
		failed += o.failed
		fallbacks += o.fallbacks
		failedNodes += o.failedNodes
		for _, m := range o.models {
			models[m] = true
		}
	}
	requests, faulted, answered := backend.Count()
	t.Logf("%d queries: %d provider requests (%d faulted, %d answered), %d attempts recorded (%d failed), %d nodes answered by a fallback, %d nodes failed for good, %d models answered, %v of backoff skipped",
		n, requests, faulted, answered, attempts, failed, fallbacks, failedNodes, len(models), time.Duration(clock.slept.Load()))
	// Every request the provider saw is an attempt in some trace. Under
	// heavy load an attempt can also time out before its request reaches
	// the provider, so attempts may exceed requests, never fall short.
	assert.GreaterOrEqual(t, attempts, requests, "every provider request is an attempt in a trace")
	assert.GreaterOrEqual(t, failed, faulted, "every injected fault is a failed attempt")
	// A request the server answered after the client's timeout is a failed
	// attempt too, so under load answered can exceed the successful ones.
	assert.LessOrEqual(t, attempts-failed, answered, "every successful attempt was answered by the server")
	assert.InDelta(t, 0.2, float64(faulted)/float64(requests), 0.01)
	assert.GreaterOrEqual(t, len(models), 2, "dear and cheap plans both ran: %v", models)
	assert.Positive(t, clock.slept.Load(), "backoffs happened, on the injected clock")

	m := scrape(t, s)
	var okAttempts, errAttempts float64
	for k, v := range m {
		if strings.HasPrefix(k, "masrouter_model_attempts_total{") {
			if strings.Contains(k, `outcome="ok"`) {
				okAttempts += v
			} else {
				errAttempts += v
			}
		}
	}
	assert.Equal(t, float64(attempts), okAttempts+errAttempts, "metrics count every attempt")
	assert.Equal(t, float64(failed), errAttempts)
	assert.Equal(t, float64(n), m[`masrouter_requests_total{path="/v1/chat/completions",code="200"}`])
}

// splitmix is SplitMix64's finaliser: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
