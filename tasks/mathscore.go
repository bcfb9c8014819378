package tasks

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LastBoxed returns the content of the last \boxed{...} (or \fbox{...}) in s,
// matching braces so nested groups such as \boxed{\frac{1}{2}} come out
// whole. The brace-less form "\boxed 5" yields the text up to the next "$"
// or line end. ok is false when s has no box or the last box is unclosed.
func LastBoxed(s string) (string, bool) {
	i, cmd := strings.LastIndex(s, `\boxed`), `\boxed`
	if j := strings.LastIndex(s, `\fbox`); j > i {
		i, cmd = j, `\fbox`
	}
	if i < 0 {
		return "", false
	}
	rest := s[i+len(cmd):]
	body := strings.TrimLeft(rest, " \t")
	if strings.HasPrefix(body, "{") {
		content, ok := braced(body)
		return content, ok
	}
	if len(body) == len(rest) { // \boxedfoo is another command
		return "", false
	}
	if end := strings.IndexAny(body, "$\n"); end >= 0 {
		body = body[:end]
	}
	body = strings.TrimSpace(body)
	return body, body != ""
}

// braced returns the content of the brace group that s starts with. A
// backslash escapes the next character, so \{ and \} do not count.
func braced(s string) (string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:i], true
			}
		}
	}
	return "", false
}

// mathScorer judges MATH answers: LaTeX expressions compared after
// normalisation, numerically when both sides are numbers.
type mathScorer struct{}

// Name returns "math".
func (mathScorer) Name() string { return "math" }

var (
	mathStatementRe = regexp.MustCompile(`(?i)\banswer\b\**\s*(?:is\b|:)\**\s*:?`)
	dollarMathRe    = regexp.MustCompile(`\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]`)
	hopeRe          = regexp.MustCompile(`(?i)\.?\s*I hope it is correct\.?\s*$`)
)

// Extract returns the normalised content of the last \boxed{} in reply, or
// failing that the answer of the last "answer is $...$" / "Final Answer: ..."
// statement.
func (mathScorer) Extract(reply string) (string, bool) {
	if box, ok := LastBoxed(reply); ok {
		if n := NormalizeMath(box); n != "" {
			return n, true
		}
	}
	locs := mathStatementRe.FindAllStringIndex(reply, -1)
	for k := len(locs) - 1; k >= 0; k-- {
		line, _, _ := strings.Cut(reply[locs[k][1]:], "\n")
		if m := dollarMathRe.FindStringSubmatch(line); m != nil {
			for _, g := range m[1:] {
				if n := NormalizeMath(g); n != "" {
					return n, true
				}
			}
			continue
		}
		line = hopeRe.ReplaceAllString(line, "")
		if end := strings.Index(line, ". "); end >= 0 {
			line = line[:end]
		}
		// Without math delimiters only a short answer counts: more words
		// are prose, and an unclosed box is a cut-off reply.
		if len(strings.Fields(line)) > 3 || strings.Contains(line, `\boxed`) || strings.Contains(line, `\fbox`) {
			continue
		}
		if n := NormalizeMath(line); n != "" {
			return n, true
		}
	}
	return "", false
}

// Equivalent reports whether a and b denote the same answer: equal after
// NormalizeMath, equal as numbers within 1e-6 relative, or tuples/intervals
// whose elements are equivalent one by one.
func (mathScorer) Equivalent(a, b string) bool {
	na, nb := NormalizeMath(a), NormalizeMath(b)
	if na == "" || nb == "" {
		return false
	}
	if na == nb {
		return true
	}
	if va, ok := mathNumber(na); ok {
		vb, ok := mathNumber(nb)
		return ok && closeEnough(va, vb)
	}
	ea, oa, ca := splitTuple(na)
	eb, ob, cb := splitTuple(nb)
	if len(ea) < 2 || len(ea) != len(eb) || oa != ob || ca != cb {
		return false
	}
	for i := range ea {
		if ea[i] == eb[i] {
			continue
		}
		va, ok1 := mathNumber(ea[i])
		vb, ok2 := mathNumber(eb[i])
		if !ok1 || !ok2 || !closeEnough(va, vb) {
			return false
		}
	}
	return true
}

var (
	plainNumberRe = regexp.MustCompile(`^-?\d+(?:\.\d+)?$`)
	fracNumberRe  = regexp.MustCompile(`^(-?)\\frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}$`)
	mixedNumberRe = regexp.MustCompile(`^(-?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$`)
)

