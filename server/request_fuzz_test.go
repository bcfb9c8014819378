package server

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/masrouter/masrouter/tasks"
)

func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"masrouter","messages":[{"role":"user","content":"What is 2+2?"}]}`,
		`{"model":"masrouter:10","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		`{"model":"masrouter:1e400","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"masrouter:NaN","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"masrouter","masrouter_domain":"commonsense","metadata":{"masrouter_domain":"commonsense"},"masrouter_budget":0.01,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"masrouter","messages":[{"role":"assistant","content":null,"tool_calls":[]},{"role":"user","content":"x"}],"tools":[],"tool_choice":"none","n":1,"logprobs":false,"response_format":{"type":"text"}}`,
		`{"model":"masrouter","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":1,"max_tokens":5,"stop":["\n"],"seed":1,"user":"u","store":false}`,
		`{"model":null,"messages":null}`,
		`[]`, `null`, `"x"`, `{}`, ``, `{"model":"masrouter","messages":[null]}`,
		`{"model":"masrouter","messages":[{"role":"user","content":"x"}],"masrouter_budget":-0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := decodeChatRequest(body)
		if e != nil {
			if e.Status != 400 && e.Status != 404 {
				t.Fatalf("status %d for a bad request", e.Status)
			}
			if e.Type == "" || e.Message == "" {
				t.Fatalf("error without type or message: %+v", e)
			}
			w := httptest.NewRecorder()
			e.write(w)
			var out map[string]map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := out["error"][k]; !ok {
					t.Fatalf("error object lacks %q", k)
				}
			}
			return
		}
		if strings.TrimSpace(req.Query) == "" {
			t.Fatal("accepted a request without a query")
		}
		if !strings.HasPrefix(req.Model, ModelName) {
			t.Fatalf("accepted model %q", req.Model)
		}
		if math.IsNaN(req.Lambda) || req.Lambda < 0 || req.Lambda > MaxLambda {
			t.Fatalf("accepted λ %g", req.Lambda)
		}
		if req.Domain != "" {
			if _, err := tasks.ParseDomain(string(req.Domain)); err != nil {
				t.Fatalf("accepted domain %q", req.Domain)
			}
		}
		if req.Budget < 0 || math.IsNaN(req.Budget) || math.IsInf(req.Budget, 0) {
			t.Fatalf("accepted budget %g", req.Budget)
		}
		if !req.Stream && !req.IncludeUsage {
			t.Fatal("include_usage off without a stream")
		}
	})
}

// BenchmarkDecodeChatRequest is validating a typical request body.
func BenchmarkDecodeChatRequest(b *testing.B) {
	body := []byte(`{"model":"masrouter:10","masrouter_domain":"math","temperature":0.2,"stream":true,"stream_options":{"include_usage":true},` +
		`"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := decodeChatRequest(body); e != nil {
			b.Fatal(e)
		}
	}
}
