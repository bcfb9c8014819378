package agents

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
	"gopkg.in/yaml.v3"
)

// The providers a pool file may name.
const (
	// ProviderOpenAI is any OpenAI-compatible chat-completions API: OpenAI,
	// vLLM, llama.cpp's server, Ollama's /v1, OpenRouter.
	ProviderOpenAI = "openai"
	// ProviderAnthropic is Anthropic's Messages API.
	ProviderAnthropic = "anthropic"
	// ProviderOllama is Ollama's native API.
	ProviderOllama = "ollama"
	// ProviderSim is the offline simulator (package agents/sim).
	ProviderSim = "sim"
	// ProviderReplay serves recorded real outcomes (package agents/replay).
	ProviderReplay = "replay"
)

// Pool-file defaults.
const (
	// DefaultCallTimeout bounds each attempt of an entry without a timeout.
	DefaultCallTimeout = 60 * time.Second
	// DefaultMaxRetries is the retries of an entry without max_retries.
	DefaultMaxRetries = 2
	// MaxRetriesLimit is the most retries an entry may ask for.
	MaxRetriesLimit = 10
	// DefaultOpenAIBaseURL is the base URL of an openai entry without one.
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	// DefaultAnthropicBaseURL is the base URL of an anthropic entry without one.
	DefaultAnthropicBaseURL = "https://api.anthropic.com/v1"
	// DefaultOllamaBaseURL is the base URL of an ollama entry without one.
	DefaultOllamaBaseURL = "http://localhost:11434"
)

// ErrProviderUnavailable is wrapped by the error of an entry whose provider
// is not built into the program loading the pool file.
var ErrProviderUnavailable = errors.New("provider not available")

// PoolFileError is one problem in a pool file: where it is and what is wrong.
type PoolFileError struct {
	File string
	Line int
	// Field is the path of the field at fault, e.g. "models[2].price".
	Field string
	Err   error
}

// Error renders "file:line: field: problem".
func (e *PoolFileError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
}

// Unwrap returns the underlying problem.
func (e *PoolFileError) Unwrap() error { return e.Err }

// PoolFile is a parsed, validated pool file (pool.yaml): the models of a
// pool, how to reach each, and what each costs.
type PoolFile struct {
	// Name is the file name errors cite.
	Name string
	// Sim configures the world the file's sim entries share.
	Sim SimSettings
	// Replay names the recording the file's replay entries serve.
	Replay ReplaySettings
	// Models are the entries in file order, defaults applied.
	Models []ModelSpec
}

// SimSettings is a pool file's optional "sim" block.
type SimSettings struct {
	// Seed makes simulated calls deterministic (default 1).
	Seed int64
	// Benchmarks lists the benchmarks whose questions the simulator
	// answers; empty means the simulator's default (all it knows).
	Benchmarks []string
	// TimeScale, when positive, makes simulated calls take their simulated
	// latency times TimeScale.
	TimeScale float64

	file  string
	line  int
	lines map[string]int
}

// Error returns err as a PoolFileError at the sim block's field.
func (s SimSettings) Error(field string, err error) error {
	line := s.lines[field]
	if line == 0 {
		line = s.line
	}
	return &PoolFileError{File: s.file, Line: line, Field: "sim." + field, Err: err}
}

// The recorded sources a pool file's replay block may name (the sources of
// package agents/replay).
const (
	// ReplaySourceRouteLLM is RouteLLM's GPT-4 and Mixtral outcomes, on
	// one benchmark (ReplaySettings.Benchmark).
	ReplaySourceRouteLLM = "routellm"
	// ReplaySourceLLMRouter is LLMRouter's outcomes of nine open models on
	// its mixed tasks.
	ReplaySourceLLMRouter = "llmrouter"
)

// replayBenchmarks lists each recorded source's benchmarks; nil means the
// source has one mixed benchmark and the block names none. It is read-only.
var replayBenchmarks = map[string][]string{
	ReplaySourceRouteLLM:  {"gsm8k", "mmlu"},
	ReplaySourceLLMRouter: nil,
}

// ReplaySettings is a pool file's "replay" block, which every file with a
// replay entry needs.
type ReplaySettings struct {
	// Source is ReplaySourceRouteLLM or ReplaySourceLLMRouter; empty when
	// the file has no replay block.
	Source string
	// Benchmark is RouteLLM's benchmark, "gsm8k" or "mmlu"; empty for
	// LLMRouter.
	Benchmark string

	file    string
	line    int
	present bool // the file has a replay block, valid or not
	lines   map[string]int
}

