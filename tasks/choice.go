package tasks

import (
	"regexp"
	"strings"
)

// choiceScorer judges multiple-choice answers given as a letter A–D (MMLU).
type choiceScorer struct{}

// Name returns "mmlu".
func (choiceScorer) Name() string { return "mmlu" }

var (
	// choiceStatementRe matches "answer is (B)", "Answer: B", "the correct
	// option is **C**" and the like; the letter must be a capital followed by
	// a non-letter, so "answer is a bit" does not count.
	choiceStatementRe = regexp.MustCompile(`(?i:\b(?:answer|option|choice)\b)\**\s*(?:(?i:is|would\s+be|should\s+be|must\s+be)\b\s*:?|:)[\s*$(\[{]*(?i:(?:option|choice)\s+)?(?:\\boxed\{|\\text\{|\\textbf\{|\\mathrm\{)?[\s*(\[{]*([A-D])(?:[^A-Za-z0-9']|$)`)
	// choiceCorrectRe matches "Option B is correct", "(C) is the right
	// answer", "D is the best choice"; an article "A" is never followed by "is".
	choiceCorrectRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9'])(?:(?i:option|choice)\s+)?\(?([A-D])\)?\**\s+(?i:is\s+(?:the\s+)?(?:correct|right|best|most\s+(?:accurate|appropriate|likely)))\b`)
	// choiceVerbRe matches "I'd go with C", "I choose (B)", "I would pick D".
	choiceVerbRe  = regexp.MustCompile(`(?i:\bI(?:'d|\s+would|\s+will)?\s+(?:go\s+with|choose|pick|select))\s+(?:(?i:option|choice)\s+)?\(?([A-D])(?:[^A-Za-z0-9']|$)`)
	choiceBoldRe  = regexp.MustCompile(`\*\*\s*(?:(?i:option|choice)\s+)?\(?([A-D])(?:\)|\.|:|\*\*)`)
	choiceParenRe = regexp.MustCompile(`\(([A-D])\)`)
	choiceLineRe  = regexp.MustCompile(`(?m)^[ \t]*(?:[-*>][ \t]*)?(?:\*\*)?([A-D])[.):](?:[ \t]|\*|$)`)
	choiceBareRe  = regexp.MustCompile(`^(?i:(?:option|choice|answer)\s*:?\s*)?\(?([A-D])\)?$`)
)

// Extract returns the chosen letter. The last explicit statement ("answer
// is X", "Answer: X", "option X is correct", "I'd go with X") wins; then
// the last \boxed{X}; then whichever comes last of "**X**", "(X)", a line
// starting "X." or "X)", and a final line that is just the letter. A
// capital "A" in ordinary prose is never taken.
func (choiceScorer) Extract(reply string) (string, bool) {
	if l, _ := lastGroup(reply, choiceStatementRe, choiceCorrectRe, choiceVerbRe); l != "" {
		return l, true
	}
	if box, ok := LastBoxed(reply); ok {
		if l, ok := choiceLetter(unwrapText(box)); ok {
			return l, true
		}
	}
	best, pos := lastGroup(reply, choiceBoldRe, choiceParenRe, choiceLineRe)
	if i, line := lastLine(reply); line != "" && i >= pos {
		if m := choiceBareRe.FindStringSubmatch(strings.Trim(line, " \t*`$.")); m != nil {
			best = m[1]
		}
	}
	return best, best != ""
}

// lastGroup returns the first capture group of whichever match of res
// starts last in s, and where that group starts (-1 if nothing matched).
func lastGroup(s string, res ...*regexp.Regexp) (string, int) {
	best, pos := "", -1
	for _, re := range res {
		locs := re.FindAllStringSubmatchIndex(s, -1)
		if len(locs) == 0 {
			continue
		}
		if last := locs[len(locs)-1]; last[2] > pos {
			best, pos = s[last[2]:last[3]], last[2]
		}
	}
	return best, pos
}

// choiceLetter reads a letter at the start of a box's content: "B",
// "(B)", "B) 4", "B. 4".
func choiceLetter(s string) (string, bool) {
	s = strings.TrimLeft(strings.TrimSpace(s), "({[* ")
	if s == "" || s[0] < 'A' || s[0] > 'D' {
		return "", false
	}
	if len(s) > 1 && (isLetter(s[1]) || isDigit(s[1])) {
		return "", false
	}
	return s[:1], true
}

// lastLine returns the last non-blank line of s, trimmed, and its offset.
func lastLine(s string) (int, string) {
	s = strings.TrimRight(s, " \t\r\n")
	i := strings.LastIndexByte(s, '\n') + 1
	return i, strings.TrimSpace(s[i:])
}

// Equivalent reports whether a and b are the same letter A–D.
func (choiceScorer) Equivalent(a, b string) bool {
	ca, ok := canonicalChoice(a)
	if !ok {
		return false
	}
	cb, ok := canonicalChoice(b)
	return ok && ca == cb
}

func canonicalChoice(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 1 || s[0] < 'A' || s[0] > 'D' {
		return "", false
	}
	return s, true
}
