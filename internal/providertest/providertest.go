// Package providertest serves fake OpenAI- and Anthropic-compatible chat
// APIs over httptest, answered by any llms.Model and with faults injected on
// demand (429 with Retry-After, 500, 503, slow replies, malformed JSON,
// dropped and cut connections), so tests exercise langchaingo's real clients
// without reaching the network.
package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/tmc/langchaingo/llms"
)

// Wire is an API dialect.
type Wire string

// The dialects a Server speaks.
const (
	// OpenAI is POST /chat/completions (non-streaming and SSE with
	// stream_options.include_usage).
	OpenAI Wire = "openai"
	// Anthropic is POST /messages (non-streaming and SSE events).
	Anthropic Wire = "anthropic"
)

// Fault is what goes wrong with one request.
type Fault string

// The faults a Server can inject.
const (
	// None answers normally.
	None Fault = ""
	// RateLimit replies 429 with a Retry-After header.
	RateLimit Fault = "429"
	// ServerError replies 500 with a JSON error.
	ServerError Fault = "500"
	// Unavailable replies 503 with a Retry-After header.
	Unavailable Fault = "503"
	// Slow waits Config.SlowDelay (or until the client gives up) before
	// answering.
	Slow Fault = "slow"
	// Malformed replies 200 with a body that is not valid JSON (or, when
	// streaming, an event stream that breaks off in the middle of an event).
	Malformed Fault = "malformed"
	// Drop closes the connection without any reply.
	Drop Fault = "drop"
	// Cut sends the status line, headers and half the body, then closes the
	// connection.
	Cut Fault = "cut"
)

// Faults lists every fault but None.
func Faults() []Fault {
	return []Fault{RateLimit, ServerError, Unavailable, Slow, Malformed, Drop, Cut}
}

// Config configures a Server.
type Config struct {
	Wire Wire
	// Backend returns the model that answers requests for a model id.
	Backend func(model string) (llms.Model, error)
	// Fault decides the fault of request n (from 0, in arrival order); nil
	// injects none.
	Fault func(n int64) Fault
	// RetryAfter is the Retry-After header of 429 and 503 replies (default
	// "1"); "-" sends none.
	RetryAfter string
	// SlowDelay is how long a Slow request waits; 0 waits until the client
	// gives up.
	SlowDelay time.Duration
	// NoUsage leaves usage out of replies.
	NoUsage bool
}

// Request is what the server saw of one request.
type Request struct {
	N      int64
	Path   string
	Header http.Header
	Model  string
	Stream bool
	Fault  Fault
	// Answered is true when a complete reply was sent.
	Answered bool
}

// Server is a fake provider API.
type Server struct {
	*httptest.Server
	cfg Config

	mu   sync.Mutex
	n    int64
	reqs []Request
}

// New starts a server; Close it when done.
func New(cfg Config) *Server {
	if cfg.RetryAfter == "" {
		cfg.RetryAfter = "1"
	}
	s := &Server{cfg: cfg}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// Requests returns every request seen so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count returns how many requests were seen, how many of them had a fault,
// and how many were answered.
func (s *Server) Count() (requests, faulted, answered int) {
	for _, r := range s.Requests() {
		requests++
		if r.Fault != None {
			faulted++
		}
		if r.Answered {
			answered++
		}
	}
	return
}

func (s *Server) record(r Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	return len(s.reqs) - 1
}

func (s *Server) answered(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs[i].Answered = true
}

// call is a decoded request in either dialect.
type call struct {
	model     string
	messages  []llms.MessageContent
	maxTokens int
	stream    bool
	usage     bool // OpenAI stream_options.include_usage
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := s.n
	s.n++
	s.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var c call
	switch {
	case s.cfg.Wire == OpenAI && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		c, err = decodeOpenAI(body)
	case s.cfg.Wire == Anthropic && strings.HasSuffix(r.URL.Path, "/messages"):
		c, err = decodeAnthropic(body)
	default:
		writeJSON(w, http.StatusNotFound, errorBody("no such endpoint "+r.URL.Path))
		return
	}
	fault := None
	if s.cfg.Fault != nil {
		fault = s.cfg.Fault(n)
	}
	i := s.record(Request{N: n, Path: r.URL.Path, Header: r.Header.Clone(), Model: c.model, Stream: c.stream, Fault: fault})
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody(err.Error()))
		return
	}
	switch fault {
	case RateLimit, Unavailable:
		if s.cfg.RetryAfter != "-" {
			w.Header().Set("Retry-After", s.cfg.RetryAfter)
		}
		status := http.StatusTooManyRequests
		if fault == Unavailable {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, errorBody("injected "+string(fault)))
		return
	case ServerError:
		writeJSON(w, http.StatusInternalServerError, errorBody("injected 500"))
		return
	case Drop:
		hijackClose(w, false)
		return
	case Slow:
		if s.cfg.SlowDelay <= 0 {
			<-r.Context().Done()
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.cfg.SlowDelay):
		}
	}
	text, usage, err := s.answer(r.Context(), c)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody("backend: "+err.Error()))
		return
	}
	var out []byte
	contentType := "application/json"
	if c.stream {
		contentType = "text/event-stream"
		if s.cfg.Wire == OpenAI {
			out = openAIStream(c, text, usage, s.cfg.NoUsage)
		} else {
			out = anthropicStream(c, text, usage)
		}
	} else {
		if s.cfg.Wire == OpenAI {
			out = openAIReply(c, text, usage, s.cfg.NoUsage)
		} else {
			out = anthropicReply(c, text, usage)
		}
	}
	switch fault {
	case Malformed:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		cut := out[:len(out)/2]
		if c.stream {
			// Break off inside an event and end the stream there.
			_, _ = w.Write(cut)
			hijackClose(w, true)
			return
		}
		_, _ = w.Write(append(cut, []byte(`{"unterminated": [`)...))
		return
	case Cut:
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", fmt.Sprint(len(out)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out[:len(out)/2])
		hijackClose(w, true)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	s.answered(i)
}

