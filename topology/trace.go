package topology

import (
	"time"

	"github.com/masrouter/masrouter/agents"
)

// NodeKind says what a DAG node does.
type NodeKind string

// The node kinds.
const (
	// NodeAgent is an agent call (answer, reason, plan or collaborate).
	NodeAgent NodeKind = "agent"
	// NodeReflect is an agent checking its own earlier reply.
	NodeReflect NodeKind = "reflect"
	// NodeDecision writes the final answer.
	NodeDecision NodeKind = "decision"
)

// NodeTrace is what happened at one node.
type NodeTrace struct {
	ID     string      `json:"id"`
	Kind   NodeKind    `json:"kind"`
	Step   agents.Step `json:"step,omitempty"`
	Role   string      `json:"role,omitempty"`
	Model  string      `json:"model,omitempty"`
	Round  int         `json:"round,omitempty"`
	Inputs []string    `json:"inputs,omitempty"`
	Prompt string      `json:"prompt,omitempty"`
	Reply  string      `json:"reply,omitempty"`
	// Answer is the final answer extracted from Reply by the task's scorer.
	Answer           string `json:"answer,omitempty"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
	// TokensEstimated is true when the provider reported no usage.
	TokensEstimated bool    `json:"tokens_estimated,omitempty"`
	Dollars         float64 `json:"dollars"`
	// Start is the offset from the start of the run.
	Start time.Duration `json:"start_ns"`
	// Latency is the measured wall time of the call.
	Latency time.Duration `json:"latency_ns"`
	// ReportedLatency is the provider's own latency figure, if it gave one.
	ReportedLatency time.Duration `json:"reported_latency_ns,omitempty"`
	// Skipped is true when the node never ran (budget, cancellation, failed inputs).
	Skipped bool   `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
	// AnsweredBy names the fallback model that wrote Reply when Model
	// failed; empty when Model answered.
	AnsweredBy string `json:"answered_by,omitempty"`
	// Attempts lists every provider call of the node, retries and
	// fallbacks included, when its model is agents.Resilient.
	Attempts []agents.Attempt `json:"attempts,omitempty"`
	// Feedback is the result of running the task's visible tests on the
	// node's code (code tasks), as its readers see it appended to Reply:
	// "[visible tests] all pass" or "[visible tests] failed: ...".
	Feedback string `json:"feedback,omitempty"`
	// FeedbackPassed is true when every visible test passed.
	FeedbackPassed bool `json:"feedback_passed,omitempty"`
}

// Trace is the record of one plan run on one task.
type Trace struct {
	// ID is a fresh UUID per run.
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
	Plan   Plan   `json:"plan"`
	// Nodes are in stable topological order.
	Nodes []NodeTrace `json:"nodes"`
	// Answer is the extracted final answer; Final is the decision node's text.
	Answer string `json:"answer"`
	Final  string `json:"final"`
	// Score is filled by Executor.Run when the task has a scorer.
	Score            float64 `json:"score"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	Dollars          float64 `json:"dollars"`
	// Latency is the wall time of the run.
	Latency time.Duration `json:"latency_ns"`
	// CriticalPath is the longest chain of provider-reported latencies (or
	// measured ones where none was reported): what the plan would take on
	// real models with full concurrency.
	CriticalPath time.Duration `json:"critical_path_ns"`
	// Err is set when the run failed as a whole.
	Err string `json:"error,omitempty"`
}

// Agents counts the nodes that called a model.
func (t *Trace) Agents() int {
	n := 0
	for _, nd := range t.Nodes {
		if nd.Model != "" && !nd.Skipped {
			n++
		}
	}
	return n
}
