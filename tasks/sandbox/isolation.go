package sandbox

import "strings"

// Isolation says which kernel isolation a runner's interpreters get on top
// of the resource limits, the audit hook and the process group.
type Isolation struct {
	// Network is true when each check runs in an empty network namespace:
	// no interface but a down loopback, so no connection can be made.
	Network bool `json:"network"`
	// PID is true when each check runs in its own PID namespace: every
	// process the program starts dies when the interpreter ends.
	PID bool `json:"pid"`
	// User is true when the namespaces sit in a new user namespace (how an
	// unprivileged user gets them).
	User bool `json:"user"`
	// Reason says why namespaces are off, when they are.
	Reason string `json:"reason,omitempty"`
}

// String describes the isolation in a few words.
func (i Isolation) String() string {
	var parts []string
	if i.Network {
		parts = append(parts, "network namespace")
	}
	if i.PID {
		parts = append(parts, "PID namespace")
	}
	if i.User {
		parts = append(parts, "user namespace")
	}
	if len(parts) == 0 {
		s := "no namespaces"
		if i.Reason != "" {
			s += " (" + i.Reason + ")"
		}
		return s
	}
	return strings.Join(parts, ", ")
}
