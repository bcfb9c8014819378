package sim

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

var (
	numberRe = regexp.MustCompile(`-?\d[\d,]*(?:\.\d+)?`)
	digitsRe = regexp.MustCompile(`\d+`)
	bracesRe = regexp.MustCompile(`^\{(-?\d+)\}\{(\d+)\}$`)
	slashRe  = regexp.MustCompile(`^(\d+)/(\d+)$`)
)

// distractors returns up to six plausible wrong answers to t, each one the
// task's scorer extracts from a boxed reply and judges wrong. The order is a
// property of the question, not of the seed: the first is the most common
// mistake.
func distractors(t *tasks.Task) []string {
	var cands []string
	switch {
	case t.Scorer != nil && (t.Scorer.Name() == "mmlu" || t.Scorer.Name() == "choice"):
		for _, l := range []string{"A", "B", "C", "D"} {
			if l != strings.ToUpper(strings.TrimSpace(t.Gold)) {
				cands = append(cands, l)
			}
		}
	default:
		if v, ok := parseNumber(t.Gold); ok {
			cands = numericDistractors(v, t)
		} else {
			cands = stringDistractors(t.Gold)
		}
	}
	// Deterministic shuffle keyed by the question.
	h := hashOf("distract", t.ID)
	for i := len(cands) - 1; i > 0; i-- {
		h = mix(h + uint64(i))
		j := int(h % uint64(i+1))
		cands[i], cands[j] = cands[j], cands[i]
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] || !wrongAnswer(t, c) {
			continue
		}
		seen[c] = true
		out = append(out, c)
		if len(out) == 6 {
			break
		}
	}
	if len(out) == 0 {
		out = []string{"I am not sure"}
	}
	return out
}

// wrongAnswer reports whether the scorer reads c, written in the task's
// format, as a wrong answer.
func wrongAnswer(t *tasks.Task, c string) bool {
	if t.Scorer == nil {
		return c != t.Gold
	}
	got, ok := t.Scorer.Extract(finalLine(fmtBoxed, c))
	if !ok {
		got, ok = t.Scorer.Extract(finalLine(fmtPlain, c))
	}
	return ok && !t.Scorer.Equivalent(got, t.Gold)
}

func numericDistractors(v float64, t *tasks.Task) []string {
	integer := v == math.Trunc(v)
	var vals []float64
	add := func(x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) || x == v {
			return
		}
		if integer && x != math.Trunc(x) {
			return
		}
		if v >= 0 && x < 0 {
			return
		}
		vals = append(vals, x)
	}
	add(v + 1)
	add(v - 1)
	add(2 * v)
	add(v / 2)
	add(v + 10)
	add(v * 10)
	for _, m := range numberRe.FindAllString(t.Query, 8) {
		q, ok := parseNumber(m)
		if !ok {
			continue
		}
		add(q)
		add(v + q)
		add(math.Abs(v - q))
	}
	out := make([]string, 0, len(vals))
	frac := strings.Contains(t.Gold, "frac") || strings.Contains(t.Gold, "/")
	for _, x := range vals {
		if frac && x != math.Trunc(x) {
			out = append(out, latexFraction(x))
			continue
		}
		out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
	}
	return out
}

// stringDistractors perturbs a non-numeric answer (an expression, a tuple,
// an interval) the way a slip would: a number off by one or doubled, a sign
// flipped, a factor added.
func stringDistractors(gold string) []string {
	var out []string
	loc := digitsRe.FindStringIndex(gold)
	if loc != nil {
		n, err := strconv.Atoi(gold[loc[0]:loc[1]])
		if err == nil {
			for _, m := range []int{n + 1, n - 1, 2 * n, n + 2} {
				if m >= 0 && m != n {
					out = append(out, gold[:loc[0]]+strconv.Itoa(m)+gold[loc[1]:])
				}
			}
		}
	}
	if strings.HasPrefix(gold, "-") {
		out = append(out, strings.TrimPrefix(gold, "-"))
	} else {
		out = append(out, "-"+gold)
	}
	out = append(out, "2"+gold, gold+"+1")
	return out
}

// parseNumber reads integers, decimals with commas, simple fractions a/b and
// \frac{a}{b} (also \dfrac, \tfrac, negative).
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "$"), "$")
	s = strings.ReplaceAll(s, ",", "")
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, true
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	for _, p := range []string{`\dfrac`, `\tfrac`, `\frac`} {
		if strings.HasPrefix(s, p) {
			m := bracesRe.FindStringSubmatch(s[len(p):])
			if m == nil {
				return 0, false
			}
			a, _ := strconv.ParseFloat(m[1], 64)
			b, _ := strconv.ParseFloat(m[2], 64)
			if b == 0 {
				return 0, false
			}
			if neg {
				a = -a
			}
			return a / b, true
		}
	}
	if m := slashRe.FindStringSubmatch(s); m != nil {
		a, _ := strconv.ParseFloat(m[1], 64)
		b, _ := strconv.ParseFloat(m[2], 64)
		if b != 0 {
			if neg {
				a = -a
			}
			return a / b, true
		}
	}
	return 0, false
}

// latexFraction writes x as \frac{a}{b} with a small denominator when it can.
func latexFraction(x float64) string {
	for b := 2; b <= 64; b++ {
		a := x * float64(b)
		if math.Abs(a-math.Round(a)) < 1e-9 {
			ai := int(math.Round(a))
			if ai < 0 {
				return `-\frac{` + strconv.Itoa(-ai) + `}{` + strconv.Itoa(b) + `}`
			}
			return `\frac{` + strconv.Itoa(ai) + `}{` + strconv.Itoa(b) + `}`
		}
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}
