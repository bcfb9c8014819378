package tasks

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func makeTasks(n int) []*Task {
	ts := make([]*Task, n)
	for i := range ts {
		ts[i] = &Task{ID: fmt.Sprintf("bench/test/%d", i)}
	}
	return ts
}

func ids(ts []*Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestSample(t *testing.T) {
	ts := makeTasks(100)
	orig := ids(ts)

	tests := []struct {
		name string
		n    int
		want int
	}{
		{"some", 10, 10},
		{"one", 1, 1},
		{"zero means all", 0, 100},
		{"negative means all", -5, 100},
		{"too many means all", 1000, 100},
		{"exactly all", 100, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Sample(ts, tc.n, 42)
			require.Len(t, got, tc.want)
			assert.Equal(t, ids(got), ids(Sample(ts, tc.n, 42)), "same seed, same sample")
			seen := map[string]bool{}
			for _, x := range got {
				assert.False(t, seen[x.ID], "no task twice")
				seen[x.ID] = true
				assert.Contains(t, orig, x.ID)
			}
		})
	}
	assert.Equal(t, orig, ids(ts), "input is not reordered")

	all := ids(Sample(ts, 0, 42))
	assert.NotEqual(t, orig, all, "all tasks come back shuffled")
	assert.ElementsMatch(t, orig, all)
	assert.NotEqual(t, ids(Sample(ts, 10, 42)), ids(Sample(ts, 10, 43)), "seed matters")
	assert.Equal(t, all[:10], ids(Sample(ts, 10, 42)), "a sample is a prefix of the full shuffle")
	// Pin the sequence so a change to the shuffle shows up in review.
	assert.Equal(t, []string{"bench/test/3", "bench/test/4", "bench/test/2", "bench/test/1", "bench/test/0"}, ids(Sample(makeTasks(5), 0, 4)))
	assert.Empty(t, Sample(nil, 3, 1))
}

func TestSplitByID(t *testing.T) {
	ts := makeTasks(10000)
	train, test := SplitByID(ts, 0.2, 7)
	require.Equal(t, len(ts), len(train)+len(test))
	frac := float64(len(test)) / float64(len(ts))
	assert.InDelta(t, 0.2, frac, 0.015, "test share %.4f", frac)
	assert.True(t, slices.IsSortedFunc(test, byIndex), "order preserved")
	assert.True(t, slices.IsSortedFunc(train, byIndex), "order preserved")

	// A task's side does not depend on the other tasks.
	inTest := map[string]bool{}
	for _, x := range test {
		inTest[x.ID] = true
	}
	subset := []*Task{ts[9999], ts[5], ts[1234], ts[42]}
	tr, te := SplitByID(subset, 0.2, 7)
	for _, x := range te {
		assert.True(t, inTest[x.ID], x.ID)
	}
	for _, x := range tr {
		assert.False(t, inTest[x.ID], x.ID)
	}

	// Consecutive IDs are not clustered: count runs of equal side.
	runs := 1
	for i := 1; i < len(ts); i++ {
		if inTest[ts[i].ID] != inTest[ts[i-1].ID] {
			runs++
		}
	}
	// Expected runs for independent sides: 1 + 2·n·p·(1-p) = 3201.
	assert.InDelta(t, 3201, runs, 150)

	_, te2 := SplitByID(ts, 0.2, 8)
	assert.NotEqual(t, ids(test), ids(te2), "seed matters")

	tests := []struct {
		frac      float64
		wantTrain int
	}{{0, 10000}, {-1, 10000}, {1, 0}, {2, 0}, {math.NaN(), 10000}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.frac), func(t *testing.T) {
			tr, te := SplitByID(ts, tc.frac, 7)
			assert.Len(t, tr, tc.wantTrain)
			assert.Len(t, te, 10000-tc.wantTrain)
		})
	}
}

func byIndex(a, b *Task) int {
	var i, j int
	fmt.Sscanf(a.ID, "bench/test/%d", &i)
	fmt.Sscanf(b.ID, "bench/test/%d", &j)
	return i - j
}
