// Package routing decides, for each query, the multi-agent system to run:
// the cascaded controller (mode, agent count, roles one by one, a model per
// role), its query encoders, and the baselines it is compared with.
package routing

import (
	"context"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// Router picks a plan for a task.
type Router interface {
	// Name identifies the router in reports, e.g. "masrouter" or "static-delegation".
	Name() string
	// Route returns the plan to run for t.
	Route(ctx context.Context, t *tasks.Task) (topology.Plan, error)
}