// Error returns err as a PoolFileError at the replay block's field.
func (s ReplaySettings) Error(field string, err error) error {
	line := s.lines[field]
	if line == 0 {
		line = s.line
	}
	return &PoolFileError{File: s.file, Line: line, Field: "replay." + field, Err: err}
}

// ModelSpec is one entry of a pool file's models list.
type ModelSpec struct {
	// Index is the entry's position in the list, from 0.
	Index int
	// Line is the line the entry starts on.
	Line int
	// Name is the model's unique name in the pool.
	Name string
	// Provider is one of ProviderOpenAI, ProviderAnthropic, ProviderOllama,
	// ProviderSim, ProviderReplay.
	Provider string
	// Model is the provider's model id (the simulator's catalog name for
	// sim, the recorded model's name for replay); it defaults to Name.
	Model string
	// BaseURL is the API endpoint; HTTP providers default to their
	// public (or local, for ollama) endpoint.
	BaseURL string
	// APIKeyEnv names the environment variable that holds the API key.
	APIKeyEnv string
	// Price is nil when the entry gives none (allowed for sim and replay,
	// whose providers know their models' prices).
	Price *Price
	// Description and Skills describe the model to the router; nil Skills
	// leave the provider's (or none).
	Description string
	Skills      map[string]float64
	// Timeout bounds each attempt.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// Fallback names the entry that answers when this one fails for good.
	Fallback string
	// MaxTokens caps each completion; 0 leaves the executor's cap.
	MaxTokens int

	file  string
	lines map[string]int
}

// Error returns err as a PoolFileError at the entry's field ("" for the
// entry as a whole).
func (s ModelSpec) Error(field string, err error) error {
	line := s.lines[field]
	if line == 0 {
		line = s.Line
	}
	path := fmt.Sprintf("models[%d]", s.Index)
	if field != "" {
		path += "." + field
	}
	return &PoolFileError{File: s.file, Line: line, Field: path, Err: err}
}

// Has reports whether the entry sets field itself (rather than by default).
func (s ModelSpec) Has(field string) bool {
	_, ok := s.lines[field]
	return ok
}

// RetryPolicy returns the entry's timeout and retries as a policy.
func (s ModelSpec) RetryPolicy() RetryPolicy {
	return RetryPolicy{Timeout: s.Timeout, MaxRetries: s.MaxRetries}
}

// Provider builds the models of a pool file's entries of one provider.
type Provider interface {
	// Model returns the entry's model before the pool file's own fields
	// and resilience are applied: at least its LLM, and the provider's
	// defaults for Price, Description and Skills, which the entry's fields
	// override. Errors should come from spec.Error, naming the field.
	Model(ctx context.Context, spec ModelSpec) (*Model, error)
}

// ProviderFactory makes the Provider for one pool file. Build calls it at
// most once per file, before the file's first entry of that provider.
type ProviderFactory func(ctx context.Context, file *PoolFile) (Provider, error)

// ProviderFunc adapts a function to the Provider interface.
type ProviderFunc func(ctx context.Context, spec ModelSpec) (*Model, error)

// Model calls f.
func (f ProviderFunc) Model(ctx context.Context, spec ModelSpec) (*Model, error) { return f(ctx, spec) }

// PoolFileOptions tunes how a pool file is built.
type PoolFileOptions struct {
	// Providers adds or replaces provider factories. openai, anthropic and
	// ollama are built in; sim needs sim.PoolProvider and replay
	// replay.PoolProvider, since those packages import this one.
	Providers map[string]ProviderFactory
	// LookupEnv reads API keys; nil means os.LookupEnv.
	LookupEnv func(key string) (string, bool)
	// Transport carries the HTTP providers' requests; nil means a clone of
	// http.DefaultTransport that keeps more idle connections per host.
	// StatusTransport is wrapped around it either way.
	Transport http.RoundTripper
	// Clock and Jitter are passed to every Resilient model (nil: the real
	// clock and math/rand/v2).
	Clock  Clock
	Jitter func() float64
}

// LoadPoolFile reads, validates and builds the pool file at path.
func LoadPoolFile(ctx context.Context, path string, opts PoolFileOptions) (*Pool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pool file: %w", err)
	}
	f, err := ParsePoolFile(path, data)
	if err != nil {
		return nil, err
	}
	return f.Build(ctx, opts)
}

// limits of a pool file.
const (
	maxPoolFileBytes = 1 << 20
	maxPoolModels    = 256
	maxNameLen       = 128
)

