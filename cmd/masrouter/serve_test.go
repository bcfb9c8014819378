package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/agents/replay"
	"github.com/masrouter/masrouter/agents/sim"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/train"
)

// syncBuffer is a goroutine-safe bytes.Buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRe = regexp.MustCompile(`listening on (http://\S+)`)

// startServe runs `masrouter serve args...` in-process on a free port and
// returns its URL, its output, and a function that stops it and returns
// the exit code.
func startServe(t *testing.T, args ...string) (string, *syncBuffer, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), &out, &errOut) }()
	var url string
	require.Eventually(t, func() bool {
		if m := listeningRe.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			return true
		}
		select {
		case c := <-code:
			code <- c
			t.Fatalf("serve exited with %d: %s", c, errOut.String())
		default:
		}
		return false
	}, 60*time.Second, 20*time.Millisecond)
	stop := func() int {
		cancel()
		select {
		case c := <-code:
			return c
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return url, &out, &errOut, stop
}

// TestServeSimPool is the issue's acceptance check: `masrouter serve --pool
// examples/pool.sim.yaml` answers a curl-style request with a routed plan,
// and stops cleanly.
func TestServeSimPool(t *testing.T) {
	t.Setenv("MASROUTER_TEST_TOKEN", "tok-123")
	url, out, errOut, stop := startServe(t, "--pool", "../../examples/pool.sim.yaml", "--token-env", "MASROUTER_TEST_TOKEN", "--budget", "0.05")
	assert.Contains(t, out.String(), "pool: 7 models from ../../examples/pool.sim.yaml")
	assert.Contains(t, out.String(), "note: the pool is simulated")
	assert.Contains(t, out.String(), "auth: bearer token required")
	assert.NotContains(t, out.String(), "tok-123")

	body := `{"model":"masrouter","messages":[{"role":"user","content":"Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"}]}`
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	var c struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
		Masrouter struct {
			Mode      string   `json:"mode"`
			Models    []string `json:"models"`
			Dollars   float64  `json:"dollars"`
			Budget    float64  `json:"budget"`
			TraceID   string   `json:"trace_id"`
			Answer    string   `json:"answer"`
			Simulated bool     `json:"simulated"`
		} `json:"masrouter"`
	}
	require.NoError(t, json.Unmarshal(data, &c))
	require.Len(t, c.Choices, 1)
	assert.Contains(t, c.Choices[0].Message.Content, "18")
	assert.Positive(t, c.Usage.TotalTokens)
	assert.NotEmpty(t, c.Masrouter.Mode)
	assert.NotEmpty(t, c.Masrouter.Models)
	assert.Positive(t, c.Masrouter.Dollars)
	assert.LessOrEqual(t, c.Masrouter.Dollars, 0.05)
	assert.Equal(t, 0.05, c.Masrouter.Budget)
	assert.NotEmpty(t, c.Masrouter.TraceID)
	assert.True(t, c.Masrouter.Simulated)

	// Without the token: 401.
	resp, err = http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	assert.Equal(t, 0, stop(), errOut.String())
	assert.Contains(t, errOut.String(), "msg=\"chat completion\"")
	assert.Contains(t, errOut.String(), "shut down cleanly")
	assert.NotContains(t, errOut.String(), "Janet", "prompts are never logged")
	assert.NotContains(t, errOut.String(), "tok-123", "the token is never logged")
}

