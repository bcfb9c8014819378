package routing

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/topology"
)

func TestFoldWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  European History!! ", "european history"},
		{"Triangles, circles & AREAS", "triangle circle area"},
		{"gas is this", "gas is thi"},
		{"x^2+y_1=3.5", "x 2 y 1 3 5"},
		{"Ünïcode Straße", "ünïcode straße"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, foldWords(tc.in), "%q", tc.in)
	}
}

func TestKeywordMatcher(t *testing.T) {
	m := newKeywordMatcher([][]string{
		{"european history", "war"},
		{"triangles", "area"},
		{"art"},
		nil,
	})
	tests := []struct {
		name, query string
		want        []float64
	}{
		{"phrase", "The following are multiple choice questions (with answers) about high school European history.", []float64{1, 0, 0, 0}},
		{"plural and case", "A TRIANGLE has sides 3, 4 and 5.", []float64{0, 1, 0, 0}},
		{"no part-word match", "Which part of the warship is the stern?", []float64{0, 0, 0, 0}},
		{"several roles", "The war ended; what area did the art cover?", []float64{1, 1, 1, 0}},
		{"empty query", "", []float64{0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, m.match(tc.query))
		})
	}
	assert.Nil(t, newKeywordMatcher([][]string{nil, {}}).match("anything"), "no keywords, no match vector")
}

// TestRoleMatchRaisesExpertRole checks that a role whose expertise keyword
// the query names gains role_match[mode] in its logit, and only for queries
// encoded for that domain.
func TestRoleMatchRaisesExpertRole(t *testing.T) {
	c := testController(t, nil)
	q := "A geometry problem: in triangle ABC the angles are in ratio 1:2:3. What is the smallest angle?"
	f, err := c.Encode(t.Context(), testTask(tasks.DomainMath, q))
	require.NoError(t, err)
	dt := c.domains[tasks.DomainMath]
	geo := -1
	for i, r := range dt.roles {
		if r.Name == "Geometry Expert" {
			geo = i
		}
	}
	require.GreaterOrEqual(t, geo, 0)
	require.Len(t, f.roleMatch, len(dt.roles))
	assert.Equal(t, 1.0, f.roleMatch[geo])

	plan := topology.Plan{Mode: topology.ModeIO, Domain: tasks.DomainMath,
		Agents: []topology.AgentSpec{{Role: "Geometry Expert", Model: c.models[0].Name}}}
	lpWith, _, err := c.LogProbFeatures(f, tasks.DomainMath, plan)
	require.NoError(t, err)
	plain := f
	plain.roleMatch = nil
	lpWithout, _, err := c.LogProbFeatures(plain, tasks.DomainMath, plan)
	require.NoError(t, err)
	assert.Greater(t, lpWith, lpWithout, "the matching role is likelier with the match term")

	other := f
	other.matchDomain = string(tasks.DomainCode)
	assert.Nil(t, roleMatchFor(other, dt), "matches of another domain are ignored")
}
