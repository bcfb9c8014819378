package tasks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// builtinScorers maps every registered scorer name, aliases included, to its
// scorer. It is read-only.
var builtinScorers = map[string]Scorer{
	"gsm8k":  numberScorer{},
	"number": numberScorer{},
	"mmlu":   choiceScorer{},
	"choice": choiceScorer{},
	"math":   mathScorer{},
	"exact":  exactScorer{},
	"code":   &codeScorer{},
}

// ScorerNames lists every registered scorer name, aliases included, sorted.
func ScorerNames() []string {
	names := make([]string, 0, len(builtinScorers))
	for n := range builtinScorers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ScorerByName returns the built-in scorer registered as name: "gsm8k"
// (alias "number"), "mmlu" (alias "choice"), "math", "exact" or "code" (runs
// the tests in the task's Meta "test" on the reply's code; see
// NewCodeScorer).
func ScorerByName(name string) (Scorer, error) {
	if s, ok := builtinScorers[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown scorer %q (want one of %s)", name, strings.Join(ScorerNames(), ", "))
}

// exactScorer compares the last line of a reply with the gold text.
type exactScorer struct{}

// Name returns "exact".
func (exactScorer) Name() string { return "exact" }

var answerPrefixRe = regexp.MustCompile(`(?i)^\**\s*(?:final\s+)?answer\s*\**\s*:\s*\**\s*`)

// Extract returns the last non-blank line of reply with any "Answer:" or
// "Final answer:" prefixes removed.
func (exactScorer) Extract(reply string) (string, bool) {
	_, line := lastLine(reply)
	for {
		loc := answerPrefixRe.FindStringIndex(line)
		if loc == nil || loc[1] == 0 {
			break
		}
		line = strings.TrimSpace(line[loc[1]:])
	}
	return line, line != ""
}

// Equivalent reports whether a and b are equal ignoring case and surrounding space.
func (exactScorer) Equivalent(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	return a != "" && strings.EqualFold(a, b)
}

// NewScorer returns a Scorer called name built from two functions: extract
// pulls the answer out of a reply and equivalent compares two answers. A nil
// extract takes the whole trimmed reply; a nil equivalent compares trimmed
// strings exactly.
func NewScorer(name string, extract func(reply string) (string, bool), equivalent func(a, b string) bool) Scorer {
	if extract == nil {
		extract = func(reply string) (string, bool) {
			s := strings.TrimSpace(reply)
			return s, s != ""
		}
	}
	if equivalent == nil {
		equivalent = func(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }
	}
	return &funcScorer{name: name, extract: extract, equivalent: equivalent}
}

type funcScorer struct {
	name       string
	extract    func(string) (string, bool)
	equivalent func(string, string) bool
}

func (f *funcScorer) Name() string                        { return f.name }
func (f *funcScorer) Extract(reply string) (string, bool) { return f.extract(reply) }
func (f *funcScorer) Equivalent(a, b string) bool         { return f.equivalent(a, b) }
