package replay

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/masrouter/masrouter/tasks"
)

// Scorer judges replies to LLMRouter tasks, whose recorded replies were not
// kept: the answer is the last non-blank line of a reply, after an optional
// "Answer:", compared with the gold answer ignoring case and runs of white
// space; CommonGen tasks (metric "commongen_coverage") score the share of
// the gold concept list that the answer mentions, as LLMRouter's coverage
// metric does. It is a tasks.ContextScorer.
type Scorer struct{}

var _ tasks.ContextScorer = Scorer{}

// Name returns "llmrouter".
func (Scorer) Name() string { return "llmrouter" }

// Extract returns the last non-blank line of reply without an "Answer:"
// prefix.
func (Scorer) Extract(reply string) (string, bool) {
	s := strings.TrimRight(reply, " \t\r\n")
	line := strings.TrimSpace(s[strings.LastIndexByte(s, '\n')+1:])
	if len(line) >= 7 && strings.EqualFold(line[:7], "answer:") {
		line = strings.TrimSpace(line[7:])
	}
	return line, line != ""
}

// Equivalent reports whether a and b are equal ignoring case and runs of
// white space.
func (Scorer) Equivalent(a, b string) bool {
	a, b = strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " ")
	return a != "" && strings.EqualFold(a, b)
}

// ScoreReply returns the coverage of t's concepts for CommonGen tasks and 1
// or 0 for the others.
func (s Scorer) ScoreReply(ctx context.Context, t *tasks.Task, reply string) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if t == nil {
		return 0, errors.New("replay scorer: task is nil")
	}
	got, ok := s.Extract(reply)
	if !ok {
		return 0, nil
	}
	if t.Meta["metric"] == "commongen_coverage" {
		return Coverage(got, concepts(t.Gold)), nil
	}
	if s.Equivalent(got, t.Gold) {
		return 1, nil
	}
	return 0, nil
}

// concepts splits a CommonGen concept list ("report, wheelbarrow, ...").
func concepts(list string) []string {
	var out []string
	for c := range strings.SplitSeq(list, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// Coverage returns the share of concepts that text mentions as whole words,
// ignoring case; 0 when there are no concepts.
func Coverage(text string, concepts []string) float64 {
	if len(concepts) == 0 {
		return 0
	}
	lower := strings.ToLower(text)
	n := 0
	for _, c := range concepts {
		if mentions(lower, strings.ToLower(c)) {
			n++
		}
	}
	return float64(n) / float64(len(concepts))
}

// mentions reports whether word occurs in text with no letter or digit
// directly before or after it.
func mentions(text, word string) bool {
	if word == "" {
		return false
	}
	for off := 0; ; {
		i := strings.Index(text[off:], word)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(word)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		off = i + 1
	}
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
