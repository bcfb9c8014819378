package tasks

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// numberScorer judges answers that are a single number (GSM8K).
type numberScorer struct{}

// Name returns "gsm8k".
func (numberScorer) Name() string { return "gsm8k" }

// answerStatementRe finds "answer is", "Answer:", "final answer =" and the like.
var answerStatementRe = regexp.MustCompile(`(?i)\banswers?\b\**\s*(?::|=|is\b|would\s+be\b|will\s+be\b|should\s+be\b|equals\b|comes\s+to\b)`)

// Extract returns the final number of reply in canonical form. It looks, in
// order, for a "#### N" line, the last \boxed{}, the last "answer is N"
// statement, and finally the last number anywhere in the reply.
func (numberScorer) Extract(reply string) (string, bool) {
	if i := strings.LastIndex(reply, "####"); i >= 0 {
		if v, ok := statementNumber(reply[i+len("####"):]); ok {
			return formatNumber(v), true
		}
	}
	if box, ok := LastBoxed(reply); ok {
		if v, ok := parseNumber(box); ok {
			return formatNumber(v), true
		}
		if v, ok := statementNumber(box); ok {
			return formatNumber(v), true
		}
	}
	locs := answerStatementRe.FindAllStringIndex(reply, -1)
	for k := len(locs) - 1; k >= 0; k-- {
		if v, ok := statementNumber(reply[locs[k][1]:]); ok {
			return formatNumber(v), true
		}
	}
	if toks := scanNumbers(texFracToSlash(reply)); len(toks) > 0 {
		return formatNumber(toks[len(toks)-1].val), true
	}
	return "", false
}

// Equivalent reports whether a and b are numbers equal within 1e-6 relative.
func (numberScorer) Equivalent(a, b string) bool {
	va, ok := parseNumber(a)
	if !ok {
		return false
	}
	vb, ok := parseNumber(b)
	return ok && closeEnough(va, vb)
}

// closeEnough reports whether a and b agree within 1e-6 relative.
func closeEnough(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-6*math.Max(math.Abs(a), math.Abs(b))
}

// statementNumber returns the number a statement such as " is 16 - 3 - 4 = 9
// eggs" gives: the first number on its first line that has one (looking at
// most one non-blank line further), or, when that number opens a bare
// calculation, the result after its "=".
func statementNumber(s string) (float64, bool) {
	s = texFracToSlash(s)
	for tries := 0; tries < 2 && s != ""; {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		if strings.TrimSpace(line) == "" {
			continue
		}
		tries++
		toks := scanNumbers(line)
		if len(toks) == 0 {
			continue
		}
		k := 0
		for {
			eq := strings.IndexByte(line[toks[k].start:], '=')
			if eq < 0 || !isArithmetic(line[toks[k].start:toks[k].start+eq]) {
				break
			}
			eq += toks[k].start
			next := k + 1
			for next < len(toks) && toks[next].start < eq {
				next++
			}
			if next == len(toks) {
				break
			}
			k = next
		}
		return toks[k].val, true
	}
	return 0, false
}

var operatorWords = strings.NewReplacer(`\times`, "", `\cdot`, "", "×", "", "÷", "", "−", "")

// isArithmetic reports whether s holds only numbers, operators, brackets
// and currency signs, as in "16 - 3 - 4 " or "9 × $2 ".
func isArithmetic(s string) bool {
	s = operatorWords.Replace(s)
	return strings.Trim(s, "0123456789.,+-*/x()[]{}$\\ \t") == ""
}

var texFracRe = regexp.MustCompile(`\\[dt]?frac\{(\d+)\}\{(\d+)\}`)

// texFracToSlash rewrites \frac{3}{4} as 3/4 so running-text scanning reads
// it as one number.
func texFracToSlash(s string) string {
	if !strings.Contains(s, "frac") {
		return s
	}
	return texFracRe.ReplaceAllString(s, "$1/$2")
}

// CanonicalNumber parses s as one number, possibly dressed as models write
// it ("$1,234.00", "18 dollars", "-2.5", "75%", "3/4", "\frac{3}{4}", "**18**"),
// and returns its shortest decimal form ("1234", "18", "-2.5", "75", "0.75").
// ok is false when s is not a single number.
func CanonicalNumber(s string) (string, bool) {
	v, ok := parseNumber(s)
	if !ok {
		return "", false
	}
	return formatNumber(v), true
}

// formatNumber writes v as the shortest decimal string; -0 becomes "0".
func formatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

var (
	numberCleaner = strings.NewReplacer(
		`\!`, "", `{,}`, ",", `\,`, "", `\%`, "%", `\$`, "$", "−", "-",
		`\left`, "", `\right`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`,
	)
	latexFracRe = regexp.MustCompile(`^\\frac\{\s*(-?\d+(?:\.\d+)?)\s*\}\{\s*(-?\d+(?:\.\d+)?)\s*\}`)
	unitPowerRe = regexp.MustCompile(`([A-Za-z}])\^\{?[23]\}?`)
	// decorations are stripped from the front of a number.
	decorations = []string{"**", "*", "$", "(", "[", "{", "`", "+", `\(`, `\[`,
		`\text{`, `\textbf{`, `\mathrm{`, `\mathbf{`, `\mbox{`, `\boxed{`}
)