var (
	envNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretField = regexp.MustCompile(`(?i)^(api[_-]?key|apikey|key|token|api[_-]?token|access[_-]?token|secret|secret[_-]?key|password|authorization|bearer)$`)
)

// show quotes v for an error message when it is short and harmless, and
// hides it otherwise, so a key pasted into the wrong field is never echoed.
func show(v string) string {
	if safeText(v) {
		return strconv.Quote(v)
	}
	return "(value not shown)"
}

// safeKey is a field name as errors show it.
func safeKey(k string) string {
	if safeText(k) && !strings.ContainsAny(k, " \t") {
		return k
	}
	return "(field name not shown)"
}

// safeText reports whether v may appear in an error: short, printable, and
// not shaped like an API key.
func safeText(v string) bool {
	if len(v) == 0 || len(v) > 64 || looksLikeKey(v) {
		return false
	}
	for _, r := range v {
		if r < ' ' || r > '~' {
			return false
		}
	}
	return true
}

// looksLikeKey spots the common API key shapes: a known prefix, or a long
// unbroken run of letters and digits.
func looksLikeKey(v string) bool {
	for _, p := range []string{"sk-", "sk_", "pk-", "rk-", "xai-", "gsk_", "hf_", "AIza", "ghp_", "Bearer "} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	run, letters, digits := 0, false, false
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			run, digits = run+1, true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_':
			run, letters = run+1, true
		default:
			run, letters, digits = 0, false, false
		}
		if run >= 24 && letters && digits {
			return true
		}
	}
	return false
}

var modelFields = []string{"name", "provider", "model", "base_url", "api_key_env", "price", "description", "skills", "timeout", "max_retries", "fallback", "max_tokens"}

// parser collects every problem of one file.
type parser struct {
	file string
	errs []*PoolFileError
}

// maxPoolFileErrors is the most problems reported for one file.
const maxPoolFileErrors = 50

func (p *parser) errorf(line int, field, format string, args ...any) {
	if len(p.errs) == maxPoolFileErrors {
		p.errs = append(p.errs, &PoolFileError{File: p.file, Line: line, Field: field, Err: errors.New("too many problems; the rest are not shown")})
	}
	if len(p.errs) > maxPoolFileErrors {
		return
	}
	p.errs = append(p.errs, &PoolFileError{File: p.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)})
}