// replayCompletion is the part of a chat completion TestServeReplayPool reads.
type replayCompletion struct {
	Choices []struct {
		Message struct{ Content string } `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
	Masrouter *struct {
		Mode       string   `json:"mode"`
		Models     []string `json:"models"`
		AnsweredBy []string `json:"answered_by"`
		Dollars    float64  `json:"dollars"`
		TraceID    string   `json:"trace_id"`
		Answer     string   `json:"answer"`
		Simulated  bool     `json:"simulated"`
	} `json:"masrouter"`
}

// postQuestion sends query to the server at url and decodes the reply.
func postQuestion(t *testing.T, url, query string) replayCompletion {
	t.Helper()
	body, err := json.Marshal(map[string]any{"model": "masrouter", "messages": []map[string]string{{"role": "user", "content": query}}})
	require.NoError(t, err)
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	var c replayCompletion
	require.NoError(t, json.Unmarshal(data, &c))
	require.Len(t, c.Choices, 1)
	require.NotNil(t, c.Masrouter, "the reply has a masrouter object")
	return c
}

// TestServeReplayPool serves examples/pool.replay.yaml: a recorded GSM8K
// question is answered with the recorded reply of a model that answered
// it, with usage and the masrouter object; a question RouteLLM removed as
// contaminated gets a reply saying it is not in the recording.
func TestServeReplayPool(t *testing.T) {
	d, err := replay.LoadRouteLLM("gsm8k")
	require.NoError(t, err)
	url, out, errOut, stop := startServe(t, "--pool", "../../examples/pool.replay.yaml")
	assert.Contains(t, out.String(), "pool: 2 models from ../../examples/pool.replay.yaml: gpt-4, mixtral-8x7b")
	assert.Contains(t, out.String(), "note: replay models (agents/replay) answer only recorded questions")
	assert.NotContains(t, out.String(), "simulated")
	recorded := map[string]string{"gpt-4": replay.RouteLLMStrong, "mixtral-8x7b": replay.RouteLLMWeak}

	it := d.Items[0]
	c := postQuestion(t, url, it.Task.Query)
	got := strings.TrimSpace(c.Choices[0].Message.Content)
	require.NotEmpty(t, c.Masrouter.AnsweredBy)
	var from string
	for _, name := range c.Masrouter.AnsweredBy {
		model, ok := recorded[name]
		require.True(t, ok, "answered by %q, not a pool model", name)
		i, err := d.ModelIndex(model)
		require.NoError(t, err)
		if strings.TrimSpace(it.Reply(i)) == got {
			from = model
		}
	}
	require.NotEmpty(t, from, "the content %q is no recorded reply of %v", got, c.Masrouter.AnsweredBy)
	score, err := tasks.Score(context.Background(), it.Task, got)
	require.NoError(t, err)
	want, err := d.Score(it.Task.ID, from)
	require.NoError(t, err)
	assert.Equal(t, want, score, "the reply scores as %s's recorded outcome", from)
	assert.Positive(t, c.Usage.PromptTokens)
	assert.Positive(t, c.Usage.CompletionTokens)
	assert.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
	assert.NotEmpty(t, c.Masrouter.Mode)
	assert.NotEmpty(t, c.Masrouter.Models)
	assert.Positive(t, c.Masrouter.Dollars)
	assert.NotEmpty(t, c.Masrouter.TraceID)
	assert.False(t, c.Masrouter.Simulated, "replayed outcomes are real, not simulated")

	ts, err := tasks.Load("gsm8k", "test")
	require.NoError(t, err)
	_, ok := d.Item(ts[0].ID)
	require.False(t, ok, "GSM8K's first test question is one RouteLLM removed as contaminated")
	c = postQuestion(t, url, ts[0].Query)
	assert.Contains(t, c.Choices[0].Message.Content, "recorded answers to the routellm/gsm8k questions, and this question is not among them, so I have no answer to give.")

	assert.Equal(t, 0, stop(), errOut.String())
}

// TestServeDefaultPool serves the simulated pool without a pool file.
func TestServeDefaultPool(t *testing.T) {
	url, out, _, stop := startServe(t, "--lambda", "5")
	assert.Contains(t, out.String(), "pool: 7 models from the simulated pool")
	assert.Contains(t, out.String(), "untrained controller")
	resp, err := http.Get(url + "/v1/models")
	require.NoError(t, err)
	var models struct {
		Data []struct {
			ID     string  `json:"id"`
			Lambda float64 `json:"masrouter_lambda"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&models))
	resp.Body.Close()
	require.NotEmpty(t, models.Data)
	assert.Equal(t, "masrouter", models.Data[0].ID)
	assert.Equal(t, 5.0, models.Data[0].Lambda, "--lambda sets plain masrouter's λ")
	assert.Equal(t, 0, stop())
}

