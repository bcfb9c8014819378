package server

import (
	"context"
	"fmt"
	"math"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// DefaultTemperature is the β of a Policy without one: train's default
// entropy coefficient.
const DefaultTemperature = 0.01

// promptOverhead approximates, in tokens, what a prompt adds to the query:
// the role's system prompt, the step's instructions and the format.
const promptOverhead = 150

// Policy is a routing policy and the cost weight λ it was trained for.
type Policy struct {
	// Name labels the policy in responses and logs (e.g. its file).
	Name string
	// Lambda is the λ of reward = score − λ·dollars the policy was trained
	// with.
	Lambda float64
	// Temperature is β, the entropy coefficient the policy was trained
	// with; 0 means DefaultTemperature. It converts a change of λ into a
	// shift of the model stage's logits (see Config).
	Temperature float64
	// Controller routes. It should decode greedily for stable answers.
	Controller *routing.Controller
}

// nearest returns the policy whose λ is closest to lambda; ties go to the
// smaller λ. Policies are sorted by λ.
func nearest(ps []Policy, lambda float64) *Policy {
	best := &ps[0]
	for i := range ps[1:] {
		p := &ps[i+1]
		if math.Abs(p.Lambda-lambda) < math.Abs(best.Lambda-lambda) {
			best = p
		}
	}
	return best
}

// route returns the plan for t at cost weight lambda: the nearest policy's
// plan, then, when lambda differs from that policy's λ by Δ, each agent's
// model re-chosen by
//
//	argmax_m  log π(m | query, mode, role) − Δ · ĉ(m) / β
//
// where ĉ(m) is the expected dollars of one call on m (the query plus
// promptOverhead tokens in, expectedCompletion out, at the highest price
// among m and its fallbacks). An entropy-regularised policy trained at λ is
// π(m) ∝ exp(Q(m)/β); moving to λ+Δ lowers each Q(m) by Δ·ĉ(m), so this is
// the policy the same training would approach at the requested λ, holding
// the mode and roles fixed. The model stage of one agent does not depend on
// the others' models, so each agent is re-chosen on its own.
func route(ctx context.Context, pol *Policy, pool *agents.Pool, t *tasks.Task, lambda float64, expectedCompletion int) (topology.Plan, error) {
	plan, err := pol.Controller.Route(ctx, t)
	if err != nil {
		return topology.Plan{}, err
	}
	delta := lambda - pol.Lambda
	if delta == 0 {
		return plan, nil
	}
	beta := pol.Temperature
	if beta <= 0 {
		beta = DefaultTemperature
	}
	f, err := pol.Controller.Encode(ctx, t)
	if err != nil {
		return topology.Plan{}, err
	}
	models := pool.Models()
	prompt := agents.EstimateTokens(t.Query) + promptOverhead
	cand := plan
	cand.Agents = append([]topology.AgentSpec(nil), plan.Agents...)
	for i := range plan.Agents {
		best, bestScore := plan.Agents[i].Model, math.Inf(-1)
		for _, m := range models {
			cand.Agents[i].Model = m.Name
			_, choices, err := pol.Controller.LogProbFeatures(f, t.Domain, cand)
			if err != nil {
				return topology.Plan{}, fmt.Errorf("re-weight agent %d for λ=%g: %w", i, lambda, err)
			}
			lp := modelLogProb(choices, i)
			completion := expectedCompletion
			if m.MaxTokens > 0 {
				completion = min(completion, m.MaxTokens)
			}
			cost := m.PriceCeiling().Cost(agents.Usage{PromptTokens: prompt, CompletionTokens: completion})
			if score := lp - delta*cost/beta; score > bestScore {
				best, bestScore = m.Name, score
			}
		}
		cand.Agents[i].Model = best
	}
	_, choices, err := pol.Controller.LogProbFeatures(f, t.Domain, cand)
	if err != nil {
		return topology.Plan{}, err
	}
	cand.Choices = choices
	return cand, nil
}

// modelLogProb is the log-probability of agent i's model choice.
func modelLogProb(choices []topology.Choice, i int) float64 {
	for _, c := range choices {
		if c.Stage == "model" && c.Index == i {
			return c.LogProb
		}
	}
	return math.Inf(-1)
}
