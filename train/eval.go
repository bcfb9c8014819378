// Package train records trajectories, learns the router with policy gradient
// (online and from logged trajectories), evaluates routers, and saves
// checkpoints.
package train

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// MethodResult aggregates one router's runs over a task set.
type MethodResult struct {
	Method string `json:"method"`
	N      int    `json:"n"`
	// Accuracy is the mean score in [0, 1].
	Accuracy         float64 `json:"accuracy"`
	Dollars          float64 `json:"dollars"`
	DollarsPerQuery  float64 `json:"dollars_per_query"`
	DollarsPerSolved float64 `json:"dollars_per_solved"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	// MeanAgents is the mean number of model calls per query.
	MeanAgents float64 `json:"mean_agents"`
	// MeanCriticalPath is the mean end-to-end latency the plans would have on
	// real models at full concurrency (provider-reported latencies).
	MeanCriticalPath time.Duration `json:"mean_critical_path_ns"`
	// Failed counts queries whose run returned an error (scored 0).
	Failed int `json:"failed"`
	// Usage histograms: how often each mode, role and model was chosen.
	Modes  map[string]int `json:"modes"`
	Roles  map[string]int `json:"roles"`
	Models map[string]int `json:"models"`
}

// EvalOptions tunes Evaluate.
type EvalOptions struct {
	// Workers runs this many queries at once (default GOMAXPROCS).
	Workers int
	// Progress, if set, is called after every finished query with the count
	// done and the total; calls are serialised.
	Progress func(done, total int)
	// OnTrace, if set, is called once for every finished query, serialised,
	// in completion order: router and task index the slices given to
	// Evaluate, and tr is nil when routing failed. Queries are started task
	// by task (every router on task 0, then on task 1, ...), so a caller
	// that wants that order back need only buffer a few.
	OnTrace func(router, task int, t *tasks.Task, p topology.Plan, tr *topology.Trace)
}

// Evaluate runs every router on every task with the executor and aggregates
// the results per router, in the order the routers were given. A query whose
// routing or run fails counts as wrong and is counted in Failed; Evaluate
// itself fails only when ctx ends.
func Evaluate(ctx context.Context, exec *topology.Executor, routers []routing.Router, ts []*tasks.Task, opt EvalOptions) ([]MethodResult, error) {
	if exec == nil {
		return nil, errors.New("evaluate: nil executor")
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct{ r, t int }
	type outcome struct {
		plan  topology.Plan
		trace *topology.Trace
		err   error
	}
	results := make([][]outcome, len(routers))
	for i := range results {
		results[i] = make([]outcome, len(ts))
	}
	jobs := make(chan job)
	var done atomic.Int64
	var mu sync.Mutex
	total := len(routers) * len(ts)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, t := routers[j.r], ts[j.t]
				var o outcome
				o.plan, o.err = r.Route(ctx, t)
				if o.err == nil {
					o.trace, o.err = exec.Run(ctx, o.plan, t)
				}
				results[j.r][j.t] = o
				n := int(done.Add(1))
				if opt.Progress != nil || opt.OnTrace != nil {
					mu.Lock()
					if opt.OnTrace != nil {
						opt.OnTrace(j.r, j.t, t, o.plan, o.trace)
					}
					if opt.Progress != nil {
						opt.Progress(n, total)
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for ti := range ts {
		for ri := range routers {
			select {
			case jobs <- job{ri, ti}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	out := make([]MethodResult, len(routers))
	for ri, r := range routers {
		out[ri] = aggregate(r.Name(), results[ri], func(o outcome) (topology.Plan, *topology.Trace, error) { return o.plan, o.trace, o.err })
	}
	return out, nil
}

func aggregate[T any](name string, os []T, get func(T) (topology.Plan, *topology.Trace, error)) MethodResult {
	m := MethodResult{Method: name, N: len(os), Modes: map[string]int{}, Roles: map[string]int{}, Models: map[string]int{}}
	var score, agentsN float64
	var crit time.Duration
	for _, o := range os {
		plan, tr, err := get(o)
		if tr != nil {
			m.Dollars += tr.Dollars
			m.PromptTokens += tr.PromptTokens
			m.CompletionTokens += tr.CompletionTokens
			agentsN += float64(tr.Agents())
			crit += tr.CriticalPath
		}
		if err != nil {
			m.Failed++
		} else if tr != nil {
			score += tr.Score
		}
		if len(plan.Agents) > 0 {
			m.Modes[string(plan.Mode)]++
			for _, a := range plan.Agents {
				m.Roles[a.Role]++
				m.Models[a.Model]++
			}
		}
	}
	if m.N > 0 {
		n := float64(m.N)
		m.Accuracy = score / n
		m.DollarsPerQuery = m.Dollars / n
		m.MeanAgents = agentsN / n
		m.MeanCriticalPath = crit / time.Duration(m.N)
	}
	if score > 0 {
		m.DollarsPerSolved = m.Dollars / score
	}
	return m
}

// SortedKeys returns a histogram's keys, most frequent first, ties by name.
func SortedKeys(h map[string]int) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if h[keys[i]] != h[keys[j]] {
			return h[keys[i]] > h[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