func (p *parser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	out := make([]error, len(p.errs))
	for i, e := range p.errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// ParsePoolFile parses and validates a pool file; name is the file name
// errors cite. Every problem is reported, each as a PoolFileError
// "name:line: field: problem" (joined with errors.Join); unknown fields are
// errors, and a field that would hold a key literally is refused.
func ParsePoolFile(name string, data []byte) (*PoolFile, error) {
	p := &parser{file: name}
	if len(data) > maxPoolFileBytes {
		return nil, &PoolFileError{File: name, Line: 1, Field: "(file)", Err: fmt.Errorf("%d bytes, more than the %d allowed", len(data), maxPoolFileBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &PoolFileError{File: name, Line: yamlErrorLine(err), Field: "(file)", Err: fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &PoolFileError{File: name, Line: 1, Field: "models", Err: errors.New("the file is empty; want a models list")}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &PoolFileError{File: name, Line: root.Line, Field: "(file)", Err: fmt.Errorf("want a mapping with a models list, found %s", kindName(root))}
	}
	f := &PoolFile{
		Name:   name,
		Sim:    SimSettings{Seed: 1, file: name, lines: map[string]int{}},
		Replay: ReplaySettings{file: name, lines: map[string]int{}},
	}
	def := ModelSpec{Timeout: DefaultCallTimeout, MaxRetries: DefaultMaxRetries}
	var models *yaml.Node
	p.mapping(root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "models":
			models = v
		case "defaults":
			p.defaults(v, &def)
		case "sim":
			p.sim(v, &f.Sim)
		case "replay":
			p.replay(v, &f.Replay)
		default:
			p.errorf(k.Line, safeKey(key), "unknown field (want models, defaults, sim or replay)")
		}
	})
	switch {
	case models == nil:
		p.errorf(root.Line, "models", "missing; list the pool's models")
	case models.Kind != yaml.SequenceNode:
		p.errorf(models.Line, "models", "want a list of models, found %s", kindName(models))
	case len(models.Content) == 0:
		p.errorf(models.Line, "models", "empty; list at least one model")
	case len(models.Content) > maxPoolModels:
		p.errorf(models.Line, "models", "%d models, more than the %d allowed", len(models.Content), maxPoolModels)
	default:
		for i, n := range models.Content {
			f.Models = append(f.Models, p.model(i, n, def))
		}
		p.crossCheck(f)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return f, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlErrorLine reads the line number out of a yaml.v3 syntax error.
func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return 1
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// mapping calls fn for each key of a mapping node, refusing non-mappings,
// non-scalar and duplicate keys, and merge keys.
func (p *parser) mapping(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, path, "want a mapping, found %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		field := safeKey(k.Value)
		if path != "" {
			field = path + "." + field
		}
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errorf(k.Line, path, "a key must be a plain name, found %s", kindName(k))
			continue
		case k.Tag == "!!merge":
			p.errorf(k.Line, path, "merge keys (<<) are not supported; write the fields out")
			continue
		case seen[k.Value]:
			p.errorf(k.Line, field, "listed twice")
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

// deref follows aliases (bounded, so a pathological file cannot loop).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func (p *parser) scalar(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n.Line, field, "want a single value, found %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	v, ok := p.scalar(n, field)
	if !ok {
		return "", false
	}
	if strings.TrimSpace(v) == "" {
		p.errorf(n.Line, field, "empty")
		return "", false
	}
	return v, true
}

func (p *parser) number(n *yaml.Node, field string, lo, hi float64) (float64, bool) {
	v, ok := p.scalar(n, field)
	if !ok {
		return 0, false
	}
	if n.Tag != "!!int" && n.Tag != "!!float" {
		p.errorf(n.Line, field, "want a number, found %s", show(v))
		return 0, false
	}
	x, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		p.errorf(n.Line, field, "want a finite number, found %s", show(v))
		return 0, false
	}
	if x < lo || x > hi {
		p.errorf(n.Line, field, "%g is out of range [%g, %g]", x, lo, hi)
		return 0, false
	}
	return x, true
}

func (p *parser) integer(n *yaml.Node, field string, lo, hi int) (int, bool) {
	v, ok := p.scalar(n, field)
	if !ok {
		return 0, false
	}
	x, err := strconv.Atoi(v)
	if n.Tag != "!!int" || err != nil {
		p.errorf(n.Line, field, "want a whole number, found %s", show(v))
		return 0, false
	}
	if x < lo || x > hi {
		p.errorf(n.Line, field, "%d is out of range [%d, %d]", x, lo, hi)
		return 0, false
	}
	return x, true
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	v, ok := p.scalar(n, field)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errorf(n.Line, field, "want a duration such as 30s or 2m, found %s", show(v))
		return 0, false
	}
	if d <= 0 || d > 24*time.Hour {
		p.errorf(n.Line, field, "%v is out of range (0, 24h]", d)
		return 0, false
	}
	return d, true
}

// defaults reads the defaults block into def.
func (p *parser) defaults(n *yaml.Node, def *ModelSpec) {
	p.mapping(n, "defaults", func(key string, k, v *yaml.Node) {
		field := "defaults." + safeKey(key)
		switch key {
		case "timeout":
			if d, ok := p.duration(v, field); ok {
				def.Timeout = d
			}
		case "max_retries":
			if x, ok := p.integer(v, field, 0, MaxRetriesLimit); ok {
				def.MaxRetries = x
			}
		case "max_tokens":
			if x, ok := p.integer(v, field, 0, 1<<24); ok {
				def.MaxTokens = x
			}
		default:
			p.errorf(k.Line, field, "unknown field (want timeout, max_retries or max_tokens)")
		}
	})
}

// sim reads the sim block.
func (p *parser) sim(n *yaml.Node, s *SimSettings) {
	s.line = n.Line
	p.mapping(n, "sim", func(key string, k, v *yaml.Node) {
		field := "sim." + safeKey(key)
		s.lines[key] = v.Line
		switch key {
		case "seed":
			v2, ok := p.scalar(v, field)
			if !ok {
				return
			}
			x, err := strconv.ParseInt(v2, 10, 64)
			if v.Tag != "!!int" || err != nil {
				p.errorf(v.Line, field, "want a whole number, found %s", show(v2))
				return
			}
			s.Seed = x
		case "benchmarks":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v.Line, field, "want a list such as [gsm8k, math, mmlu], found %s", kindName(v))
				return
			}
			for i, b := range v.Content {
				if name, ok := p.str(deref(b), fmt.Sprintf("%s[%d]", field, i)); ok {
					s.Benchmarks = append(s.Benchmarks, name)
				}
			}
		case "time_scale":
			if x, ok := p.number(v, field, 0, 1000); ok {
				s.TimeScale = x
			}
		default:
			p.errorf(k.Line, field, "unknown field (want seed, benchmarks or time_scale)")
		}
	})
}

