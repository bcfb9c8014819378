// Command masrouter routes queries to multi-agent systems of priced LLMs,
// runs them, and compares the result with static delegation.
//
//	masrouter bench --task gsm8k --n 200   # routers vs baselines on real questions
//	masrouter run --task gsm8k --index 3   # one routed plan, every agent's reply
//	masrouter route --task math --index 7  # the plan only
//
// Without a pool file every model is simulated offline (see package
// agents/sim); nothing reaches the network.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "masrouter:", err)
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}
	return 0
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "masrouter",
		Short:         "Route every query to the cheapest multi-agent system that still answers it well",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newBenchCmd(), newRunCmd(), newRouteCmd(), newCollectCmd(), newTrainCmd(), newEvalCmd(), newServeCmd())
	return root
}