// TestServePolicies serves a trained checkpoint at its own λ and another
// at a λ given on the command line; requests pick the nearest.
func TestServePolicies(t *testing.T) {
	dir := t.TempDir()
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	var models []*agents.Model
	for _, m := range cat.Models {
		models = append(models, &agents.Model{Name: m.Name, Provider: "sim", LLM: idle{},
			Price: agents.Price{InputPerMillion: m.Price.InputPerMillion, OutputPerMillion: m.Price.OutputPerMillion}})
	}
	pool, err := agents.NewPool(models...)
	require.NoError(t, err)
	ctrl, err := routing.NewController(routing.ControllerConfig{Pool: pool, Seed: 9})
	require.NoError(t, err)
	cp, err := train.NewCheckpoint(ctrl, train.TrainingInfo{Mode: "online", Task: "gsm8k", Lambda: 7, Config: train.Config{Lambda: 7, Entropy: 0.02}})
	require.NoError(t, err)
	path := dir + "/policy.json"
	require.NoError(t, cp.Save(path))

	url, out, _, stop := startServe(t, "--policy", path, "--policy", "50="+path)
	assert.Contains(t, out.String(), "policy: "+path+" (λ=7)")
	assert.Contains(t, out.String(), "policy: "+path+" (λ=50)")
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"masrouter:40","messages":[{"role":"user","content":"What is 2+2?"}]}`))
	require.NoError(t, err)
	var c struct {
		Masrouter struct {
			Lambda       float64 `json:"lambda"`
			PolicyLambda float64 `json:"policy_lambda"`
		} `json:"masrouter"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	resp.Body.Close()
	assert.Equal(t, 40.0, c.Masrouter.Lambda)
	assert.Equal(t, 50.0, c.Masrouter.PolicyLambda)
	assert.Equal(t, 0, stop())

	r := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--policy", path, "--policy", "7="+path)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "λ=7 is already served by "+path)
}

// idle is a model that is never called.
type idle struct{}

func (idle) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return nil, errors.New("idle")
}
func (idle) Call(context.Context, string, ...llms.CallOption) (string, error) {
	return "", errors.New("idle")
}

func TestServeFlagErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "pool.yaml", "models:\n  - name: m\n    provider: openai\n    api_key: sk-abc\n")
	badReplay := writeFile(t, dir, "pool.replay.yaml", "replay: {source: routellm, benchmark: gsm8k}\nmodels:\n  - name: gpt-5\n    provider: replay\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative budget", []string{"--budget", "-1"}, "--budget -1: want a dollar amount ≥ 0"},
		{"negative lambda", []string{"--lambda", "-2"}, "--lambda -2: want a value in [0, 1e+06]"},
		{"zero body", []string{"--max-body", "0"}, "--max-body 0: want a positive number of bytes"},
		{"bad domain", []string{"--domain", "poetry"}, `--domain: unknown domain "poetry"`},
		{"allow-new without policy", []string{"--allow-new-models"}, "--allow-new-models applies only with --policy"},
		{"token variable unset", []string{"--token-env", "MASROUTER_SURELY_UNSET_VAR"}, "--token-env MASROUTER_SURELY_UNSET_VAR: the environment variable is not set or empty"},
		{"pool file missing", []string{"--pool", dir + "/nope.yaml"}, "--pool: pool file: open"},
		{"pool file bad", []string{"--pool", bad}, "pool.yaml:4: models[0].api_key: keys never go in the pool file"},
		{"replay unknown model", []string{"--pool", badReplay}, `pool.replay.yaml:3: models[0].model: replay: unknown model "gpt-5" in routellm/gsm8k (have gpt-4-1106-preview, mistralai/Mixtral-8x7B-Instruct-v0.1)`},
		{"policy missing", []string{"--policy", dir + "/nope.json"}, "--policy " + dir + "/nope.json: read checkpoint"},
		{"policy bad lambda", []string{"--policy", "-3=" + dir + "/p.json"}, "want λ=path with λ in [0, 1e+06]"},
		{"bad address", []string{"--addr", "256.0.0.1:99999"}, "--addr 256.0.0.1:99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve"}, tt.args...)
			r := runCLI(t, args...)
			assert.Equal(t, 1, r.code, r.stdout)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stderr, "sk-abc")
		})
	}
}
