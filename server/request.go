package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

// ModelName is the model id clients ask for; "masrouter:<λ>" sets the cost
// weight λ of the request.
const ModelName = "masrouter"

// MaxLambda is the largest λ a request may ask for.
const MaxLambda = 1e6

// chatRequest is a validated chat-completions request.
type chatRequest struct {
	// Model is the model id as the client sent it.
	Model string
	// Lambda is the cost weight; HasLambda is false for plain "masrouter".
	Lambda    float64
	HasLambda bool
	// Query is the user messages' text, joined by blank lines.
	Query string
	// Domain is masrouter_domain (or metadata.masrouter_domain), or "".
	Domain tasks.Domain
	// Budget is masrouter_budget, or 0.
	Budget float64
	Stream bool
	// IncludeUsage sends the final usage chunk of a stream (default true).
	IncludeUsage bool
}

// fieldKind is the JSON type a request field must have.
type fieldKind int

const (
	kindNumber fieldKind = iota
	kindString
	kindBool
	kindObject
	kindStringOrList
	kindAny
)

// acceptedFields are OpenAI parameters the server reads or accepts; the
// sampling parameters are accepted and not applied, since every agent of a
// plan gets the executor's own settings.
var acceptedFields = map[string]fieldKind{
	"model": kindString, "messages": kindAny, "stream": kindBool, "stream_options": kindObject,
	"metadata": kindObject, "masrouter_domain": kindString, "masrouter_budget": kindNumber,
	"n": kindNumber, "tools": kindAny, "functions": kindAny, "tool_choice": kindAny, "function_call": kindAny,
	"logprobs": kindBool, "top_logprobs": kindNumber, "response_format": kindObject,
	// Accepted, not applied.
	"temperature": kindNumber, "top_p": kindNumber, "max_tokens": kindNumber, "max_completion_tokens": kindNumber,
	"stop": kindStringOrList, "presence_penalty": kindNumber, "frequency_penalty": kindNumber, "seed": kindNumber,
	"user": kindString, "store": kindBool, "logit_bias": kindObject, "parallel_tool_calls": kindBool,
	"service_tier": kindString, "reasoning_effort": kindString,
}

