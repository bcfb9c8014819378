package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
)

func TestServedAnswerExtraction(t *testing.T) {
	for _, tc := range []struct {
		domain tasks.Domain
		reply  string
		want   string
		ok     bool
	}{
		{tasks.DomainMath, `So $x = \frac{1}{2}$. The final answer is $\boxed{\dfrac12}$.`, `\frac{1}{2}`, true},
		{tasks.DomainMath, "He runs 3 x 60 = 180 meters.\n#### 540\n", "540", true},
		{tasks.DomainMath, "So she keeps 1,250 apples in all", "1250", true},
		{tasks.DomainMath, "I cannot tell without the price.", "", false},
		{tasks.DomainCommonsense, "The answer is (B).", "B", true},
	} {
		sc, err := scorerFor(tc.domain)
		require.NoError(t, err)
		got, ok := sc.Extract(tc.reply)
		assert.Equal(t, tc.ok, ok, tc.reply)
		assert.Equal(t, tc.want, got, tc.reply)
	}
	_, err := scorerFor("law")
	assert.ErrorContains(t, err, `no scorer for domain "law"`)
}