// replay reads the replay block: a known source and, for RouteLLM, one of
// its benchmarks.
func (p *parser) replay(n *yaml.Node, s *ReplaySettings) {
	s.line, s.present = deref(n).Line, true
	var source, bench string
	var sourceOK, benchOK bool
	p.mapping(n, "replay", func(key string, k, v *yaml.Node) {
		field := "replay." + safeKey(key)
		s.lines[key] = v.Line
		switch key {
		case "source":
			source, sourceOK = p.str(v, field)
		case "benchmark":
			bench, benchOK = p.str(v, field)
		default:
			p.errorf(k.Line, field, "unknown field (want source and, for routellm, benchmark)")
		}
	})
	if deref(n).Kind != yaml.MappingNode {
		return
	}
	benches, known := replayBenchmarks[source]
	switch {
	case !s.has("source"):
		p.errorf(s.line, "replay.source", "missing: name the recording, %s or %s", ReplaySourceRouteLLM, ReplaySourceLLMRouter)
		return
	case !sourceOK:
		return // already reported
	case !known:
		p.errorf(s.lines["source"], "replay.source", "%s is not a recorded source (want %s or %s)", show(source), ReplaySourceRouteLLM, ReplaySourceLLMRouter)
		return
	}
	s.Source = source
	switch {
	case len(benches) == 0 && s.has("benchmark"):
		p.errorf(s.lines["benchmark"], "replay.benchmark", "does not apply to source %s, whose recording is one benchmark of mixed tasks", source)
	case len(benches) == 0:
	case !s.has("benchmark"):
		p.errorf(s.line, "replay.benchmark", "missing: source %s recorded %s; name one", source, strings.Join(benches, " and "))
	case !benchOK:
	case !slices.Contains(benches, bench):
		p.errorf(s.lines["benchmark"], "replay.benchmark", "%s is not a benchmark of source %s (want %s)", show(bench), source, strings.Join(benches, " or "))
	default:
		s.Benchmark = bench
	}
}

// has reports whether the block sets field.
func (s ReplaySettings) has(field string) bool {
	_, ok := s.lines[field]
	return ok
}

// model reads one entry of the models list.
func (p *parser) model(i int, n *yaml.Node, def ModelSpec) ModelSpec {
	n = deref(n)
	s := def
	s.Index, s.Line, s.file, s.lines = i, n.Line, p.file, map[string]int{}
	path := fmt.Sprintf("models[%d]", i)
	if n.Kind != yaml.MappingNode {
		p.errorf(n.Line, path, "want a mapping with name and provider, found %s", kindName(n))
		return s
	}
	p.mapping(n, path, func(key string, k, v *yaml.Node) {
		field := path + "." + safeKey(key)
		s.lines[key] = v.Line
		switch key {
		case "name":
			if x, ok := p.str(v, field); ok {
				switch {
				case len(x) > maxNameLen:
					p.errorf(v.Line, field, "%d characters, more than %d", len(x), maxNameLen)
				case strings.ContainsAny(x, " \t\r\n\"\\{}=,"):
					p.errorf(v.Line, field, "%s holds spaces, quotes, braces, commas or '='; use a plain name such as gpt-4o-mini", show(x))
				default:
					s.Name = x
				}
			}
		case "provider":
			if x, ok := p.str(v, field); ok {
				switch x {
				case ProviderOpenAI, ProviderAnthropic, ProviderOllama, ProviderSim, ProviderReplay:
					s.Provider = x
				default:
					p.errorf(v.Line, field, "%s is not one of openai, anthropic, ollama, sim, replay", show(x))
				}
			}
		case "model":
			if x, ok := p.str(v, field); ok {
				s.Model = x
			}
		case "base_url":
			if x, ok := p.str(v, field); ok {
				if err := checkBaseURL(x); err != nil {
					p.errorf(v.Line, field, "%v", err)
				} else {
					s.BaseURL = strings.TrimRight(x, "/")
				}
			}
		case "api_key_env":
			if x, ok := p.str(v, field); ok {
				if !envNameRe.MatchString(x) {
					p.errorf(v.Line, field, "want the name of an environment variable (letters, digits, _), such as OPENAI_API_KEY; the value is not shown in case it is a key, and keys never go in the file")
				} else {
					s.APIKeyEnv = x
				}
			}
		case "price":
			s.Price = p.price(v, field)
		case "description":
			if x, ok := p.scalar(v, field); ok {
				s.Description = strings.TrimSpace(x)
			}
		case "skills":
			s.Skills = p.skills(v, field)
		case "timeout":
			if d, ok := p.duration(v, field); ok {
				s.Timeout = d
			}
		case "max_retries":
			if x, ok := p.integer(v, field, 0, MaxRetriesLimit); ok {
				s.MaxRetries = x
			}
		case "fallback":
			if x, ok := p.str(v, field); ok {
				s.Fallback = x
			}
		case "max_tokens":
			if x, ok := p.integer(v, field, 0, 1<<24); ok {
				s.MaxTokens = x
			}
		default:
			if secretField.MatchString(key) {
				p.errorf(k.Line, field, "keys never go in the pool file; put the key in an environment variable and name the variable in api_key_env")
				return
			}
			p.errorf(k.Line, field, "unknown field (want %s)", strings.Join(modelFields, ", "))
		}
	})
	p.checkEntry(&s, n.Line, path)
	return s
}