// decodeChatRequest parses and validates a chat-completions body. Errors are
// OpenAI-style, naming the parameter at fault.
func decodeChatRequest(body []byte) (chatRequest, *apiError) {
	var req chatRequest
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return req, invalid("", "the request body is empty; send a JSON object with model and messages")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return req, invalid("", "the request body is not a JSON object: %s", jsonProblem(err))
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		kind, ok := acceptedFields[k]
		if !ok {
			return req, invalid(safeParam(k), "Unrecognized request argument supplied: %s", safeParam(k))
		}
		if isNull(fields[k]) {
			continue
		}
		if err := checkKind(fields[k], kind); err != "" {
			return req, invalid(k, "%s: %s", k, err)
		}
	}

	// model
	if isNull(fields["model"]) {
		return req, invalid("model", "you must provide a model parameter (%q, or %q with a cost weight λ ≥ 0, e.g. %q)", ModelName, ModelName+":<lambda>", ModelName+":10")
	}
	_ = json.Unmarshal(fields["model"], &req.Model)
	if e := parseModel(&req); e != nil {
		return req, e
	}

	// messages
	if e := readMessages(fields["messages"], &req); e != nil {
		return req, e
	}

	// stream and stream_options
	if !isNull(fields["stream"]) {
		_ = json.Unmarshal(fields["stream"], &req.Stream)
	}
	req.IncludeUsage = true
	if !isNull(fields["stream_options"]) {
		if !req.Stream {
			return req, invalid("stream_options", "stream_options applies only when stream is true")
		}
		var so map[string]json.RawMessage
		_ = json.Unmarshal(fields["stream_options"], &so)
		for k, v := range so {
			switch k {
			case "include_usage":
				if err := json.Unmarshal(v, &req.IncludeUsage); err != nil {
					return req, invalid("stream_options.include_usage", "stream_options.include_usage: want true or false")
				}
			default:
				return req, invalid("stream_options."+safeParam(k), "stream_options: unknown field %s (want include_usage)", safeParam(k))
			}
		}
	}

	// masrouter_domain, or metadata.masrouter_domain
	domain := ""
	if !isNull(fields["masrouter_domain"]) {
		_ = json.Unmarshal(fields["masrouter_domain"], &domain)
		if domain == "" {
			return req, invalid("masrouter_domain", "masrouter_domain is empty (want math, commonsense or code)")
		}
	}
	if !isNull(fields["metadata"]) {
		var md map[string]json.RawMessage
		_ = json.Unmarshal(fields["metadata"], &md)
		for k, v := range md {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return req, invalid("metadata."+safeParam(k), "metadata values must be strings")
			}
			if k == "masrouter_domain" {
				if domain != "" && domain != s {
					return req, invalid("metadata.masrouter_domain", "metadata.masrouter_domain %q disagrees with masrouter_domain %q", safeParam(s), safeParam(domain))
				}
				domain = s
			}
		}
	}
	if domain != "" {
		d, err := tasks.ParseDomain(domain)
		if err != nil {
			return req, invalid("masrouter_domain", "masrouter_domain: %q is not a domain (want math, commonsense or code)", safeParam(domain))
		}
		req.Domain = d
	}

	// masrouter_budget
	if !isNull(fields["masrouter_budget"]) {
		if err := json.Unmarshal(fields["masrouter_budget"], &req.Budget); err != nil || !(req.Budget > 0) || math.IsInf(req.Budget, 0) {
			return req, invalid("masrouter_budget", "masrouter_budget: want a dollar amount > 0")
		}
	}

	// What the server cannot honour is refused, not ignored.
	if !isNull(fields["n"]) {
		var n float64
		_ = json.Unmarshal(fields["n"], &n)
		if n != 1 {
			return req, invalid("n", "n: only 1 choice per request is supported")
		}
	}
	for _, k := range []string{"tools", "functions"} {
		if !isNull(fields[k]) && !emptyList(fields[k]) {
			return req, invalid(k, "%s: tool calls are not supported; masrouter answers with text", k)
		}
	}
	for _, k := range []string{"tool_choice", "function_call"} {
		if v := fields[k]; !isNull(v) {
			var s string
			if json.Unmarshal(v, &s) != nil || (s != "none" && s != "auto") {
				return req, invalid(k, "%s: tool calls are not supported (only \"none\" or \"auto\")", k)
			}
		}
	}
	if v := fields["logprobs"]; !isNull(v) {
		var b bool
		_ = json.Unmarshal(v, &b)
		if b {
			return req, invalid("logprobs", "logprobs are not supported")
		}
	}
	if v := fields["top_logprobs"]; !isNull(v) {
		var n float64
		_ = json.Unmarshal(v, &n)
		if n != 0 {
			return req, invalid("top_logprobs", "logprobs are not supported")
		}
	}
	if v := fields["response_format"]; !isNull(v) {
		var rf struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(v, &rf)
		if rf.Type != "text" {
			return req, invalid("response_format", "response_format: only {\"type\": \"text\"} is supported")
		}
	}
	return req, nil
}

// parseModel reads "masrouter" or "masrouter:<λ>".
func parseModel(req *chatRequest) *apiError {
	name, lambda, has := strings.Cut(req.Model, ":")
	if name != ModelName {
		e := newAPIError(http.StatusNotFound, typeInvalidRequest, "model", "model_not_found",
			"The model %s does not exist; ask for %q or %q (e.g. %q)", safeParam(req.Model), ModelName, ModelName+":<lambda>", ModelName+":10")
		return e
	}
	if !has {
		return nil
	}
	l, err := strconv.ParseFloat(lambda, 64)
	if err != nil || math.IsNaN(l) || l < 0 || l > MaxLambda {
		return invalid("model", "model %s: λ after the colon must be a number in [0, %g]", safeParam(req.Model), MaxLambda)
	}
	req.Lambda, req.HasLambda = l, true
	return nil
}

// wireMessage is one chat message as sent.
type wireMessage map[string]json.RawMessage

