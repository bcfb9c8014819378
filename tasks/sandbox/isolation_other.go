//go:build !unix

package sandbox

import (
	"context"
	"os/exec"
	"syscall"
)

// platformSupported is false: the harness needs the resource module.
const platformSupported = false

func (i Isolation) sysProcAttr() *syscall.SysProcAttr { return nil }

func probeIsolation(context.Context, string, bool) Isolation {
	return Isolation{Reason: "not a Unix system"}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func signalOf(*exec.Cmd) (string, bool) { return "", false }
