package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

// TrajectoryVersion is the "v" of the trajectory lines this package writes
// and the only one it reads.
const TrajectoryVersion = 1

// MaxLineBytes is the longest trajectory line a reader accepts; a longer line
// is reported as a bad line.
const MaxLineBytes = 16 << 20

// MaxStoredErrors caps ReadStats.Errors; further bad lines are only counted.
const MaxStoredErrors = 10000

// Trajectory is one query routed and run: the behaviour policy's plan and the
// log-probability of each of its decisions, what every node cost, and the
// outcome. It is stored as one JSON object per line.
type Trajectory struct {
	// V is the schema version, TrajectoryVersion.
	V    int       `json:"v"`
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// TaskID and Benchmark name the task; Benchmark may be empty.
	TaskID    string       `json:"task_id"`
	Benchmark string       `json:"benchmark"`
	Domain    tasks.Domain `json:"domain"`
	// QuerySHA256 is the hex SHA-256 of the query text.
	QuerySHA256 string `json:"query_sha256"`
	// Query is the query text, empty when only its hash is recorded.
	Query string `json:"query,omitempty"`
	// FeaturesVersion is the query-encoder version of the learned policy
	// that chose the plan, e.g. "hash-v1/1024"; empty for other policies.
	FeaturesVersion string `json:"features_version"`
	// Policy names the behaviour policy, e.g. "random" or "masrouter".
	Policy string `json:"policy"`
	// Plan carries the behaviour policy's log-prob of each decision in its Choices.
	Plan topology.Plan `json:"plan"`
	// BehaviourLogProb is the sum of the plan's choice log-probs.
	BehaviourLogProb float64 `json:"behaviour_logprob"`
	// Nodes are the trace's nodes in run order.
	Nodes            []NodeRecord `json:"nodes"`
	PromptTokens     int          `json:"prompt_tokens"`
	CompletionTokens int          `json:"completion_tokens"`
	Dollars          float64      `json:"dollars"`
	// LatencyMS is the trace's critical path in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	Answer    string  `json:"answer"`
	// Score is the task score in [0, 1].
	Score float64 `json:"score"`
	// Lambda is the cost weight LoggedReward was computed with.
	Lambda float64 `json:"lambda"`
	// LoggedReward is Score − Lambda·Dollars; Reward recomputes it for another λ.
	LoggedReward float64 `json:"reward"`
	// Err is the run's error, if it failed.
	Err string `json:"error,omitempty"`
}

// NodeRecord is what one DAG node of a trajectory cost.
type NodeRecord struct {
	ID               string            `json:"id"`
	Kind             topology.NodeKind `json:"kind"`
	Role             string            `json:"role"`
	Model            string            `json:"model"`
	PromptTokens     int               `json:"prompt_tokens"`
	CompletionTokens int               `json:"completion_tokens"`
	Dollars          float64           `json:"dollars"`
	// LatencyMS is the provider-reported latency when it gave one, else the
	// measured one, in milliseconds.
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
	Skipped   bool    `json:"skipped,omitempty"`
}