// hijackClose closes the connection, after sending what was written when
// flush is true.
func hijackClose(w http.ResponseWriter, flush bool) {
	if f, ok := w.(http.Flusher); ok && flush {
		f.Flush()
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("providertest: the response writer cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	_ = buf.Flush()
	_ = conn.Close()
}

// answer asks the backend.
func (s *Server) answer(ctx context.Context, c call) (string, [2]int, error) {
	if s.cfg.Backend == nil {
		return "", [2]int{}, errors.New("no backend")
	}
	m, err := s.cfg.Backend(c.model)
	if err != nil {
		return "", [2]int{}, err
	}
	var opts []llms.CallOption
	if c.maxTokens > 0 {
		opts = append(opts, llms.WithMaxTokens(c.maxTokens))
	}
	resp, err := m.GenerateContent(ctx, c.messages, opts...)
	if err != nil {
		return "", [2]int{}, err
	}
	if len(resp.Choices) == 0 {
		return "", [2]int{}, errors.New("no choices")
	}
	ch := resp.Choices[0]
	u := [2]int{intOf(ch.GenerationInfo["PromptTokens"]), intOf(ch.GenerationInfo["CompletionTokens"])}
	if u == [2]int{} {
		for _, m := range c.messages {
			for _, p := range m.Parts {
				if t, ok := p.(llms.TextContent); ok {
					u[0] += len(t.Text)/4 + 1
				}
			}
		}
		u[1] = len(ch.Content)/4 + 1
	}
	return ch.Content, u, nil
}

func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

func errorBody(msg string) map[string]any {
	return map[string]any{"error": map[string]any{"message": msg, "type": "server_error"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// messageText reads content that is a string or a list of text blocks.
func messageText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", fmt.Errorf("content is neither a string nor a list of blocks")
	}
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Type != "text" {
			return "", fmt.Errorf("content block of type %q", bl.Type)
		}
		b.WriteString(bl.Text)
	}
	return b.String(), nil
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

func roleOf(r string) (llms.ChatMessageType, error) {
	switch r {
	case "system", "developer":
		return llms.ChatMessageTypeSystem, nil
	case "user":
		return llms.ChatMessageTypeHuman, nil
	case "assistant":
		return llms.ChatMessageTypeAI, nil
	}
	return "", fmt.Errorf("unsupported role %q", r)
}

func decodeOpenAI(body []byte) (call, error) {
	var req struct {
		Model               string        `json:"model"`
		Messages            []wireMessage `json:"messages"`
		MaxTokens           int           `json:"max_tokens"`
		MaxCompletionTokens int           `json:"max_completion_tokens"`
		Stream              bool          `json:"stream"`
		StreamOptions       *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return call{}, err
	}
	c := call{model: req.Model, maxTokens: max(req.MaxTokens, req.MaxCompletionTokens), stream: req.Stream}
	c.usage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	for _, m := range req.Messages {
		role, err := roleOf(m.Role)
		if err != nil {
			return c, err
		}
		text, err := messageText(m.Content)
		if err != nil {
			return c, err
		}
		c.messages = append(c.messages, llms.TextParts(role, text))
	}
	return c, nil
}

func decodeAnthropic(body []byte) (call, error) {
	var req struct {
		Model     string          `json:"model"`
		System    json.RawMessage `json:"system"`
		Messages  []wireMessage   `json:"messages"`
		MaxTokens int             `json:"max_tokens"`
		Stream    bool            `json:"stream"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return call{}, err
	}
	c := call{model: req.Model, maxTokens: req.MaxTokens, stream: req.Stream}
	if len(req.System) > 0 && string(req.System) != "null" {
		sys, err := messageText(req.System)
		if err != nil {
			return c, err
		}
		if sys != "" {
			c.messages = append(c.messages, llms.TextParts(llms.ChatMessageTypeSystem, sys))
		}
	}
	for _, m := range req.Messages {
		role, err := roleOf(m.Role)
		if err != nil {
			return c, err
		}
		text, err := messageText(m.Content)
		if err != nil {
			return c, err
		}
		c.messages = append(c.messages, llms.TextParts(role, text))
	}
	return c, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func openAIReply(c call, text string, u [2]int, noUsage bool) []byte {
	resp := map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1720000000, "model": c.model,
		"choices": []any{map[string]any{
			"index": 0, "message": map[string]any{"role": "assistant", "content": text},
			"finish_reason": "stop", "logprobs": nil,
		}},
	}
	if !noUsage {
		resp["usage"] = map[string]any{"prompt_tokens": u[0], "completion_tokens": u[1], "total_tokens": u[0] + u[1]}
	}
	return append(mustJSON(resp), '\n')
}

// pieces splits text into chunks of about n bytes on rune boundaries.
func pieces(text string, n int) []string {
	var out []string
	for len(text) > 0 {
		k := min(n, len(text))
		for k < len(text) && !isRuneStart(text[k]) {
			k++
		}
		out = append(out, text[:k])
		text = text[k:]
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func openAIStream(c call, text string, u [2]int, noUsage bool) []byte {
	var b strings.Builder
	event := func(v any) {
		b.WriteString("data: ")
		b.Write(mustJSON(v))
		b.WriteString("\n\n")
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1720000000, "model": c.model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
		}
	}
	event(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for _, p := range pieces(text, 16) {
		event(chunk(map[string]any{"content": p}, nil))
	}
	event(chunk(map[string]any{}, "stop"))
	if c.usage && !noUsage {
		event(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1720000000, "model": c.model,
			"choices": []any{},
			"usage":   map[string]any{"prompt_tokens": u[0], "completion_tokens": u[1], "total_tokens": u[0] + u[1]},
		})
	}
	b.WriteString("data: [DONE]\n\n")
	return []byte(b.String())
}

func anthropicReply(c call, text string, u [2]int) []byte {
	return append(mustJSON(map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": c.model,
		"content":     []any{map[string]any{"type": "text", "text": text}},
		"stop_reason": "end_turn", "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": u[0], "output_tokens": u[1]},
	}), '\n')
}

func anthropicStream(c call, text string, u [2]int) []byte {
	var b strings.Builder
	event := func(name string, v any) {
		b.WriteString("event: " + name + "\n")
		b.WriteString("data: ")
		b.Write(mustJSON(v))
		b.WriteString("\n\n")
	}
	event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": c.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": u[0], "output_tokens": 1},
	}})
	event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	event("ping", map[string]any{"type": "ping"})
	for _, p := range pieces(text, 16) {
		event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": p}})
	}
	event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": "end_turn", "stop_sequence": nil}, "usage": map[string]any{"output_tokens": u[1]}})
	event("message_stop", map[string]any{"type": "message_stop"})
	return []byte(b.String())
}

// Canned is a goroutine-safe llms.Model that always replies text and
// reports the given token usage.
type Canned struct {
	Text             string
	PromptTokens     int
	CompletionTokens int
}

// Call implements llms.Model.
func (c Canned) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, c, prompt, options...)
}

// GenerateContent implements llms.Model.
func (c Canned) GenerateContent(ctx context.Context, _ []llms.MessageContent, _ ...llms.CallOption) (*llms.ContentResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{
		Content:        c.Text,
		StopReason:     "stop",
		GenerationInfo: map[string]any{"PromptTokens": c.PromptTokens, "CompletionTokens": c.CompletionTokens},
	}}}, nil
}

// Static returns a Backend that answers every model id with m.
func Static(m llms.Model) func(string) (llms.Model, error) {
	return func(string) (llms.Model, error) { return m, nil }
}
