package replay

import (
	"strings"
	"testing"
)

// The readers parse files a user may point them at; they must never panic,
// and a successful read must honour their promises.

func FuzzReadResponses(f *testing.F) {
	f.Add("prompt,s,w,s_response,w_response\nq,True,False,a,b\n", true)
	f.Add("prompt,s,w\n\"a\nb\",False,True\n", false)
	f.Add("prompt,s,w\n\"unterminated,True,False\n", false)
	f.Fuzz(func(t *testing.T, in string, withResponses bool) {
		rows, err := ReadResponses(strings.NewReader(in), "f.csv", []string{"s", "w"}, withResponses)
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r.Correct) != 2 || strings.TrimSpace(r.Prompt) == "" || r.Line < 2 {
				t.Fatalf("bad row %+v", r)
			}
			if withResponses != (r.Responses != nil) {
				t.Fatalf("responses %v with withResponses %v", r.Responses, withResponses)
			}
		}
	})
}

func FuzzReadScores(f *testing.F) {
	f.Add(`[{"question": "q", "scores": {"a": 1, "b": 0.5}, "cluster_id": 3}]`)
	f.Add("[\n{\"question\": \"q\", \"scores\": {\"a\": 2}}\n]")
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadScores(strings.NewReader(in), "f.json")
		if err != nil {
			return
		}
		for _, r := range rows {
			if strings.TrimSpace(r.Question) == "" || len(r.Scores) != len(rows[0].Scores) {
				t.Fatalf("bad row %+v", r)
			}
			for _, v := range r.Scores {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("score %g out of range", v)
				}
			}
		}
	})
}

func FuzzReadQueries(f *testing.F) {
	f.Add(`{"task_name": "mmlu", "query": "q", "ground_truth": "A", "metric": "em_mc", "choices": "['x']", "task_id": null}`)
	f.Add("{\"task_name\": \"t\"}\n\n{")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadQueries(strings.NewReader(in), "f.jsonl")
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.TaskName == "" || r.Query == "" || r.GroundTruth == "" || r.Metric == "" {
				t.Fatalf("bad row %+v", r)
			}
		}
	})
}

func FuzzQueryOf(f *testing.F) {
	f.Add("Answer the question.\n\nQuestion:\nWhat is 2+2?\n")
	f.Add("Question:\nQ\n\nReplies from other agents:\n=== reply from a (r) ===\nx\n=== end of reply ===\n")
	f.Add("Reply with 'Hello'")
	f.Fuzz(func(t *testing.T, user string) {
		q := QueryOf(user)
		if q != strings.TrimSpace(q) {
			t.Fatalf("QueryOf(%q) = %q is not trimmed", user, q)
		}
		if !strings.Contains(user, q) {
			t.Fatalf("QueryOf(%q) = %q is not part of the message", user, q)
		}
	})
}