// QuerySHA256 returns the lower-case hex SHA-256 of a query, as recorded in
// Trajectory.QuerySHA256.
func QuerySHA256(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// NewTrajectory records task t routed to plan p (with the behaviour policy's
// choices and log-probs) and run into trace tr, with the reward at cost
// weight lambda. The query text is kept only when withQuery is set; its hash
// always is. The record gets a fresh UUID and the current time (UTC), which
// a caller replaying a run may overwrite.
func NewTrajectory(t *tasks.Task, p topology.Plan, tr *topology.Trace, lambda float64, policy, featuresVersion string, withQuery bool) *Trajectory {
	tj := &Trajectory{
		V:                TrajectoryVersion,
		ID:               uuid.NewString(),
		Time:             time.Now().UTC(),
		FeaturesVersion:  featuresVersion,
		Policy:           policy,
		Plan:             p,
		BehaviourLogProb: p.LogProb(),
		Nodes:            []NodeRecord{},
		Lambda:           lambda,
	}
	if t != nil {
		tj.TaskID = t.ID
		tj.Benchmark = t.Benchmark
		tj.Domain = t.Domain
		tj.QuerySHA256 = QuerySHA256(t.Query)
		if withQuery {
			tj.Query = t.Query
		}
	}
	if tr != nil {
		for _, n := range tr.Nodes {
			lat := n.Latency
			if n.ReportedLatency > 0 {
				lat = n.ReportedLatency
			}
			tj.Nodes = append(tj.Nodes, NodeRecord{
				ID:               n.ID,
				Kind:             n.Kind,
				Role:             n.Role,
				Model:            n.Model,
				PromptTokens:     n.PromptTokens,
				CompletionTokens: n.CompletionTokens,
				Dollars:          n.Dollars,
				LatencyMS:        milliseconds(lat),
				Error:            n.Error,
				Skipped:          n.Skipped,
			})
		}
		tj.PromptTokens = tr.PromptTokens
		tj.CompletionTokens = tr.CompletionTokens
		tj.Dollars = tr.Dollars
		tj.LatencyMS = milliseconds(tr.CriticalPath)
		tj.Answer = tr.Answer
		tj.Score = tr.Score
		tj.Err = tr.Err
	}
	tj.LoggedReward = tj.Reward(lambda)
	return tj
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Reward is the trajectory's reward at cost weight lambda: Score − lambda·Dollars.
func (t *Trajectory) Reward(lambda float64) float64 { return t.Score - lambda*t.Dollars }

// Validate checks every rule a trajectory line must satisfy and names the
// field at fault, e.g. "plan.agents[1].model: empty".
func (t *Trajectory) Validate() error {
	if t == nil {
		return errors.New("nil trajectory")
	}
	if field, err := t.validate(t.Query != ""); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// Choice stages a plan may record.
var choiceStages = []string{"mode", "count", "role", "model"}

// Decision methods a plan may name.
var decisionMethods = []topology.DecisionMethod{topology.DecideLast, topology.DecideVote, topology.DecideRefer}

// Node kinds a trajectory may record.
var nodeKinds = []topology.NodeKind{topology.NodeAgent, topology.NodeReflect, topology.NodeDecision}

// validate checks the semantic rules and returns the first broken one with
// its field. queryPresent says whether the record holds the query text.
func (t *Trajectory) validate(queryPresent bool) (string, error) {
	if t.V != TrajectoryVersion {
		return "v", versionError(t.V)
	}
	if blank(t.ID) {
		return "id", errors.New("empty")
	}
	if t.Time.IsZero() {
		return "time", errors.New("zero time")
	}
	if blank(t.TaskID) {
		return "task_id", errors.New("empty")
	}
	if _, err := tasks.ParseDomain(string(t.Domain)); err != nil {
		return "domain", err
	}
	if !isLowerHex(t.QuerySHA256, sha256.Size*2) {
		return "query_sha256", fmt.Errorf("want %d lower-case hex digits, got %q", sha256.Size*2, truncate(t.QuerySHA256))
	}
	if queryPresent && QuerySHA256(t.Query) != t.QuerySHA256 {
		return "query_sha256", errors.New("does not match the SHA-256 of query")
	}
	if blank(t.Policy) {
		return "policy", errors.New("empty")
	}
	if field, err := validatePlan(&t.Plan); err != nil {
		return "plan." + field, err
	}
	var sum float64
	for _, c := range t.Plan.Choices {
		sum += c.LogProb
	}
	if err := finite(t.BehaviourLogProb); err != nil {
		return "behaviour_logprob", err
	}
	if math.IsInf(sum, 0) || math.Abs(t.BehaviourLogProb-sum) > 1e-6*math.Max(1, math.Abs(sum)) {
		return "behaviour_logprob", fmt.Errorf("%g is not the sum of the plan's choice log-probs (%g)", t.BehaviourLogProb, sum)
	}
	var prompt, completion int
	var dollars float64
	for i, n := range t.Nodes {
		if field, err := validateNode(&n); err != nil {
			return fmt.Sprintf("nodes[%d].%s", i, field), err
		}
		if prompt > math.MaxInt-n.PromptTokens || completion > math.MaxInt-n.CompletionTokens {
			return fmt.Sprintf("nodes[%d]", i), errors.New("token counts overflow")
		}
		prompt += n.PromptTokens
		completion += n.CompletionTokens
		dollars += n.Dollars
	}
	if t.PromptTokens < 0 {
		return "prompt_tokens", fmt.Errorf("negative (%d)", t.PromptTokens)
	}
	if t.PromptTokens != prompt {
		return "prompt_tokens", fmt.Errorf("%d is not the sum over nodes (%d)", t.PromptTokens, prompt)
	}
	if t.CompletionTokens < 0 {
		return "completion_tokens", fmt.Errorf("negative (%d)", t.CompletionTokens)
	}
	if t.CompletionTokens != completion {
		return "completion_tokens", fmt.Errorf("%d is not the sum over nodes (%d)", t.CompletionTokens, completion)
	}
	if err := nonNegative(t.Dollars); err != nil {
		return "dollars", err
	}
	if !closeTo(t.Dollars, dollars) {
		return "dollars", fmt.Errorf("%g is not the sum over nodes (%g)", t.Dollars, dollars)
	}
	if err := nonNegative(t.LatencyMS); err != nil {
		return "latency_ms", err
	}
	if err := finite(t.Score); err != nil {
		return "score", err
	}
	if t.Score < 0 || t.Score > 1 {
		return "score", fmt.Errorf("%g is outside [0, 1]", t.Score)
	}
	if err := nonNegative(t.Lambda); err != nil {
		return "lambda", err
	}
	if err := finite(t.LoggedReward); err != nil {
		return "reward", err
	}
	want := t.Reward(t.Lambda)
	if math.IsInf(want, 0) || math.IsNaN(want) {
		return "reward", fmt.Errorf("score − lambda·dollars is not finite (lambda %g, dollars %g)", t.Lambda, t.Dollars)
	}
	if !closeTo(t.LoggedReward, want) {
		return "reward", fmt.Errorf("%g is not score − lambda·dollars (%g)", t.LoggedReward, want)
	}
	return "", nil
}

func versionError(v int) error {
	return fmt.Errorf("version %d not understood (this reader understands version %d)", v, TrajectoryVersion)
}

func validatePlan(p *topology.Plan) (string, error) {
	if _, err := topology.ParseMode(string(p.Mode)); err != nil {
		return "mode", err
	}
	if p.Domain != "" {
		if _, err := tasks.ParseDomain(string(p.Domain)); err != nil {
			return "domain", err
		}
	}
	if len(p.Agents) == 0 {
		return "agents", errors.New("empty")
	}
	for i, a := range p.Agents {
		if blank(a.Role) {
			return fmt.Sprintf("agents[%d].role", i), errors.New("empty")
		}
		if blank(a.Model) {
			return fmt.Sprintf("agents[%d].model", i), errors.New("empty")
		}
	}
	if p.Rounds < 0 {
		return "rounds", fmt.Errorf("negative (%d)", p.Rounds)
	}
	if p.Decision != "" && !contains(decisionMethods, p.Decision) {
		return "decision", fmt.Errorf("unknown decision method %q (want last, vote or refer)", p.Decision)
	}
	for i, c := range p.Choices {
		if !contains(choiceStages, c.Stage) {
			return fmt.Sprintf("choices[%d].stage", i), fmt.Errorf("unknown stage %q (want mode, count, role or model)", c.Stage)
		}
		if c.Index < 0 {
			return fmt.Sprintf("choices[%d].index", i), fmt.Errorf("negative (%d)", c.Index)
		}
		if blank(c.Value) {
			return fmt.Sprintf("choices[%d].value", i), errors.New("empty")
		}
		if err := finite(c.LogProb); err != nil {
			return fmt.Sprintf("choices[%d].logprob", i), err
		}
		if c.LogProb > 1e-9 {
			return fmt.Sprintf("choices[%d].logprob", i), fmt.Errorf("%g is positive; a log-probability is at most 0", c.LogProb)
		}
	}
	return "", nil
}

func validateNode(n *NodeRecord) (string, error) {
	if blank(n.ID) {
		return "id", errors.New("empty")
	}
	if !contains(nodeKinds, n.Kind) {
		return "kind", fmt.Errorf("unknown node kind %q (want agent, reflect or decision)", n.Kind)
	}
	if n.PromptTokens < 0 {
		return "prompt_tokens", fmt.Errorf("negative (%d)", n.PromptTokens)
	}
	if n.CompletionTokens < 0 {
		return "completion_tokens", fmt.Errorf("negative (%d)", n.CompletionTokens)
	}
	if err := nonNegative(n.Dollars); err != nil {
		return "dollars", err
	}
	if err := nonNegative(n.LatencyMS); err != nil {
		return "latency_ms", err
	}
	return "", nil
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func finite(x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("not a finite number (%g)", x)
	}
	return nil
}

func nonNegative(x float64) error {
	if err := finite(x); err != nil {
		return err
	}
	if x < 0 {
		return fmt.Errorf("negative (%g)", x)
	}
	return nil
}

// closeTo reports whether got equals want within 1e-9 relative (absolute
// below magnitude 1).
func closeTo(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

// Writer appends trajectories to a stream as JSON lines.
type Writer struct {
	mu  sync.Mutex
	buf *bufio.Writer
}

// NewWriter returns a Writer that buffers its lines to w; call Flush when done.
func NewWriter(w io.Writer) *Writer { return &Writer{buf: bufio.NewWriter(w)} }

// Write validates t and appends it as one line. It is safe for concurrent
// use; lines from concurrent calls are never interleaved.
func (w *Writer) Write(t *Trajectory) error {
	if t == nil {
		return errors.New("train: write trajectory: nil trajectory")
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("train: write trajectory %s: %w", t.ID, err)
	}
	line, err := marshalLine(t)
	if err != nil {
		return fmt.Errorf("train: write trajectory %s: %w", t.ID, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.buf.Write(line); err != nil {
		return fmt.Errorf("train: write trajectory %s: %w", t.ID, err)
	}
	return nil
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("train: flush trajectories: %w", err)
	}
	return nil
}

// marshalLine encodes t as one JSON line ending in a newline.
func marshalLine(t *Trajectory) ([]byte, error) {
	if t.Nodes == nil {
		c := *t
		c.Nodes = []NodeRecord{}
		t = &c
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ReadOptions tunes ReadTrajectories.
type ReadOptions struct {
	// SkipBad skips bad lines instead of stopping at the first one.
	SkipBad bool
	// OnBad, if set with SkipBad, receives every bad line's error instead of
	// ReadStats.Errors.
	OnBad func(*tasks.LineError)
}

// ReadStats counts what a read saw.
type ReadStats struct {
	// Lines counts every line read, blank ones included.
	Lines int
	// Read counts the valid trajectories that fn accepted (all of them when
	// fn is nil).
	Read int
	// Skipped counts the bad lines skipped under SkipBad.
	Skipped int
	// Errors holds the first MaxStoredErrors skipped lines' errors (each a
	// *tasks.LineError) when OnBad is not set.
	Errors []error
	// ErrorsOmitted counts skipped lines beyond MaxStoredErrors whose errors
	// were not kept.
	ErrorsOmitted int
}

// ReadTrajectories reads trajectory lines from r, which name identifies in
// errors, and calls fn with each valid one in order (fn may keep it). It
// streams: memory does not grow with the input. Every line is validated
// strictly; a bad line is reported as a *tasks.LineError naming name, the
// line and the field, and with opt.SkipBad false it stops the read. A plan
// mode spelled in another case is accepted and given its canonical spelling. Blank
// lines are allowed. An error from fn stops the read and is returned wrapped
// with the line number. A nil fn only validates.
func ReadTrajectories(r io.Reader, name string, opt ReadOptions, fn func(*Trajectory) error) (ReadStats, error) {
	var st ReadStats
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, buf)
		buf = line[:0]
		if err != nil && err != io.EOF {
			return st, fmt.Errorf("read %s:%d: %w", name, n, err)
		}
		eof := err == io.EOF
		if eof && len(line) == 0 && !tooLong {
			return st, nil
		}
		st.Lines++
		var (
			t   *Trajectory
			bad *tasks.LineError
		)
		switch {
		case tooLong:
			bad = &tasks.LineError{File: name, Line: n, Field: "line", Err: fmt.Errorf("longer than %d bytes", MaxLineBytes)}
		case len(bytes.TrimSpace(line)) == 0:
			// Blank lines are allowed.
		default:
			t, bad = decodeLine(line, name, n)
		}
		switch {
		case bad != nil && !opt.SkipBad:
			return st, bad
		case bad != nil:
			st.Skipped++
			switch {
			case opt.OnBad != nil:
				opt.OnBad(bad)
			case len(st.Errors) < MaxStoredErrors:
				st.Errors = append(st.Errors, bad)
			default:
				st.ErrorsOmitted++
			}
		case t != nil:
			if fn != nil {
				if err := fn(t); err != nil {
					return st, fmt.Errorf("%s:%d: %w", name, n, err)
				}
			}
			st.Read++
		}
		if eof {
			return st, nil
		}
	}
}

// LoadTrajectories reads every trajectory of the file at path, as
// ReadTrajectories does.
func LoadTrajectories(path string, opt ReadOptions) ([]*Trajectory, ReadStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ReadStats{}, fmt.Errorf("load trajectories: %w", err)
	}
	defer f.Close()
	var out []*Trajectory
	st, err := ReadTrajectories(f, path, opt, func(t *Trajectory) error {
		out = append(out, t)
		return nil
	})
	return out, st, err
}

// readLine reads one line into buf (reusing its storage) without its line
// ending. A line longer than MaxLineBytes is consumed but not kept: tooLong
// is set and line is empty. err is io.EOF at the end of the input, with the
// last unterminated line, if any, in line.
func readLine(br *bufio.Reader, buf []byte) (line []byte, tooLong bool, err error) {
	line = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong = true
				line = line[:0]
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > MaxLineBytes {
			tooLong = true
			line = line[:0]
		}
		return line, tooLong, err
	}
}

// decodeLine parses and validates one non-blank line.
func decodeLine(line []byte, name string, n int) (*Trajectory, *tasks.LineError) {
	bad := func(field string, err error) *tasks.LineError {
		return &tasks.LineError{File: name, Line: n, Field: field, Err: err}
	}
	if !utf8.Valid(line) {
		return nil, bad("json", errors.New("not valid UTF-8"))
	}
	t := new(Trajectory)
	uerr := json.Unmarshal(line, t)
	var syn *json.SyntaxError
	if errors.As(uerr, &syn) {
		return nil, bad("json", fmt.Errorf("%v (at byte %d)", syn, syn.Offset))
	}
	// Another version has other fields: say so before naming them.
	if t.V != 0 && t.V != TrajectoryVersion {
		return nil, bad("v", versionError(t.V))
	}
	// The line is syntactically valid JSON: check its shape, field by field.
	c := checker{b: line}
	seen, field, err := c.top()
	if err != nil {
		return nil, bad(field, err)
	}
	if uerr != nil {
		var typ *json.UnmarshalTypeError
		var perr *time.ParseError
		switch {
		case errors.As(uerr, &typ):
			return nil, bad(typ.Field, fmt.Errorf("%s does not fit a %s", typ.Value, typ.Type))
		case errors.As(uerr, &perr):
			return nil, bad("time", fmt.Errorf("not an RFC 3339 time: %w", perr))
		default:
			return nil, bad("json", uerr)
		}
	}
	if field, err := t.validate(seen&(1<<topQueryField) != 0); err != nil {
		return nil, bad(field, err)
	}
	t.Plan.Mode, _ = topology.ParseMode(string(t.Plan.Mode)) // canonical spelling
	return t, nil
}

// The line checker: a pass over syntactically valid JSON that refuses
// unknown, duplicate, missing and null fields and values of the wrong JSON
// type, which encoding/json would accept silently or report without a
// place.

type jsonKind uint8

const (
	kindString jsonKind = iota + 1
	kindNumber
	kindInt
	kindBool
	kindObject
	kindArray
)

func (k jsonKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindInt:
		return "an integer"
	case kindBool:
		return "a boolean"
	case kindObject:
		return "an object"
	default:
		return "an array"
	}
}

// fieldSpec describes one field of a JSON object.
type fieldSpec struct {
	name     string
	kind     jsonKind
	optional bool
	// obj is the schema of an object, or of an array's object elements.
	obj *objectSpec
	// elem is the kind of an array's elements.
	elem jsonKind
}

// objectSpec lists the fields of a JSON object (at most 64).
type objectSpec struct{ fields []fieldSpec }

func (s *objectSpec) lookup(key []byte) int {
	for i := range s.fields {
		if string(key) == s.fields[i].name {
			return i
		}
	}
	return -1
}

var choiceSpec = &objectSpec{fields: []fieldSpec{
	{name: "stage", kind: kindString},
	{name: "index", kind: kindInt},
	{name: "value", kind: kindString},
	{name: "logprob", kind: kindNumber},
}}

var agentSpec = &objectSpec{fields: []fieldSpec{
	{name: "role", kind: kindString},
	{name: "model", kind: kindString},
}}

var planSpec = &objectSpec{fields: []fieldSpec{
	{name: "mode", kind: kindString},
	{name: "domain", kind: kindString},
	{name: "agents", kind: kindArray, elem: kindObject, obj: agentSpec},
	{name: "rounds", kind: kindInt, optional: true},
	{name: "decision", kind: kindString, optional: true},
	{name: "decider", kind: kindString, optional: true},
	{name: "choices", kind: kindArray, elem: kindObject, obj: choiceSpec, optional: true},
}}

var nodeSpec = &objectSpec{fields: []fieldSpec{
	{name: "id", kind: kindString},
	{name: "kind", kind: kindString},
	{name: "role", kind: kindString},
	{name: "model", kind: kindString},
	{name: "prompt_tokens", kind: kindInt},
	{name: "completion_tokens", kind: kindInt},
	{name: "dollars", kind: kindNumber},
	{name: "latency_ms", kind: kindNumber},
	{name: "error", kind: kindString, optional: true},
	{name: "skipped", kind: kindBool, optional: true},
}}

// topQueryField is the index of "query" in trajectorySpec.
const topQueryField = 7

var trajectorySpec = &objectSpec{fields: []fieldSpec{
	{name: "v", kind: kindInt},
	{name: "id", kind: kindString},
	{name: "time", kind: kindString},
	{name: "task_id", kind: kindString},
	{name: "benchmark", kind: kindString},
	{name: "domain", kind: kindString},
	{name: "query_sha256", kind: kindString},
	{name: "query", kind: kindString, optional: true}, // topQueryField
	{name: "features_version", kind: kindString},
	{name: "policy", kind: kindString},
	{name: "plan", kind: kindObject, obj: planSpec},
	{name: "behaviour_logprob", kind: kindNumber},
	{name: "nodes", kind: kindArray, elem: kindObject, obj: nodeSpec},
	{name: "prompt_tokens", kind: kindInt},
	{name: "completion_tokens", kind: kindInt},
	{name: "dollars", kind: kindNumber},
	{name: "latency_ms", kind: kindNumber},
	{name: "answer", kind: kindString},
	{name: "score", kind: kindNumber},
	{name: "lambda", kind: kindNumber},
	{name: "reward", kind: kindNumber},
	{name: "error", kind: kindString, optional: true},
}}

// pathElem is one step of a path into a JSON value: a field name, or an
// array index when name is empty.
type pathElem struct {
	name  string
	index int
}

// checker walks one syntactically valid JSON text.
type checker struct {
	b    []byte
	i    int
	path []pathElem
}

// top checks the whole line against trajectorySpec and returns which of its
// fields were present, or the first problem and the field it is in.
func (c *checker) top() (seen uint64, field string, err error) {
	c.ws()
	if c.b[c.i] != '{' {
		return 0, "json", fmt.Errorf("want a JSON object, got %s", c.describe())
	}
	return c.object(trajectorySpec)
}

// object checks the object at c.i against s.
func (c *checker) object(s *objectSpec) (seen uint64, field string, err error) {
	c.i++ // '{'
	c.ws()
	if c.b[c.i] == '}' {
		c.i++
	} else {
		for {
			c.ws()
			start := c.i
			name := c.str()
			if bytes.IndexByte(name, '\\') >= 0 {
				var u string
				if json.Unmarshal(c.b[start:c.i], &u) == nil {
					name = []byte(u)
				}
			}
			c.ws()
			c.i++ // ':'
			c.ws()
			idx := s.lookup(name)
			if idx < 0 {
				return 0, c.pathTo(string(name)), errors.New("unknown field")
			}
			if seen&(1<<idx) != 0 {
				return 0, c.pathTo(string(name)), errors.New("appears twice")
			}
			seen |= 1 << idx
			f := &s.fields[idx]
			c.path = append(c.path, pathElem{name: f.name})
			if field, err := c.value(f.kind, f); err != nil {
				return 0, field, err
			}
			c.path = c.path[:len(c.path)-1]
			c.ws()
			if c.b[c.i] == ',' {
				c.i++
				continue
			}
			c.i++ // '}'
			break
		}
	}
	for i := range s.fields {
		if !s.fields[i].optional && seen&(1<<i) == 0 {
			return 0, c.pathTo(s.fields[i].name), errors.New("missing")
		}
	}
	return seen, "", nil
}

// value checks the value at c.i, which must be of kind k; f describes the
// field it belongs to (for an array, its elements).
func (c *checker) value(k jsonKind, f *fieldSpec) (string, error) {
	got := c.b[c.i]
	if got == 'n' {
		return c.pathTo(""), errors.New("null is not allowed")
	}
	want := byte(0)
	switch k {
	case kindString:
		want = '"'
	case kindBool:
		if got == 't' || got == 'f' {
			want = got
		}
	case kindObject:
		want = '{'
	case kindArray:
		want = '['
	case kindNumber, kindInt:
		if got == '-' || (got >= '0' && got <= '9') {
			want = got
		}
	}
	if got != want {
		return c.pathTo(""), fmt.Errorf("want %s, got %s", k, c.describe())
	}
	switch k {
	case kindObject:
		_, field, err := c.object(f.obj)
		return field, err
	case kindArray:
		c.i++ // '['
		c.ws()
		if c.b[c.i] == ']' {
			c.i++
			return "", nil
		}
		for idx := 0; ; idx++ {
			c.ws()
			c.path = append(c.path, pathElem{index: idx})
			if field, err := c.value(f.elem, f); err != nil {
				return field, err
			}
			c.path = c.path[:len(c.path)-1]
			c.ws()
			if c.b[c.i] == ',' {
				c.i++
				continue
			}
			c.i++ // ']'
			return "", nil
		}
	case kindInt:
		start := c.i
		c.skip()
		if bytes.ContainsAny(c.b[start:c.i], ".eE") {
			return c.pathTo(""), fmt.Errorf("want an integer, got %s", c.b[start:c.i])
		}
	default:
		c.skip()
	}
	return "", nil
}

// describe names the kind of the value at c.i.
func (c *checker) describe() string {
	switch c.b[c.i] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// pathTo renders the current path, extended by name if it is not empty,
// e.g. "nodes[2].dollars".
func (c *checker) pathTo(name string) string {
	var b strings.Builder
	for _, e := range c.path {
		if e.name == "" {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	if name != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(name)
	}
	if b.Len() == 0 {
		return "json"
	}
	return b.String()
}

func (c *checker) ws() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// str consumes the string at c.i and returns its raw contents.
func (c *checker) str() []byte {
	c.i++ // opening quote
	start := c.i
	for c.b[c.i] != '"' {
		if c.b[c.i] == '\\' {
			c.i++
		}
		c.i++
	}
	c.i++
	return c.b[start : c.i-1]
}

// skip consumes the value at c.i.
func (c *checker) skip() {
	switch c.b[c.i] {
	case '"':
		c.str()
	case '{', '[':
		depth := 0
		for {
			switch c.b[c.i] {
			case '"':
				c.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			c.i++
			if depth == 0 {
				return
			}
		}
	default: // number, true, false, null
		for c.i < len(c.b) {
			switch c.b[c.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			c.i++
		}
	}
}
