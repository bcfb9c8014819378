package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// platformSupported is true: Linux has setrlimit, process groups and namespaces.
const platformSupported = true

// sysProcAttr puts the child in its own process group, kills it if the
// runner dies, and adds the namespaces i names.
func (i Isolation) sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if i.Network {
		a.Cloneflags |= syscall.CLONE_NEWNET
	}
	if i.PID {
		a.Cloneflags |= syscall.CLONE_NEWPID
	}
	if i.User {
		a.Cloneflags |= syscall.CLONE_NEWUSER
		uid, gid := os.Getuid(), os.Getgid()
		a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		a.GidMappingsEnableSetgroups = false
	}
	return a
}

// probeIsolation finds the strongest namespace set the platform lets this
// process create, by starting the interpreter under each in turn.
func probeIsolation(ctx context.Context, python string, off bool) Isolation {
	if off {
		return Isolation{Reason: "turned off by config"}
	}
	var tries []Isolation
	if os.Geteuid() == 0 {
		tries = append(tries, Isolation{Network: true, PID: true})
	}
	tries = append(tries, Isolation{Network: true, PID: true, User: true}, Isolation{Network: true, User: true})
	var last error
	for _, iso := range tries {
		if last = tryIsolation(ctx, python, iso); last == nil {
			return iso
		}
	}
	return Isolation{Reason: fmt.Sprintf("the platform refused them: %v", last)}
}

func tryIsolation(ctx context.Context, python string, iso Isolation) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-S", "-c", "pass")
	cmd.SysProcAttr = iso.sysProcAttr()
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	return cmd.Run()
}

// killGroup kills the child's process group (and with it, in a PID
// namespace, every process the child started).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// signalOf names the signal that ended the child, if one did.
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
