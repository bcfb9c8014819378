package routing

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keywordMatcher finds which roles' expertise keywords occur in a query as
// whole words or phrases, case-insensitively and ignoring a plural s
// ("European history" matches "high school european history", "triangles"
// matches "a triangle", but "art" does not match "part").
type keywordMatcher struct {
	// keywords[r] are role r's expertise keywords, lower-cased, with runs
	// of non-alphanumeric characters folded to one space; nil when no role
	// has a keyword.
	keywords [][]string
}

func newKeywordMatcher(expertise [][]string) keywordMatcher {
	m := keywordMatcher{keywords: make([][]string, len(expertise))}
	some := false
	for r, kws := range expertise {
		for _, kw := range kws {
			if k := foldWords(kw); k != "" {
				m.keywords[r] = append(m.keywords[r], k)
				some = true
			}
		}
	}
	if !some {
		return keywordMatcher{}
	}
	return m
}

// foldWords lower-cases s, replaces each run of characters that are not
// letters or digits by one space, trims both ends and drops the final s of
// every word longer than three letters.
func foldWords(s string) string {
	b := make([]byte, 0, len(s)+1)
	word := 0 // bytes of the word being written
	endWord := func() {
		if word > 3 && b[len(b)-1] == 's' {
			b = b[:len(b)-1]
		}
		word = 0
	}
	for _, c := range s {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			n := len(b)
			b = utf8.AppendRune(b, unicode.ToLower(c))
			word += len(b) - n
			continue
		}
		if word > 0 {
			endWord()
			b = append(b, ' ')
		}
	}
	if word > 0 {
		endWord()
	}
	return strings.TrimSuffix(string(b), " ")
}

// match returns, per role, 1 if one of its keywords occurs in query as
// whole words, else 0; nil when no role has a keyword.
func (m keywordMatcher) match(query string) []float64 {
	if m.keywords == nil {
		return nil
	}
	text := " " + foldWords(query) + " "
	out := make([]float64, len(m.keywords))
	for r, kws := range m.keywords {
		if slices.ContainsFunc(kws, func(kw string) bool { return strings.Contains(text, " "+kw+" ") }) {
			out[r] = 1
		}
	}
	return out
}
