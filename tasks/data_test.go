package tasks

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBenchmarks(t *testing.T) {
	assert.Equal(t, []string{"gsm8k", "humaneval", "math", "math500", "mbpp", "mmlu"}, Benchmarks())
	assert.Equal(t, []string{"test", "train"}, Splits("gsm8k"))
	assert.Equal(t, []string{"dev", "test"}, Splits("mmlu"))
	assert.Equal(t, []string{"test"}, Splits("humaneval"))
	assert.Equal(t, []string{"prompt", "test", "train", "validation"}, Splits("mbpp"))
	assert.Nil(t, Splits("apps"))
}

// TestLoadAll loads every split of every benchmark, checks its size and
// that each task is complete, and proves each gold is one its scorer
// accepts: a reply that states the gold in a box scores 1. (For code, the
// gold is a program the scorer must extract intact from a fenced reply;
// TestCodeGoldsPass runs a sample of them.)
func TestLoadAll(t *testing.T) {
	tests := []struct {
		benchmark, split string
		rows             int
	}{
		{"gsm8k", "test", 1319},
		{"gsm8k", "train", 7473},
		{"mmlu", "dev", 285},
		{"mmlu", "test", 14042},
		{"math", "test", 5000},
		{"math500", "test", 500},
		{"humaneval", "test", 164},
		{"mbpp", "prompt", 10},
		{"mbpp", "test", 500},
		{"mbpp", "train", 374},
		{"mbpp", "validation", 90},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.benchmark+"/"+tc.split, func(t *testing.T) {
			ts, err := Load(tc.benchmark, tc.split)
			require.NoError(t, err)
			assert.Len(t, ts, tc.rows)
			ids := make(map[string]bool, len(ts))
			failed := 0
			for _, x := range ts {
				if ids[x.ID] || x.Benchmark != tc.benchmark || x.Query == "" || x.Gold == "" || x.Scorer == nil {
					t.Fatalf("bad task %+v (duplicate id: %v)", x, ids[x.ID])
				}
				ids[x.ID] = true
				if x.Domain == DomainCode {
					code, ok := x.Scorer.Extract("Let me work through it.\n\n```python\n" + x.Gold + "\n```")
					if !ok || !x.Scorer.Equivalent(code, x.Gold) {
						t.Fatalf("%s: gold not extracted intact: %q", x.ID, code)
					}
					continue
				}
				score, err := Score(ctx, x, "Let me work through it.\n\nThe answer is \\boxed{"+x.Gold+"}")
				require.NoError(t, err)
				if score != 1 && failed < 10 {
					failed++
					t.Errorf("%s: gold %q does not score against itself", x.ID, x.Gold)
				}
			}
		})
	}
	splits := 0
	for _, b := range Benchmarks() {
		splits += len(Splits(b))
	}
	assert.Len(t, tests, splits, "every split is covered")
}

func TestGSM8KRows(t *testing.T) {
	test, err := Load("gsm8k", "test")
	require.NoError(t, err)
	first := test[0]
	assert.Equal(t, "gsm8k/test/0", first.ID)
	assert.Equal(t, DomainMath, first.Domain)
	assert.True(t, strings.HasPrefix(first.Query, "Janet’s ducks lay 16 eggs per day."), first.Query)
	assert.Equal(t, "18", first.Gold)
	assert.Equal(t, "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day at the farmer’s market.", first.Solution)
	assert.Equal(t, map[string]string{"steps": "2", "calcs": "2"}, first.Meta)
	assert.Equal(t, "gsm8k/test/1318", test[len(test)-1].ID)

	train, err := Load("gsm8k", "train")
	require.NoError(t, err)
	assert.Equal(t, "gsm8k/train/0", train[0].ID)
	assert.Equal(t, "72", train[0].Gold)
	assert.Equal(t, "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.", train[0].Solution)

	for _, x := range append(test, train...) {
		assert.NotContains(t, x.Solution, "<<", x.ID)
		assert.NotContains(t, x.Solution, "####", x.ID)
		assert.NotContains(t, x.Gold, ",", x.ID)
	}
	// The worked solution, followed by the usual final line, scores 1.
	for _, x := range test {
		score, err := Score(context.Background(), x, x.Solution+"\n#### "+x.Gold)
		require.NoError(t, err)
		assert.Equal(t, 1.0, score, x.ID)
	}
}

