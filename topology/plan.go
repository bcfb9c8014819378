// Package topology turns a Plan (a collaboration mode, roles and a model per
// role) into an agent DAG, runs it, and records a Trace.
package topology

import (
	"fmt"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

// Mode is a collaboration mode.
type Mode string

// The collaboration modes, in MasRouter's order.
const (
	ModeIO         Mode = "IO"
	ModeCoT        Mode = "CoT"
	ModeReflection Mode = "Reflection"
	ModeChain      Mode = "Chain"
	ModeTree       Mode = "Tree"
	ModeGraph      Mode = "Graph"
	ModeDebate     Mode = "Debate"
)

// Modes lists every mode in a stable order.
func Modes() []Mode {
	return []Mode{ModeIO, ModeCoT, ModeReflection, ModeChain, ModeTree, ModeGraph, ModeDebate}
}

// ParseMode returns the mode named s (case-insensitive).
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes() {
		if strings.EqualFold(string(m), s) {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown mode %q (want one of IO, CoT, Reflection, Chain, Tree, Graph, Debate)", s)
}

// SingleAgent reports whether the mode runs exactly one agent.
func (m Mode) SingleAgent() bool { return m == ModeIO || m == ModeCoT || m == ModeReflection }

// Decision method of a plan's final node.
type DecisionMethod string

// The ways a decision node writes the final answer.
const (
	// DecideLast passes through the reply of the last agent (no model call).
	DecideLast DecisionMethod = "last"
	// DecideVote takes the majority of the extracted answers of the final
	// agents (no model call); ties go to the earliest such agent.
	DecideVote DecisionMethod = "vote"
	// DecideRefer asks a model (Plan.Decider) to read every final reply and
	// write the answer.
	DecideRefer DecisionMethod = "refer"
)

// AgentSpec is one agent of a plan: a role name and the model it runs on.
type AgentSpec struct {
	Role  string `json:"role"`
	Model string `json:"model"`
}

// Choice is one decision the router took, with the log-probability the
// deciding policy gave it.
type Choice struct {
	// Stage is "mode", "count", "role" or "model".
	Stage string `json:"stage"`
	// Index is the agent slot for role and model stages, else 0.
	Index int `json:"index"`
	// Value is what was chosen (mode name, count, role name, model name).
	Value string `json:"value"`
	// LogProb is log π(Value | earlier choices, query).
	LogProb float64 `json:"logprob"`
}

// Plan is a routed multi-agent system for one query.
type Plan struct {
	Mode   Mode         `json:"mode"`
	Domain tasks.Domain `json:"domain"`
	Agents []AgentSpec  `json:"agents"`
	// Rounds is the number of Debate rounds (default 2); other modes ignore it.
	Rounds int `json:"rounds,omitempty"`
	// Decision says how the final node answers; empty means DefaultDecision(Mode).
	Decision DecisionMethod `json:"decision,omitempty"`
	// Decider is the model of a DecideRefer node; empty means the first agent's model.
	Decider string `json:"decider,omitempty"`
	// Choices records the router's decisions, empty for hand-written plans.
	Choices []Choice `json:"choices,omitempty"`
}

// DefaultDecision is the decision method a mode uses unless a plan overrides it:
// the last agent of single-agent modes, Chain and Graph already sees every
// earlier reply; Debate votes over its final round; Tree's root merges.
func DefaultDecision(m Mode) DecisionMethod {
	switch m {
	case ModeDebate:
		return DecideVote
	case ModeTree:
		return DecideRefer
	default:
		return DecideLast
	}
}

// DecisionMethod returns the plan's decision method after defaults.
func (p Plan) DecisionMethod() DecisionMethod {
	if p.Decision != "" {
		return p.Decision
	}
	return DefaultDecision(p.Mode)
}

// DebateRounds returns the number of debate rounds after defaults.
func (p Plan) DebateRounds() int {
	if p.Rounds > 0 {
		return p.Rounds
	}
	return 2
}

// LogProb is the log-probability of the whole plan: the sum over its choices.
func (p Plan) LogProb() float64 {
	var s float64
	for _, c := range p.Choices {
		s += c.LogProb
	}
	return s
}

// String renders the plan on one line, e.g. "Chain[Math Solver@gpt-4o-mini -> Math Critic@gpt-4o]".
func (p Plan) String() string {
	parts := make([]string, len(p.Agents))
	for i, a := range p.Agents {
		parts[i] = a.Role + "@" + a.Model
	}
	sep := ", "
	if p.Mode == ModeChain {
		sep = " -> "
	}
	s := string(p.Mode) + "[" + strings.Join(parts, sep) + "]"
	if p.Mode == ModeDebate {
		s += fmt.Sprintf("x%d", p.DebateRounds())
	}
	return s
}
