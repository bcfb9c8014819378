// Package roles holds the agent role profiles masrouter allocates: the
// embedded profiles written for each domain, a registry to look them up, and
// a loader for a user's own folder of profiles.
package roles

import (
	"fmt"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

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

// Validate reports the first missing or invalid field of a role. The error
// names the field by its YAML key, e.g. "field kind: ...".
func (r Role) Validate() error {
	fail := func(field, format string, args ...any) error {
		return &fieldError{role: r.Name, field: field, problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case strings.TrimSpace(r.Name) == "":
		return fail("name", "missing or empty")
	case strings.TrimSpace(r.Name) != r.Name:
		return fail("name", "%q has leading or trailing white space", r.Name)
	case strings.ContainsAny(r.Name, "\n\r"):
		return fail("name", "%q contains a line break", r.Name)
	case r.Domain == "":
		return fail("domain", "missing or empty")
	}
	if _, err := tasks.ParseDomain(string(r.Domain)); err != nil {
		return fail("domain", "%v", err)
	}
	switch r.Kind {
	case KindSolver, KindPlanner, KindCritic, KindVerifier:
	case "":
		return fail("kind", "missing or empty (want one of solver, planner, critic, verifier)")
	default:
		return fail("kind", "%q is not one of solver, planner, critic, verifier", r.Kind)
	}
	switch {
	case strings.TrimSpace(r.SystemPrompt) == "":
		return fail("system_prompt", "missing or empty")
	case strings.TrimSpace(r.OutputFormat) == "":
		return fail("output_format", "missing or empty")
	}
	for i, e := range r.Expertise {
		if strings.TrimSpace(e) == "" {
			return fail("expertise", "entry %d is empty", i+1)
		}
	}
	return nil
}

// fieldError is a Validate failure; ParseYAML uses field to find the line.
type fieldError struct {
	role    string
	field   string
	problem string
}

func (e *fieldError) Error() string {
	if e.role == "" || e.field == "name" {
		return fmt.Sprintf("field %s: %s", e.field, e.problem)
	}
	return fmt.Sprintf("role %q: field %s: %s", e.role, e.field, e.problem)
}