// mathNumber parses a normalised answer that is a plain number, a \frac of
// two numbers, or a mixed number such as 12\frac{3}{5}.
func mathNumber(s string) (float64, bool) {
	if plainNumberRe.MatchString(s) {
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	if m := fracNumberRe.FindStringSubmatch(s); m != nil {
		num, _ := strconv.ParseFloat(m[2], 64)
		den, _ := strconv.ParseFloat(m[3], 64)
		if den == 0 {
			return 0, false
		}
		if m[1] == "-" {
			num = -num
		}
		return num / den, true
	}
	if m := mixedNumberRe.FindStringSubmatch(s); m != nil {
		whole, _ := strconv.ParseFloat(m[2], 64)
		num, _ := strconv.ParseFloat(m[3], 64)
		den, _ := strconv.ParseFloat(m[4], 64)
		if den == 0 {
			return 0, false
		}
		v := whole + num/den
		if m[1] == "-" {
			v = -v
		}
		return v, true
	}
	return 0, false
}

// splitTuple splits a normalised tuple, interval or list into its top-level
// comma-separated elements, returning the outer brackets ("" when bare).
func splitTuple(s string) (elems []string, open, close string) {
	for _, br := range [][2]string{{`\{`, `\}`}, {"(", ")"}, {"[", "]"}, {"(", "]"}, {"[", ")"}} {
		if strings.HasPrefix(s, br[0]) && strings.HasSuffix(s, br[1]) && len(s) >= len(br[0])+len(br[1]) {
			inner := s[len(br[0]) : len(s)-len(br[1])]
			if parts, ok := splitTop(inner); ok {
				return parts, br[0], br[1]
			}
		}
	}
	if parts, ok := splitTop(s); ok {
		return parts, "", ""
	}
	return nil, "", ""
}

// splitTop splits s at commas outside any bracket; ok is false when the
// brackets of s do not balance.
func splitTop(s string) ([]string, bool) {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return nil, false
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, false
	}
	return append(parts, s[start:]), true
}

var (
	mathSpacer = strings.NewReplacer(
		`\\`, `\\`, // a LaTeX line break stays whole, so "\\ " is not read as "\ "
		"\n", " ", "\r", " ", "\t", " ",
		`\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, " ", `\qquad`, " ", `\quad`, " ", "~", " ",
		`\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, "{,}", "",
		`^{\circ}`, "", `^\circ`, "", "°", "", `\degree`, "",
		`\$`, "", "$", "", `\%`, "", "%", "",
	)
	leftRightRe   = regexp.MustCompile(`\\(?:left|right)(?:\.|([^A-Za-z]|$))`)
	degreesWordRe = regexp.MustCompile(`\s*\bdegrees?\b`)
	textCmds      = []string{`\text`, `\textbf`, `\textrm`, `\textit`, `\mathrm`, `\mathbf`, `\mbox`}
	unitCmds      = []string{`\text`, `\textrm`, `\mathrm`, `\mbox`} // \mathbf{j} is a vector, not a unit
	textSpaceRe   = regexp.MustCompile(`(\\(?:text|textbf|textrm|textit|mathrm|mathbf|mbox))\s+\{`)
	unitTailRe    = regexp.MustCompile(`\^\{?[0-9]\}?$`)
	setMemberRe   = regexp.MustCompile(`^\s*[A-Za-z]\s*\\in\b\s*`)
	singleVarRe   = regexp.MustCompile(`^\s*(?:[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?|\\[A-Za-z]+)\s*$`)
	thousandsRe   = regexp.MustCompile(`^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$`)
	slashFracRe   = regexp.MustCompile(`^(-?\d+)/(\d+)$`)
	spaceRe       = regexp.MustCompile(`\s+`)
)

// NormalizeMath puts a LaTeX answer in the canonical form used to compare
// MATH answers, following Hendrycks' strip_string: it drops \left, \right,
// spacing commands, degrees, dollar and percent signs, \text{} units, a
// trailing period and a leading "x =" or "x \in"; turns dfrac and tfrac
// into frac; braces \frac12 and \sqrt2; rewrites a/b as \frac{a}{b};
// removes thousands commas; and finally removes every space.
func NormalizeMath(s string) string {
	for range 4 {
		n := normalizeMathOnce(s)
		if n == s {
			break
		}
		s = n
	}
	return s
}

