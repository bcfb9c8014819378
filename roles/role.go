// Package roles holds the agent role profiles masrouter allocates: the
// embedded profiles written for each domain, a registry to look them up, and
// a loader for a user's own folder of profiles.
package roles

import "github.com/masrouter/masrouter/tasks"

// Kind says what a role contributes to a collaboration.
type Kind string

// The role kinds. Executors and simulators may treat them differently: a
// planner outlines, a critic or verifier checks others' work, a solver solves.
const (
	KindSolver   Kind = "solver"
	KindPlanner  Kind = "planner"
	KindCritic   Kind = "critic"
	KindVerifier Kind = "verifier"
)

// Role is one agent profile: who the agent is and how it must answer.
type Role struct {
	// Name is unique within its domain, e.g. "Math Solver".
	Name string `yaml:"name" json:"name"`
	// Domain is the domain whose tasks the role serves.
	Domain tasks.Domain `yaml:"domain" json:"domain"`
	// Kind is the role's function in a team.
	Kind Kind `yaml:"kind" json:"kind"`
	// Description is one or two sentences a router can read.
	Description string `yaml:"description" json:"description"`
	// SystemPrompt is the system message the agent runs with.
	SystemPrompt string `yaml:"system_prompt" json:"system_prompt"`
	// OutputFormat tells the agent how to write its final answer so the
	// domain's scorer can extract it.
	OutputFormat string `yaml:"output_format" json:"output_format"`
	// Expertise lists topic keywords the role is strong at (e.g. "geometry").
	Expertise []string `yaml:"expertise" json:"expertise,omitempty"`
}
