//go:build !race

package routing

// raceEnabled reports whether the tests run under the race detector, which
// makes the long single-goroutine computations too slow to be worth running.
const raceEnabled = false