func (p *parser) price(n *yaml.Node, field string) *Price {
	var pr Price
	var in, out bool
	p.mapping(n, field, func(key string, k, v *yaml.Node) {
		switch key {
		case "input_per_million":
			pr.InputPerMillion, in = p.number(v, field+"."+key, 0, 1e6)
		case "output_per_million":
			pr.OutputPerMillion, out = p.number(v, field+"."+key, 0, 1e6)
		default:
			p.errorf(k.Line, field+"."+safeKey(key), "unknown field (want input_per_million and output_per_million, in dollars per million tokens)")
		}
	})
	if deref(n).Kind == yaml.MappingNode {
		if _, ok := findKey(n, "input_per_million"); !ok {
			p.errorf(n.Line, field+".input_per_million", "missing (dollars per million input tokens)")
		}
		if _, ok := findKey(n, "output_per_million"); !ok {
			p.errorf(n.Line, field+".output_per_million", "missing (dollars per million output tokens)")
		}
	}
	if !in || !out {
		return nil
	}
	return &pr
}

func findKey(n *yaml.Node, key string) (*yaml.Node, bool) {
	n = deref(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], true
		}
	}
	return nil, false
}

func (p *parser) skills(n *yaml.Node, field string) map[string]float64 {
	out := map[string]float64{}
	p.mapping(n, field, func(key string, k, v *yaml.Node) {
		if !slices.Contains(skillDomains, key) {
			p.errorf(k.Line, field+"."+safeKey(key), "unknown domain (want %s)", strings.Join(skillDomains, ", "))
			return
		}
		if x, ok := p.number(v, field+"."+key, 0, 1); ok {
			out[key] = x
		}
	})
	return out
}

// skillDomains are the domains a model's skills may name (tasks.Domains).
var skillDomains = []string{"math", "commonsense", "code"}

// checkBaseURL refuses URLs a provider client cannot use or that would
// carry credentials.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("want an http:// or https:// URL")
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL holds credentials; put the key in an environment variable and name it in api_key_env")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("the URL must not have a query or fragment")
	}
	return nil
}

// checkEntry applies the per-provider rules once all fields are read.
func (p *parser) checkEntry(s *ModelSpec, line int, path string) {
	if !s.Has("name") {
		p.errorf(line, path+".name", "missing")
	}
	if !s.Has("provider") {
		p.errorf(line, path+".provider", "missing (want openai, anthropic, ollama, sim or replay)")
		return
	}
	if s.Provider == "" {
		return // already reported
	}
	if s.Model == "" {
		s.Model = s.Name
	}
	at := func(field string) int {
		if l := s.lines[field]; l != 0 {
			return l
		}
		return line
	}
	switch s.Provider {
	case ProviderSim, ProviderReplay:
		for _, f := range []string{"base_url", "api_key_env"} {
			if s.Has(f) {
				p.errorf(at(f), path+"."+f, "does not apply to provider %s", s.Provider)
			}
		}
		return
	case ProviderOpenAI:
		if s.BaseURL == "" && !s.Has("base_url") {
			s.BaseURL = DefaultOpenAIBaseURL
		}
		if s.APIKeyEnv == "" && !s.Has("api_key_env") && isHost(s.BaseURL, "api.openai.com") {
			p.errorf(line, path+".api_key_env", "missing: OpenAI's API needs a key; name the environment variable that holds it, e.g. api_key_env: OPENAI_API_KEY")
		}
	case ProviderAnthropic:
		if s.BaseURL == "" && !s.Has("base_url") {
			s.BaseURL = DefaultAnthropicBaseURL
		}
		if !s.Has("api_key_env") {
			p.errorf(line, path+".api_key_env", "missing: Anthropic's API needs a key; name the environment variable that holds it, e.g. api_key_env: ANTHROPIC_API_KEY")
		}
	case ProviderOllama:
		if s.BaseURL == "" && !s.Has("base_url") {
			s.BaseURL = DefaultOllamaBaseURL
		}
		if s.Has("api_key_env") {
			p.errorf(at("api_key_env"), path+".api_key_env", "does not apply to provider ollama, whose client sends no key; use provider openai with the server's /v1 endpoint if it needs one")
		}
	}
	if !s.Has("price") {
		p.errorf(line, path+".price", "missing: give the list price, price: {input_per_million: ..., output_per_million: ...} in dollars (0 for a free local model)")
	}
}

