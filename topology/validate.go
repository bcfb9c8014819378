package topology

import (
	"fmt"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
)

// Agent-count and round limits a plan must respect.
const (
	// MinAgents is the fewest agents a multi-agent mode accepts.
	MinAgents = 2
	// MaxAgents is the most agents a multi-agent mode accepts.
	MaxAgents = 8
	// MaxRounds is the most Debate rounds a plan may ask for.
	MaxRounds = 5
)

// Validate checks the plan's shape and that every role exists in the plan's
// domain of reg and every model (and the decider) is in pool. Errors name the
// agent index, the field and the bad value, and wrap roles.ErrUnknownRole or
// agents.ErrUnknownModel.
func (p Plan) Validate(reg *roles.Registry, pool *agents.Pool) error {
	if err := p.validateShape(); err != nil {
		return err
	}
	if reg == nil {
		return fmt.Errorf("plan: no role registry")
	}
	if pool == nil {
		return fmt.Errorf("plan: no model pool")
	}
	if p.Domain == "" {
		return fmt.Errorf("plan: field domain: empty")
	}
	for i, a := range p.Agents {
		if _, err := reg.Get(p.Domain, a.Role); err != nil {
			return fmt.Errorf("plan: agent %d: field role: %w", i, err)
		}
		if _, err := pool.Get(a.Model); err != nil {
			return fmt.Errorf("plan: agent %d: field model: %w", i, err)
		}
	}
	if p.Decider != "" {
		if _, err := pool.Get(p.Decider); err != nil {
			return fmt.Errorf("plan: field decider: %w", err)
		}
	}
	return nil
}

// validateShape checks everything that does not need a registry or a pool:
// the mode, the agent count, the rounds, the decision method and that no
// role or model name is empty.
func (p Plan) validateShape() error {
	if canonicalMode(p.Mode) == "" {
		return fmt.Errorf("plan: field mode: unknown mode %q (want one of IO, CoT, Reflection, Chain, Tree, Graph, Debate, spelled so)", p.Mode)
	}
	n := len(p.Agents)
	if p.Mode.SingleAgent() {
		if n != 1 {
			return fmt.Errorf("plan: field agents: mode %s needs exactly 1 agent, got %d", p.Mode, n)
		}
	} else if n < MinAgents || n > MaxAgents {
		return fmt.Errorf("plan: field agents: mode %s needs %d..%d agents, got %d", p.Mode, MinAgents, MaxAgents, n)
	}
	if p.Mode == ModeDebate && (p.Rounds < 0 || p.Rounds > MaxRounds) {
		return fmt.Errorf("plan: field rounds: %d is outside 1..%d", p.Rounds, MaxRounds)
	}
	switch p.DecisionMethod() {
	case DecideLast, DecideVote, DecideRefer:
	default:
		return fmt.Errorf("plan: field decision: unknown method %q (want last, vote or refer)", p.Decision)
	}
	for i, a := range p.Agents {
		if strings.TrimSpace(a.Role) == "" {
			return fmt.Errorf("plan: agent %d: field role: empty", i)
		}
		if strings.TrimSpace(a.Model) == "" {
			return fmt.Errorf("plan: agent %d: field model: empty", i)
		}
	}
	return nil
}

// canonicalMode returns m if it is spelled exactly as one of the modes and ""
// otherwise: a plan is a typed value, so "chain" is refused (ParseMode is the
// place for forgiving user input).
func canonicalMode(m Mode) Mode {
	for _, c := range Modes() {
		if c == m {
			return c
		}
	}
	return ""
}