func TestMMLURows(t *testing.T) {
	subjects := MMLUSubjects()
	require.Len(t, subjects, 57)
	assert.Equal(t, "abstract_algebra", subjects[0])
	assert.Equal(t, "world_religions", subjects[56])
	assert.IsNonDecreasing(t, subjects)

	test, err := Load("mmlu", "test")
	require.NoError(t, err)
	first := test[0]
	assert.Equal(t, "mmlu/test/abstract_algebra/0", first.ID)
	assert.Equal(t, DomainCommonsense, first.Domain)
	assert.Equal(t, "The following are multiple choice questions (with answers) about abstract algebra.\n\nFind the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6", first.Query)
	assert.Equal(t, "B", first.Gold)
	assert.Equal(t, map[string]string{"subject": "abstract_algebra", "choice_A": "0", "choice_B": "4", "choice_C": "2", "choice_D": "6"}, first.Meta)

	perSubject := map[string]int{}
	golds := map[string]int{}
	for _, x := range test {
		perSubject[x.Meta["subject"]]++
		golds[x.Gold]++
	}
	assert.Len(t, perSubject, 57)
	assert.Equal(t, 1534, perSubject["professional_law"])
	assert.Equal(t, 100, perSubject["abstract_algebra"])
	assert.Equal(t, 171, perSubject["world_religions"])
	// Answer totals from the PROVENANCE.md: 0:3222 1:3462 2:3582 3:3776.
	assert.Equal(t, map[string]int{"A": 3222, "B": 3462, "C": 3582, "D": 3776}, golds)

	dev, err := LoadMMLU("dev", "anatomy")
	require.NoError(t, err)
	require.Len(t, dev, 5)
	assert.Equal(t, "mmlu/dev/anatomy/0", dev[0].ID)
	assert.Equal(t, "The following are multiple choice questions (with answers) about anatomy.\n\nWhat is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\nB. The first and second pharyngeal arches\nC. The second pharyngeal arch\nD. The second and third pharyngeal arches", dev[0].Query)
	assert.Equal(t, "D", dev[0].Gold)
	assert.Equal(t, "mmlu/dev/anatomy/4", dev[4].ID)

	// A question whose text spans lines in the CSV keeps its newlines.
	hist, err := LoadMMLU("test", "high_school_european_history")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(hist[0].Query, MMLUHeader("high_school_european_history")+"\n\nThis question refers to the following information.\nIn order to make the title"), hist[0].Query[:160])
}