func isHost(raw, host string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Hostname(), host)
}

// crossCheck validates what spans entries: unique names, fallbacks that
// name another entry, no fallback loops, and a replay block for replay
// entries.
func (p *parser) crossCheck(f *PoolFile) {
	if !f.Replay.present {
		for i, s := range f.Models {
			if s.Provider == ProviderReplay {
				p.errorf(s.lines["provider"], fmt.Sprintf("models[%d].provider", i), "provider replay needs a top-level replay block naming the recording, e.g. replay: {source: routellm, benchmark: gsm8k}")
				break
			}
		}
	}
	byName := map[string]int{}
	for i, s := range f.Models {
		if s.Name == "" {
			continue
		}
		if j, dup := byName[s.Name]; dup {
			p.errorf(s.lines["name"], fmt.Sprintf("models[%d].name", i), "%q is already the name of models[%d]", s.Name, j)
			continue
		}
		byName[s.Name] = i
	}
	for i, s := range f.Models {
		if s.Fallback == "" {
			continue
		}
		field := fmt.Sprintf("models[%d].fallback", i)
		j, ok := byName[s.Fallback]
		switch {
		case s.Fallback == s.Name:
			p.errorf(s.lines["fallback"], field, "a model cannot fall back to itself")
			continue
		case !ok:
			p.errorf(s.lines["fallback"], field, "no model is named %s", show(s.Fallback))
			continue
		}
		// Follow the chain from i; a loop comes back to a visited entry.
		chain := []string{s.Name}
		seen := map[int]bool{i: true}
		for k := j; k >= 0; {
			chain = append(chain, f.Models[k].Name)
			if seen[k] {
				if k == i {
					p.errorf(s.lines["fallback"], field, "fallback loop %s", strings.Join(chain, " -> "))
				}
				break
			}
			seen[k] = true
			next, ok := byName[f.Models[k].Fallback]
			if !ok || f.Models[k].Fallback == "" {
				break
			}
			k = next
		}
	}
}

