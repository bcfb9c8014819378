//go:build !unix

package routing

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