func TestLoadMMLUSubjects(t *testing.T) {
	ts, err := LoadMMLU("dev", "virology", "anatomy")
	require.NoError(t, err)
	require.Len(t, ts, 10)
	assert.Equal(t, "virology", ts[0].Meta["subject"], "subjects come in the order given")
	assert.Equal(t, "anatomy", ts[9].Meta["subject"])

	tests := []struct {
		name     string
		split    string
		subjects []string
		want     []string
	}{
		{"unknown split", "val", nil, []string{`no split "val"`, "dev, test"}},
		{"unknown subject", "dev", []string{"anatomy", "astrology"}, []string{`unknown MMLU subject "astrology"`, "abstract_algebra, anatomy"}},
		{"repeated subject", "dev", []string{"anatomy", "anatomy"}, []string{`"anatomy" named twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := LoadMMLU(tc.split, tc.subjects...)
			require.Error(t, err)
			assert.Nil(t, ts)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestMATHRows(t *testing.T) {
	full, err := Load("math", "test")
	require.NoError(t, err)
	first := full[0]
	assert.Equal(t, "math/test/prealgebra/126", first.ID)
	assert.Equal(t, "math", first.Benchmark)
	assert.Equal(t, DomainMath, first.Domain)
	assert.Equal(t, `What is $10.0000198\cdot 5.9999985401\cdot 6.9999852$ to the nearest whole number?`, first.Query)
	assert.Equal(t, "420", first.Gold)
	assert.Contains(t, first.Solution, `\boxed{420}`)
	assert.Equal(t, map[string]string{"level": "3", "subject": "Prealgebra"}, first.Meta)

	levels := map[string]int{}
	subjects := map[string]int{}
	byID := map[string]*Task{}
	for _, x := range full {
		levels[x.Meta["level"]]++
		subjects[x.Meta["subject"]]++
		byID[x.ID] = x
	}
	assert.Equal(t, map[string]int{"1": 437, "2": 894, "3": 1131, "4": 1214, "5": 1324}, levels)
	assert.Equal(t, 1187, subjects["Algebra"])
	assert.Equal(t, 474, subjects["Counting & Probability"])

	m500, err := Load("math500", "test")
	require.NoError(t, err)
	first = m500[0]
	assert.Equal(t, "math/test/precalculus/807", first.ID)
	assert.Equal(t, "math500", first.Benchmark)
	assert.Equal(t, `\left( 3, \frac{\pi}{2} \right)`, first.Gold)
	assert.Equal(t, map[string]string{"level": "2", "subject": "Precalculus"}, first.Meta)
	levels = map[string]int{}
	for _, x := range m500 {
		levels[x.Meta["level"]]++
		same, ok := byID[x.ID]
		if assert.True(t, ok, "MATH-500 task %s is in the full test set", x.ID) {
			assert.Equal(t, same.Query, x.Query, x.ID)
			assert.Equal(t, same.Meta, x.Meta, x.ID)
		}
	}
	assert.Equal(t, map[string]int{"1": 43, "2": 90, "3": 105, "4": 128, "5": 134}, levels)
}

// TestMATHSolutionsScore feeds each reference solution back as a reply: the
// scorer must find the gold in it. The one exception is the problem whose
// own notation is \boxed{N} and whose solution leaves its answer unboxed.
func TestMATHSolutionsScore(t *testing.T) {
	ts, err := Load("math", "test")
	require.NoError(t, err)
	var misses []string
	for _, x := range ts {
		score, err := Score(context.Background(), x, x.Solution)
		require.NoError(t, err)
		if score != 1 {
			misses = append(misses, x.ID)
		}
	}
	assert.Equal(t, []string{"math/test/prealgebra/177"}, misses)
	for _, x := range ts {
		if x.ID == "math/test/prealgebra/177" {
			assert.Equal(t, "6", x.Gold, "corrected answer")
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		benchmark, split string
		want             []string
	}{
		{"apps", "test", []string{`unknown benchmark "apps"`, "gsm8k, humaneval, math, math500, mbpp, mmlu"}},
		{"humaneval", "train", []string{`benchmark humaneval has no split "train"`, "(want one of test)"}},
		{"mbpp", "dev", []string{`benchmark mbpp has no split "dev"`, "prompt, test, train, validation"}},
		{"", "test", []string{`unknown benchmark ""`}},
		{"gsm8k", "dev", []string{`benchmark gsm8k has no split "dev"`, "test, train"}},
		{"mmlu", "train", []string{`benchmark mmlu has no split "train"`, "dev, test"}},
		{"math", "train", []string{`benchmark math has no split "train"`, "(want one of test)"}},
		{"math500", "", []string{`benchmark math500 has no split ""`}},
	}
	for _, tc := range tests {
		t.Run(tc.benchmark+"/"+tc.split, func(t *testing.T) {
			ts, err := Load(tc.benchmark, tc.split)
			require.Error(t, err)
			assert.Nil(t, ts)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