// readMessages validates the messages and joins the user messages' text
// into the query. System, developer and assistant messages are accepted
// (a conversation's context) but only user text is routed and answered.
func readMessages(raw json.RawMessage, req *chatRequest) *apiError {
	if isNull(raw) {
		return invalid("messages", "you must provide a messages parameter")
	}
	var msgs []wireMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return invalid("messages", "messages: want a list of message objects")
	}
	if len(msgs) == 0 {
		return invalid("messages", "messages: empty; send at least one user message")
	}
	var parts []string
	for i, m := range msgs {
		at := fmt.Sprintf("messages[%d]", i)
		if m == nil {
			return invalid(at, "%s: want a message object", at)
		}
		var role string
		if err := json.Unmarshal(m["role"], &role); err != nil || role == "" {
			return invalid(at+".role", "%s.role: missing or not a string", at)
		}
		switch role {
		case "system", "developer", "user", "assistant":
		case "tool", "function":
			return invalid(at+".role", "%s.role: %s messages are not supported (no tool calls)", at, role)
		default:
			return invalid(at+".role", "%s.role: %q is not one of system, developer, user, assistant", at, safeParam(role))
		}
		for k, v := range m {
			switch k {
			case "role", "content", "name":
			case "tool_calls", "function_call", "refusal", "audio", "annotations":
				if role != "assistant" {
					return invalid(at+"."+k, "%s.%s applies only to assistant messages", at, k)
				}
				if k == "tool_calls" && !isNull(v) && !emptyList(v) {
					return invalid(at+".tool_calls", "%s.tool_calls: tool calls are not supported", at)
				}
			default:
				return invalid(at+"."+safeParam(k), "%s: unknown field %s", at, safeParam(k))
			}
		}
		text, e := contentText(m["content"], at, role)
		if e != nil {
			return e
		}
		if role == "user" && strings.TrimSpace(text) != "" {
			parts = append(parts, strings.TrimSpace(text))
		}
	}
	if len(parts) == 0 {
		return invalid("messages", "messages: no user message with text; the user messages form the query")
	}
	req.Query = strings.Join(parts, "\n\n")
	return nil
}

// contentText reads a message's content: a string, or a list of text parts.
func contentText(raw json.RawMessage, at, role string) (string, *apiError) {
	if isNull(raw) {
		if role == "assistant" {
			return "", nil
		}
		return "", invalid(at+".content", "%s.content: missing", at)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var ps []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ps); err != nil {
		return "", invalid(at+".content", "%s.content: want a string or a list of text parts", at)
	}
	var b strings.Builder
	for j, p := range ps {
		var typ, text string
		if json.Unmarshal(p["type"], &typ) != nil || typ != "text" {
			return "", invalid(fmt.Sprintf("%s.content[%d].type", at, j), "%s.content[%d]: only text parts are supported", at, j)
		}
		if json.Unmarshal(p["text"], &text) != nil {
			return "", invalid(fmt.Sprintf("%s.content[%d].text", at, j), "%s.content[%d].text: want a string", at, j)
		}
		for k := range p {
			if k != "type" && k != "text" {
				return "", invalid(fmt.Sprintf("%s.content[%d]", at, j), "%s.content[%d]: unknown field %s", at, j, safeParam(k))
			}
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(text)
	}
	return b.String(), nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func emptyList(raw json.RawMessage) bool {
	var l []json.RawMessage
	return json.Unmarshal(raw, &l) == nil && len(l) == 0
}

// checkKind reports what is wrong with raw's JSON type, or "".
func checkKind(raw json.RawMessage, k fieldKind) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "missing value"
	}
	c := t[0]
	switch k {
	case kindNumber:
		if c == '-' || c >= '0' && c <= '9' {
			return ""
		}
		return "want a number"
	case kindString:
		if c == '"' {
			return ""
		}
		return "want a string"
	case kindBool:
		if string(t) == "true" || string(t) == "false" {
			return ""
		}
		return "want true or false"
	case kindObject:
		if c == '{' {
			return ""
		}
		return "want an object"
	case kindStringOrList:
		if c == '"' || c == '[' {
			return ""
		}
		return "want a string or a list of strings"
	}
	return ""
}

// jsonProblem describes a JSON syntax error without echoing the body.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case err == nil:
		return "found null"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "found a JSON " + te.Value + ", want an object"
	}
	return "invalid JSON"
}

// safeParam returns s for an error message, or a placeholder when it is
// long or holds control characters.
func safeParam(s string) string {
	if len(s) > 64 {
		return "(name too long to show)"
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return "(name not shown)"
		}
	}
	return s
}
