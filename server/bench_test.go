package server_test

import (
	"net/http"
	"testing"
)

// BenchmarkChatCompletion is one chat completion through the handler on the
// simulated pool: decoding, routing, the plan's run (the simulator answers
// at once), and the JSON reply. "tilted" asks for a λ away from the
// policy's, which re-scores every agent's model.
func BenchmarkChatCompletion(b *testing.B) {
	pool := simPool(b)
	s := newServer(b, pool, nil)
	qs := gsm8k(b, 64)
	for _, bc := range []struct{ name, model string }{{"policy-λ", "masrouter"}, {"tilted", "masrouter:50"}} {
		bodies := make([][]byte, len(qs))
		for i, q := range qs {
			bodies[i] = chatBody(bc.model, q.Query, nil)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w := post(b, s, bodies[i%len(bodies)], nil)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
				i++
			}
		})
	}
}
