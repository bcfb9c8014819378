package topology

import (
	"fmt"
	"strconv"

	"github.com/dominikbraun/graph"

	"github.com/masrouter/masrouter/agents"
)

// DecisionID is the id of the decision node every DAG ends in.
const DecisionID = "decision"

// Node is one vertex of a plan's DAG: an agent call, a reflection pass or
// the decision that writes the final answer.
type Node struct {
	// ID is unique in the DAG: "a<slot>" for round 0, "a<slot>.r<round>" for
	// later Debate rounds, "a0.reflect" for a reflection pass, and
	// DecisionID for the decision node.
	ID   string   `json:"id"`
	Kind NodeKind `json:"kind"`
	// Step is what the agent is asked to do; a decision node that makes no
	// model call (DecideLast, DecideVote) has none.
	Step agents.Step `json:"step,omitempty"`
	// Slot is the index of the node's agent in Plan.Agents; -1 for the
	// decision node.
	Slot int `json:"slot"`
	// Role and Model name the agent; both are empty for a decision node that
	// makes no model call.
	Role  string `json:"role,omitempty"`
	Model string `json:"model,omitempty"`
	// Round is the Debate round (1 for a reflection pass, 0 otherwise); the
	// decision node carries the round of the nodes it reads.
	Round int `json:"round,omitempty"`
}

// Calls reports whether running the node calls a model.
func (n Node) Calls() bool { return n.Model != "" }

// Edge is a directed edge of a DAG: To reads From's reply.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// DAG is a built plan: its nodes in stable topological order and the edges
// between them. It is immutable and safe to share between goroutines; build
// it once and run it many times.
type DAG struct {
	plan  Plan
	nodes []Node         // stable topological order
	index map[string]int // node id -> position in nodes
	preds [][]int        // inputs of each node, ascending
	succs [][]int        // readers of each node, ascending
	edges []Edge         // sorted by (from, to) position
}

// Build validates the plan's shape and unrolls it into a DAG built with
// dominikbraun/graph (directed, cycles prevented). It needs no registry or
// pool; use Plan.Validate to check the names against them.
func Build(p Plan) (*DAG, error) {
	if err := p.validateShape(); err != nil {
		return nil, err
	}
	nodes, edges := shape(p)

	g := graph.New(func(n Node) string { return n.ID }, graph.Directed(), graph.PreventCycles())
	for _, n := range nodes {
		if err := g.AddVertex(n); err != nil {
			return nil, fmt.Errorf("build %s: node %s: %w", p.Mode, n.ID, err)
		}
	}
	for _, e := range edges {
		if err := g.AddEdge(e.From, e.To); err != nil {
			return nil, fmt.Errorf("build %s: edge %s -> %s: %w", p.Mode, e.From, e.To, err)
		}
	}

	byID := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	order, err := graph.StableTopologicalSort(g, func(a, b string) bool { return nodeLess(byID[a], byID[b]) })
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", p.Mode, err)
	}
	pm, err := g.PredecessorMap()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", p.Mode, err)
	}

	d := &DAG{
		plan:  p,
		nodes: make([]Node, len(order)),
		index: make(map[string]int, len(order)),
		preds: make([][]int, len(order)),
		succs: make([][]int, len(order)),
	}
	d.plan.Agents = append([]AgentSpec(nil), p.Agents...)
	d.plan.Choices = append([]Choice(nil), p.Choices...)
	for i, id := range order {
		d.nodes[i] = byID[id]
		d.index[id] = i
	}
	// Walking targets in order and sources in order yields ascending lists
	// and edges sorted by (from, to) once the latter are sorted by source.
	for to, id := range order {
		for from := range d.nodes[:to] {
			if _, ok := pm[id][order[from]]; ok {
				d.preds[to] = append(d.preds[to], from)
			}
		}
	}
	for to := range d.nodes {
		for _, from := range d.preds[to] {
			d.succs[from] = append(d.succs[from], to)
		}
	}
	for from := range d.nodes {
		for _, to := range d.succs[from] {
			d.edges = append(d.edges, Edge{From: d.nodes[from].ID, To: d.nodes[to].ID})
		}
	}

	sinks := 0
	for i := range d.nodes {
		if len(d.succs[i]) == 0 {
			sinks++
		}
	}
	last := len(d.nodes) - 1
	if sinks != 1 || d.nodes[last].ID != DecisionID {
		return nil, fmt.Errorf("build %s: want the decision node as the only sink, found %d sinks", p.Mode, sinks)
	}
	return d, nil
}

