package topology

import (
	"strings"
)

// DOT renders the DAG in Graphviz DOT. The output is deterministic: nodes in
// stable topological order, edges sorted by source then target. Agent nodes
// are boxes labelled with id, role and model; a reflection pass is a dashed
// box; the decision node is a double octagon labelled with its method.
func (d *DAG) DOT() string {
	var b strings.Builder
	b.WriteString("digraph ")
	b.WriteString(quoteDOT(d.plan.String()))
	b.WriteString(" {\n")
	b.WriteString("\trankdir=LR;\n")
	b.WriteString("\tnode [shape=box, fontname=\"Helvetica\"];\n")
	for _, n := range d.nodes {
		b.WriteString("\t")
		b.WriteString(quoteDOT(n.ID))
		b.WriteString(" [")
		switch n.Kind {
		case NodeDecision:
			b.WriteString("shape=doubleoctagon, ")
		case NodeReflect:
			b.WriteString("style=dashed, ")
		}
		b.WriteString("label=")
		b.WriteString(quoteDOT(nodeLabel(n, d.plan.DecisionMethod())))
		b.WriteString("];\n")
	}
	for _, e := range d.edges {
		b.WriteString("\t")
		b.WriteString(quoteDOT(e.From))
		b.WriteString(" -> ")
		b.WriteString(quoteDOT(e.To))
		b.WriteString(";\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func nodeLabel(n Node, method DecisionMethod) string {
	lines := []string{n.ID}
	if n.Kind == NodeDecision {
		lines = append(lines, "decide: "+string(method))
	} else if n.Step != "" {
		lines[0] += " (" + string(n.Step) + ")"
	}
	if n.Role != "" {
		lines = append(lines, n.Role)
	}
	if n.Model != "" {
		lines = append(lines, n.Model)
	}
	return strings.Join(lines, "\n")
}

// quoteDOT returns s as a DOT double-quoted string; newlines become the
// DOT line break escape.
func quoteDOT(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