// parseNumber is CanonicalNumber without the formatting.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(numberCleaner.Replace(s))
	neg := false
	// Strip leading decoration: markdown, currency, brackets, a sign.
	for {
		trimmed := false
		for _, p := range decorations {
			if strings.HasPrefix(s, p) {
				s = strings.TrimSpace(s[len(p):])
				trimmed = true
			}
		}
		if strings.HasPrefix(s, "-") {
			neg = !neg
			s = strings.TrimSpace(s[1:])
			trimmed = true
		}
		if !trimmed {
			break
		}
	}
	var v float64
	var end int
	if m := latexFracRe.FindStringSubmatch(s); m != nil {
		num, _ := strconv.ParseFloat(m[1], 64)
		den, _ := strconv.ParseFloat(m[2], 64)
		if den == 0 {
			return 0, false
		}
		v, end = num/den, len(m[0])
	} else {
		var ok bool
		v, end, ok = readNumber(s, 0)
		if !ok {
			return 0, false
		}
		// An exponent: 1.5e3, 2E-4.
		if e, ok := readExponent(s, end); ok {
			v *= math.Pow(10, float64(e.exp))
			end = e.end
		}
	}
	if !plausibleTail(s[end:]) {
		return 0, false
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

type exponent struct{ exp, end int }

func readExponent(s string, i int) (exponent, bool) {
	if i >= len(s) || (s[i] != 'e' && s[i] != 'E') {
		return exponent{}, false
	}
	j := i + 1
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	k := j
	for k < len(s) && isDigit(s[k]) {
		k++
	}
	if k == j || k-j > 3 {
		return exponent{}, false
	}
	e, _ := strconv.Atoi(s[j:k])
	if s[i+1] == '-' {
		e = -e
	}
	return exponent{exp: e, end: k}, true
}

// plausibleTail reports whether the text after a number is decoration or a
// unit ("%", ".", " dollars", "**", "\text{ cm}^2") rather than more
// arithmetic or another number.
func plausibleTail(rest string) bool {
	rest = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), "*"))
	if rest == "" {
		return true
	}
	switch rest[0] {
	case '+', '-', '*', '/', '^', '=', '<', '>', ':', '_':
		return false
	}
	if strings.HasPrefix(rest, "×") || strings.HasPrefix(rest, "÷") || strings.HasPrefix(rest, `\times`) ||
		strings.HasPrefix(rest, `\cdot`) || strings.HasPrefix(rest, `\div`) || strings.HasPrefix(rest, `\frac`) ||
		strings.HasPrefix(rest, `\sqrt`) || strings.HasPrefix(rest, `\pi`) {
		return false
	}
	return !strings.ContainsAny(unitPowerRe.ReplaceAllString(rest, "$1"), "0123456789")
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// readNumber reads an unsigned number starting exactly at s[i]: digits with
// optional thousands commas ("1,234"), an optional decimal part, and an
// optional integer denominator ("3/4"). end is the index after it.
func readNumber(s string, i int) (v float64, end int, ok bool) {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	intDigits := j - i
	if intDigits == 0 && !(j+1 < len(s) && s[j] == '.' && isDigit(s[j+1])) {
		return 0, i, false
	}
	commas := false
	if intDigits > 0 && intDigits <= 3 {
		for j+4 <= len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) &&
			(j+4 == len(s) || !isDigit(s[j+4])) {
			j += 4
			commas = true
		}
	}
	decimal := false
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		decimal = true
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	text := s[i:j]
	if commas {
		text = strings.ReplaceAll(text, ",", "")
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, i, false
	}
	if !decimal && !commas && j+1 < len(s) && s[j] == '/' && isDigit(s[j+1]) {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k == len(s) || s[k] != '.' || k+1 == len(s) || !isDigit(s[k+1]) {
			den, err := strconv.ParseFloat(s[j+1:k], 64)
			if err == nil && den != 0 {
				return v / den, k, true
			}
		}
	}
	return v, j, true
}

// numToken is one number found in running text.
type numToken struct {
	start, end int
	val        float64
}

// scanNumbers finds the numbers in running text, in order. A minus sign
// counts only when attached to the number and not preceded by a word or a
// closing bracket ("x = -3" is negative, "16-3" and "16 - 3" are not);
// digits glued to a preceding letter ("x2", "H2O") are not numbers.
func scanNumbers(s string) []numToken {
	var out []numToken
	for i := 0; i < len(s); {
		c := s[i]
		startsNumber := isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1])
		if !startsNumber || i > 0 && (isDigit(s[i-1]) || isLetter(s[i-1]) || s[i-1] == '_' || s[i-1] == '.' && c != '.') {
			i++
			continue
		}
		v, end, ok := readNumber(s, i)
		if !ok {
			i++
			continue
		}
		if negativeBefore(s, i) {
			v = -v
		}
		out = append(out, numToken{start: i, end: end, val: v})
		i = end
	}
	return out
}

// negativeBefore reports whether the number starting at s[i] carries a minus
// sign directly in front of it (allowing "$" or "\$" between).
func negativeBefore(s string, i int) bool {
	j := i
	if j > 0 && s[j-1] == '$' {
		j--
		if j > 0 && s[j-1] == '\\' {
			j--
		}
	}
	var k int
	switch {
	case j > 0 && s[j-1] == '-':
		k = j - 1
	case j >= 3 && s[j-3:j] == "−":
		k = j - 3
	default:
		return false
	}
	if k == 0 {
		return true
	}
	p := s[k-1]
	return !(isDigit(p) || isLetter(p) || p == ')' || p == ']' || p == '}' || p == '_')
}