func normalizeMathOnce(s string) string {
	s = mathSpacer.Replace(s)
	s = textSpaceRe.ReplaceAllString(s, "$1{")
	s = leftRightRe.ReplaceAllString(s, "$1")
	s = degreesWordRe.ReplaceAllString(s, "")
	s = strings.TrimSpace(s)
	s = dropUnitTail(s)
	s = unwrapText(s)
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".")
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, " .", " 0.")
	s = strings.ReplaceAll(s, "{.", "{0.")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	if loc := setMemberRe.FindStringIndex(s); loc != nil {
		s = s[loc[1]:]
	} else if strings.Count(s, "=") == 1 {
		if left, right, _ := strings.Cut(s, "="); singleVarRe.MatchString(left) {
			s = right
		}
	}
	s = spaceRe.ReplaceAllString(s, "")
	s = fixSqrt(s)
	s = fixFracs(s)
	if thousandsRe.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	if m := slashFracRe.FindStringSubmatch(s); m != nil {
		if strings.HasPrefix(m[1], "-") {
			s = `-\frac{` + m[1][1:] + "}{" + m[2] + "}"
		} else {
			s = `\frac{` + m[1] + "}{" + m[2] + "}"
		}
	}
	return s
}

// dropUnitTail removes a trailing \text{...} (or \textrm, \mathrm, \mbox) unit,
// possibly squared or cubed, when something precedes it: "100\text{ square
// units}" becomes "100"; "\text{Evelyn}" is left for unwrapText.
func dropUnitTail(s string) string {
	for {
		t := unitTailRe.ReplaceAllString(s, "")
		if !strings.HasSuffix(t, "}") {
			return s
		}
		start := -1
		for _, cmd := range unitCmds {
			i := strings.LastIndex(t, cmd+"{")
			if i < 0 {
				continue
			}
			if c, ok := braced(t[i+len(cmd):]); ok && i+len(cmd)+len(c)+2 == len(t) && i > start {
				start = i
			}
		}
		if start <= 0 || strings.TrimSpace(t[:start]) == "" {
			return s
		}
		s = strings.TrimSpace(t[:start])
	}
}

// unwrapText replaces \text{X} and its kin by X.
func unwrapText(s string) string {
	for _, cmd := range textCmds {
		open := cmd + "{"
		for from := 0; ; {
			i := strings.Index(s[from:], open)
			if i < 0 {
				break
			}
			i += from
			c, ok := braced(s[i+len(cmd):])
			if !ok {
				break
			}
			s = s[:i] + c + s[i+len(cmd)+len(c)+2:]
			from = i
		}
	}
	return s
}

// fixSqrt braces a one-token \sqrt argument: \sqrt2 → \sqrt{2}, \sqrt\pi → \sqrt{\pi}.
func fixSqrt(s string) string {
	if !strings.Contains(s, `\sqrt`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\sqrt`)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(`\sqrt`)])
		s = s[i+len(`\sqrt`):]
		if s == "" || s[0] == '{' || s[0] == '[' {
			continue
		}
		arg, rest := latexToken(s)
		if arg == "" {
			continue
		}
		b.WriteString("{" + arg + "}")
		s = rest
	}
}

// fixFracs braces both \frac arguments: \frac12 → \frac{1}{2}, \frac1{72} →
// \frac{1}{72}, \frac\pi4 → \frac{\pi}{4}.
func fixFracs(s string) string {
	if !strings.Contains(s, `\frac`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\frac`)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(`\frac`)])
		s = s[i+len(`\frac`):]
		num, rest, ok := fracArg(s)
		if !ok {
			continue
		}
		den, rest, ok := fracArg(rest)
		if !ok {
			continue
		}
		b.WriteString("{" + num + "}{" + den + "}")
		s = rest
	}
}

// fracArg reads one argument: a brace group or a single token.
func fracArg(s string) (arg, rest string, ok bool) {
	if s == "" {
		return "", s, false
	}
	if s[0] == '{' {
		c, ok := braced(s)
		if !ok {
			return "", s, false
		}
		return c, s[len(c)+2:], true
	}
	arg, rest = latexToken(s)
	return arg, rest, arg != ""
}

// latexToken splits off one token: a command such as \pi, or one character.
func latexToken(s string) (tok, rest string) {
	if s == "" {
		return "", s
	}
	if s[0] == '\\' {
		j := 1
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		if j == 1 { // \{ or \\ : a two-character token
			j = min(2, len(s))
		}
		return s[:j], s[j:]
	}
	if s[0] == '}' || s[0] == '^' || s[0] == '_' {
		return "", s
	}
	_, size := utf8.DecodeRuneInString(s)
	return s[:size], s[size:]
}