// shape lays out the nodes and edges of a valid plan, nodes in natural order.
func shape(p Plan) ([]Node, []Edge) {
	var nodes []Node
	var edges []Edge
	agent := func(slot, round int, step agents.Step) Node {
		id := "a" + strconv.Itoa(slot)
		if round > 0 {
			id += ".r" + strconv.Itoa(round)
		}
		n := Node{ID: id, Kind: NodeAgent, Step: step, Slot: slot, Role: p.Agents[slot].Role, Model: p.Agents[slot].Model, Round: round}
		nodes = append(nodes, n)
		return n
	}
	link := func(from, to Node) { edges = append(edges, Edge{From: from.ID, To: to.ID}) }

	var final []Node // the nodes the decision reads
	n := len(p.Agents)
	switch p.Mode {
	case ModeIO:
		final = []Node{agent(0, 0, agents.StepAnswer)}
	case ModeCoT:
		final = []Node{agent(0, 0, agents.StepReason)}
	case ModeReflection:
		a0 := agent(0, 0, agents.StepReason)
		r := Node{ID: "a0.reflect", Kind: NodeReflect, Step: agents.StepReflect, Slot: 0, Role: a0.Role, Model: a0.Model, Round: 1}
		nodes = append(nodes, r)
		link(a0, r)
		final = []Node{r}
	case ModeChain:
		prev := agent(0, 0, agents.StepReason)
		for i := 1; i < n; i++ {
			cur := agent(i, 0, agents.StepCollaborate)
			link(prev, cur)
			prev = cur
		}
		final = []Node{prev}
	case ModeTree:
		root := agent(0, 0, agents.StepPlan)
		final = []Node{root}
		for i := 1; i < n; i++ {
			child := agent(i, 0, agents.StepCollaborate)
			link(root, child)
			final = append(final, child)
		}
	case ModeGraph:
		for i := 0; i < n; i++ {
			step := agents.StepCollaborate
			if i == 0 {
				step = agents.StepReason
			}
			cur := agent(i, 0, step)
			for _, earlier := range final {
				link(earlier, cur)
			}
			final = append(final, cur)
		}
	case ModeDebate:
		for r := 0; r < p.DebateRounds(); r++ {
			step := agents.StepCollaborate
			if r == 0 {
				step = agents.StepReason
			}
			var round []Node
			for i := 0; i < n; i++ {
				cur := agent(i, r, step)
				for _, prev := range final {
					link(prev, cur)
				}
				round = append(round, cur)
			}
			final = round
		}
	}

	dec := Node{ID: DecisionID, Kind: NodeDecision, Slot: -1, Round: final[len(final)-1].Round}
	if p.DecisionMethod() == DecideRefer {
		dec.Step = agents.StepDecide
		dec.Role = p.Agents[0].Role
		dec.Model = p.Agents[0].Model
		if p.Decider != "" {
			dec.Model = p.Decider
		}
	}
	nodes = append(nodes, dec)
	for _, f := range final {
		link(f, dec)
	}
	return nodes, edges
}

// nodeLess is the tie-break of the stable topological order: the decision
// node last, then by round, agent slot, kind (agent before reflection) and id.
func nodeLess(a, b Node) bool {
	if (a.Kind == NodeDecision) != (b.Kind == NodeDecision) {
		return b.Kind == NodeDecision
	}
	if a.Round != b.Round {
		return a.Round < b.Round
	}
	if a.Slot != b.Slot {
		return a.Slot < b.Slot
	}
	if a.Kind != b.Kind {
		return a.Kind == NodeAgent
	}
	return a.ID < b.ID
}

// Plan returns a copy of the plan the DAG was built from.
func (d *DAG) Plan() Plan {
	p := d.plan
	p.Agents = append([]AgentSpec(nil), d.plan.Agents...)
	p.Choices = append([]Choice(nil), d.plan.Choices...)
	return p
}

// Len is the number of nodes, the decision node included.
func (d *DAG) Len() int { return len(d.nodes) }

// Nodes returns the nodes in stable topological order (ties broken by round,
// then slot); the decision node is last. The slice is a copy.
func (d *DAG) Nodes() []Node { return append([]Node(nil), d.nodes...) }

// Node returns the node called id.
func (d *DAG) Node(id string) (Node, bool) {
	i, ok := d.index[id]
	if !ok {
		return Node{}, false
	}
	return d.nodes[i], true
}

// Inputs returns the ids of the nodes whose replies id reads, in stable
// order; nil for a root or an unknown id.
func (d *DAG) Inputs(id string) []string {
	i, ok := d.index[id]
	if !ok || len(d.preds[i]) == 0 {
		return nil
	}
	out := make([]string, len(d.preds[i]))
	for k, j := range d.preds[i] {
		out[k] = d.nodes[j].ID
	}
	return out
}

// Edges returns every edge, sorted by the stable order of source then target.
// The slice is a copy.
func (d *DAG) Edges() []Edge { return append([]Edge(nil), d.edges...) }
