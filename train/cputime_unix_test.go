//go:build unix

package train

import (
	"syscall"
	"time"
)

// cpuTime is the user and system CPU time the process has used, so
// benchmarks can report per-core cost even on a loaded machine.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