// Build creates the pool: each entry's provider client, wrapped in a
// Resilient model with the entry's timeout, retries and fallback. Errors
// name the line and field at fault.
func (f *PoolFile) Build(ctx context.Context, opts PoolFileOptions) (*Pool, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		opts.Transport = t
	}
	factories := map[string]ProviderFactory{
		ProviderOpenAI:    httpProvider(opts, newOpenAI),
		ProviderAnthropic: httpProvider(opts, newAnthropic),
		ProviderOllama:    httpProvider(opts, newOllama),
		ProviderSim:       unavailable("provider sim needs package agents/sim: pass sim.PoolProvider in PoolFileOptions.Providers (the masrouter command does)"),
		ProviderReplay:    unavailable("provider replay needs package agents/replay: pass replay.PoolProvider in PoolFileOptions.Providers (the masrouter command does)"),
	}
	for name, fac := range opts.Providers {
		factories[name] = fac
	}
	providers := map[string]Provider{}
	raw := make([]*Model, len(f.Models))
	for i, s := range f.Models {
		prov, ok := providers[s.Provider]
		if !ok {
			fac := factories[s.Provider]
			if fac == nil {
				return nil, s.Error("provider", fmt.Errorf("%w: %s", ErrProviderUnavailable, s.Provider))
			}
			var err error
			if prov, err = fac(ctx, f); err != nil {
				var pe *PoolFileError
				if errors.As(err, &pe) {
					return nil, err
				}
				return nil, s.Error("provider", err)
			}
			providers[s.Provider] = prov
		}
		m, err := prov.Model(ctx, s)
		if err != nil {
			var pe *PoolFileError
			if errors.As(err, &pe) {
				return nil, err
			}
			return nil, s.Error("", err)
		}
		if m == nil || m.LLM == nil {
			return nil, s.Error("provider", fmt.Errorf("provider %s returned no model", s.Provider))
		}
		out := *m
		out.Name, out.Provider = s.Name, s.Provider
		if s.Price != nil {
			out.Price = *s.Price
		}
		if s.Has("description") {
			out.Description = s.Description
		}
		if s.Skills != nil {
			out.Skills = s.Skills
		}
		if s.MaxTokens > 0 || s.Has("max_tokens") {
			out.MaxTokens = s.MaxTokens
		}
		raw[i] = &out
	}
	// Wrap in fallback order, so each fallback is wrapped before the
	// models that fall back to it (the parser refused loops).
	byName := map[string]int{}
	for i, s := range f.Models {
		byName[s.Name] = i
	}
	wrapped := make([]*Model, len(f.Models))
	var wrap func(i int) (*Model, error)
	wrap = func(i int) (*Model, error) {
		if wrapped[i] != nil {
			return wrapped[i], nil
		}
		s := f.Models[i]
		var fb *Model
		if s.Fallback != "" {
			var err error
			if fb, err = wrap(byName[s.Fallback]); err != nil {
				return nil, err
			}
		}
		r, err := NewResilient(ResilientConfig{Name: s.Name, LLM: raw[i].LLM, Policy: s.RetryPolicy(), Fallback: fb, Clock: opts.Clock, Jitter: opts.Jitter})
		if err != nil {
			return nil, s.Error("", err)
		}
		m := *raw[i]
		m.LLM = r
		if err := m.Validate(); err != nil {
			return nil, s.Error("", err)
		}
		wrapped[i] = &m
		return wrapped[i], nil
	}
	for i := range f.Models {
		if _, err := wrap(i); err != nil {
			return nil, err
		}
	}
	pool, err := NewPool(wrapped...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return pool, nil
}

func unavailable(msg string) ProviderFactory {
	return func(context.Context, *PoolFile) (Provider, error) {
		return nil, fmt.Errorf("%w: %s", ErrProviderUnavailable, msg)
	}
}

// httpConfig is what an HTTP provider client is built from.
type httpConfig struct {
	spec   ModelSpec
	token  string // empty when the entry names no key
	client *http.Client
}

// httpProvider builds entries of an HTTP provider: it reads the key from the
// named environment variable and gives the client an HTTP client whose
// transport reports statuses to Resilient.
func httpProvider(opts PoolFileOptions, newLLM func(httpConfig) (llms.Model, error)) ProviderFactory {
	return func(context.Context, *PoolFile) (Provider, error) {
		return ProviderFunc(func(_ context.Context, s ModelSpec) (*Model, error) {
			c := httpConfig{spec: s}
			if s.APIKeyEnv != "" {
				v, ok := opts.LookupEnv(s.APIKeyEnv)
				if !ok || strings.TrimSpace(v) == "" {
					return nil, s.Error("api_key_env", fmt.Errorf("environment variable %s is not set or empty", s.APIKeyEnv))
				}
				c.token = strings.TrimSpace(v)
			}
			c.client = &http.Client{Transport: &statusTransport{next: opts.Transport, noAuth: c.token == ""}}
			llm, err := newLLM(c)
			if err != nil {
				return nil, s.Error("provider", fmt.Errorf("build %s client: %w", s.Provider, err))
			}
			return &Model{LLM: llm}, nil
		}), nil
	}
}

// noKey is the token given to clients that insist on one when the entry
// names no key; StatusTransport removes the header it would produce.
const noKey = "no-key"

func newOpenAI(c httpConfig) (llms.Model, error) {
	tok := c.token
	if tok == "" {
		tok = noKey
	}
	return openai.New(openai.WithBaseURL(c.spec.BaseURL), openai.WithToken(tok), openai.WithModel(c.spec.Model), openai.WithHTTPClient(c.client))
}

func newAnthropic(c httpConfig) (llms.Model, error) {
	return anthropic.New(anthropic.WithBaseURL(c.spec.BaseURL), anthropic.WithToken(c.token), anthropic.WithModel(c.spec.Model), anthropic.WithHTTPClient(c.client))
}

func newOllama(c httpConfig) (llms.Model, error) {
	return ollama.New(ollama.WithServerURL(c.spec.BaseURL), ollama.WithModel(c.spec.Model), ollama.WithHTTPClient(c.client))
}
