//go:build unix && !linux

package sandbox

import (
	"context"
	"os/exec"
	"syscall"
)

// platformSupported is true: Unix has setrlimit and process groups.
const platformSupported = true

func (i Isolation) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func probeIsolation(context.Context, string, bool) Isolation {
	return Isolation{Reason: "namespaces are Linux-only"}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
}

func signalOf(cmd *exec.Cmd) (string, bool) {
	if cmd.ProcessState == nil {
		return "", false
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return "", false
	}
	return ws.Signal().String(), true
}
