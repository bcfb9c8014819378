package sim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/masrouter/masrouter/tasks"
)

// A simulated model that gets a code task wrong writes a breakage of the
// reference solution: the kinds of mistakes models make. Breakages are
// generated deterministically from the solution's text, and only those
// that fail the task's hidden tests are used: data/code_breakages.tsv lists,
// for every HumanEval and MBPP problem, the variants that were run in the
// sandbox and failed (see TestCodeBreakages).

// breakKind is a kind of mistake.
type breakKind string

// The kinds of breakage.
const (
	// breakComparison flips a comparison: < and <=, > and >=, == and !=.
	breakComparison breakKind = "comparison"
	// breakOffByOne moves a range bound or an integer constant by one.
	breakOffByOne breakKind = "off-by-one"
	// breakArithmetic swaps an arithmetic operator: + and -, * to +, // to /.
	breakArithmetic breakKind = "arithmetic"
	// breakEdgeCase drops a guard clause (if ...: return ...), the handling
	// of a special case.
	breakEdgeCase breakKind = "edge-case"
	// breakLogic swaps a logical operator, constant or built-in for its
	// opposite: and/or, True/False, in/not in, a dropped not, min/max,
	// any/all, lower/upper, startswith/endswith, keys/values, start/end,
	// find/rfind, append/extend.
	breakLogic breakKind = "logic"
	// breakFormat returns the right values in the wrong form: a container
	// built with the wrong type (tuple and list, set to list), a sort
	// forgotten (sorted to list), or a returned string whose first letter
	// has the wrong case.
	breakFormat breakKind = "format"
	// breakSyntax drops the colon of a block opener.
	breakSyntax breakKind = "syntax"
)

// semanticKinds are the breakages that still compile, in the round-robin
// order the generator tries them.
var semanticKinds = []breakKind{breakComparison, breakOffByOne, breakArithmetic, breakEdgeCase, breakLogic, breakFormat}

// breakage is one verified variant of a task's reference solution.
type breakage struct {
	kind   breakKind
	site   int    // index of the site among the kind's sites, in text order
	sum    string // first 8 hex digits of the SHA-256 of the normalised code
	status string // how the hidden tests failed: fail, error or memory
	code   string // filled when the table is applied to a task
}

// edit replaces code[start:end] with text.
type edit struct {
	start, end int
	text       string
}

func (e edit) apply(code string) string { return code[:e.start] + e.text + code[e.end:] }

// codeMask reports, for each byte of src, whether it is code rather than
// part of a string literal or a comment.
func codeMask(src string) []bool {
	mask := make([]bool, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\'' || c == '"':
			q := src[i : i+1]
			if strings.HasPrefix(src[i:], q+q+q) {
				q = q + q + q
			}
			j := i + len(q)
			for j < len(src) {
				if src[j] == '\\' {
					j += 2
					continue
				}
				if strings.HasPrefix(src[j:], q) {
					j += len(q)
					break
				}
				if len(q) == 1 && src[j] == '\n' {
					break
				}
				j++
			}
			i = min(j, len(src))
		default:
			mask[i] = true
			i++
		}
	}
	return mask
}

func isIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func at(src string, i int) byte {
	if i < 0 || i >= len(src) {
		return 0
	}
	return src[i]
}

// operand reports whether c can end the left operand of a binary operator.
func operand(c byte) bool { return isIdent(c) || c == ')' || c == ']' || c == '}' || c == '"' }

// keywords that an operator after them makes unary (return -1, in -x).
var unaryAfter = map[string]bool{
	"return": true, "in": true, "not": true, "and": true, "or": true, "if": true, "else": true, "elif": true,
	"yield": true, "is": true, "while": true, "for": true, "lambda": true, "assert": true, "import": true, "print": false,
}

// binary reports whether the operator at i has a left operand.
func binary(src string, mask []bool, i int) bool {
	j := i - 1
	for j >= 0 && (src[j] == ' ' || src[j] == '\t') {
		j--
	}
	if j < 0 {
		return false
	}
	if !mask[j] {
		return true // a string literal
	}
	if !operand(src[j]) {
		return false
	}
	if isIdent(src[j]) {
		k := j
		for k >= 0 && isIdent(src[k]) {
			k--
		}
		if unaryAfter[src[k+1:j+1]] {
			return false
		}
	}
	return true
}

// breakSites lists the edits of one kind that apply to code at or after
// offset from (HumanEval: the canonical solution after the prompt), in text
// order.
func breakSites(code string, from int, kind breakKind) []edit {
	mask := codeMask(code)
	in := func(i, n int) bool {
		if i < from || i+n > len(code) {
			return false
		}
		for k := i; k < i+n; k++ {
			if !mask[k] {
				return false
			}
		}
		return true
	}
	var out []edit
	switch kind {
	case breakComparison:
		for i := from; i < len(code); i++ {
			c, n, p := code[i], at(code, i+1), at(code, i-1)
			var op, to string
			switch {
			case (c == '<' || c == '>') && n == '=' && p != c && at(code, i+2) != '=':
				op, to = code[i:i+2], code[i:i+1]
			case (c == '<' || c == '>') && n != '=' && n != c && p != c && p != '-':
				op, to = code[i:i+1], code[i:i+1]+"="
			case c == '=' && n == '=' && p != '=' && p != '!' && p != '<' && p != '>' && at(code, i+2) != '=':
				op, to = "==", "!="
			case c == '!' && n == '=':
				op, to = "!=", "=="
			default:
				continue
			}
			if in(i, len(op)) {
				out = append(out, edit{i, i + len(op), to})
			}
			i += len(op) - 1
		}
	case breakArithmetic:
		for i := from; i < len(code); i++ {
			c, n, p := code[i], at(code, i+1), at(code, i-1)
			var op, to string
			switch {
			case (c == '+' || c == '-') && n == '=' && p != c:
				op = code[i : i+2]
				to = map[string]string{"+=": "-=", "-=": "+="}[op]
			case c == '+' && n != '+' && p != '+' && n != '=':
				op, to = "+", "-"
			case c == '-' && n != '-' && p != '-' && n != '>' && n != '=':
				op, to = "-", "+"
			case c == '*' && n != '*' && p != '*' && n != '=':
				op, to = "*", "+"
			case c == '/' && n == '/' && at(code, i+2) != '=':
				op, to = "//", "/"
			case c == '%' && n != '=':
				op, to = "%", "//"
			default:
				continue
			}
			if in(i, len(op)) && binary(code, mask, i) {
				if op == "-" && (p == 'e' || p == 'E') && i >= 2 && code[i-2] >= '0' && code[i-2] <= '9' {
					continue // an exponent, 1e-9
				}
				out = append(out, edit{i, i + len(op), to})
			}
			i += len(op) - 1
		}
	case breakOffByOne:
		out = append(out, rangeSites(code, from, mask)...)
		for _, loc := range intLitRe.FindAllStringIndex(code, -1) {
			i, j := loc[0], loc[1]
			if i < from || !in(i, j-i) || isIdent(at(code, i-1)) || at(code, i-1) == '.' || isIdent(at(code, j)) || at(code, j) == '.' {
				continue
			}
			v, err := strconv.Atoi(code[i:j])
			if err != nil {
				continue
			}
			out = append(out, edit{i, j, strconv.Itoa(v + 1)})
		}
		slices.SortFunc(out, func(a, b edit) int { return a.start - b.start })
	case breakEdgeCase:
		out = guardSites(code, from, mask)
	case breakLogic:
		for _, loc := range logicRe.FindAllStringSubmatchIndex(code, -1) {
			i, j := loc[2], loc[3]
			word := code[i:j]
			if i < from || !in(i, j-i) || isIdent(at(code, i-1)) || isIdent(at(code, j)) {
				continue
			}
			switch word {
			case "in":
				if at(code, i-4) == 'n' && strings.HasSuffix(code[:i], "not ") || strings.HasPrefix(code[j:], " not") || loopTarget(code, i) {
					continue // "not in", or "for x in"
				}
				out = append(out, edit{i, j, "not in"})
			case "not":
				if strings.HasPrefix(code[j:], " in") || strings.HasSuffix(strings.TrimRight(code[:i], " "), " is") {
					if strings.HasPrefix(code[j:], " in") && !loopTarget(code, i) {
						out = append(out, edit{i, j + 3, "in"})
					}
					continue
				}
				if at(code, j) == ' ' {
					out = append(out, edit{i, j + 1, ""})
				}
			case "lower", "upper", "startswith", "endswith", "keys", "values", "start", "end", "find", "rfind", "append", "extend":
				if at(code, i-1) == '.' && at(code, j) == '(' {
					out = append(out, edit{i, j, logicSwap[word]})
				}
			case "min", "max", "any", "all":
				if at(code, i-1) != '.' && at(code, j) == '(' {
					out = append(out, edit{i, j, logicSwap[word]})
				}
			default: // and, or, True, False
				if at(code, i-1) != '.' {
					out = append(out, edit{i, j, logicSwap[word]})
				}
			}
		}
	case breakFormat:
		for _, loc := range formatRe.FindAllStringSubmatchIndex(code, -1) {
			i, j := loc[2], loc[3]
			if i < from || !in(i, j-i) || at(code, i-1) == '.' {
				continue
			}
			rest := code[j:]
			if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
				rest = rest[:nl]
			}
			if code[i:j] == "sorted" && (strings.Contains(rest, "key") || strings.Contains(rest, "reverse")) {
				continue // list() takes no key or reverse
			}
			out = append(out, edit{i, j, formatSwap[code[i:j]]})
		}
		for _, loc := range strLitRe.FindAllStringIndex(code, -1) {
			i, j := loc[0], loc[1]
			if i < from || mask[i] || (i > 0 && !mask[i-1]) {
				continue // not the start of a string literal
			}
			line := code[strings.LastIndexByte(code[:i], '\n')+1 : i]
			if !strings.Contains(line, "return") {
				continue
			}
			k := i + 1
			for k < j-1 && !isLetter(code[k]) {
				k++
			}
			if k >= j-1 {
				continue
			}
			out = append(out, edit{k, k + 1, flipCase(code[k])})
		}
		slices.SortFunc(out, func(a, b edit) int { return a.start - b.start })
	case breakSyntax:
		if e, ok := colonSite(code, from, mask); ok {
			out = append(out, e)
		}
	}
	return out
}

// logicSwap maps each word breakLogic changes to its opposite.
var logicSwap = map[string]string{
	"and": "or", "or": "and", "True": "False", "False": "True", "min": "max", "max": "min",
	"any": "all", "all": "any", "lower": "upper", "upper": "lower",
	"startswith": "endswith", "endswith": "startswith", "keys": "values", "values": "keys",
	"start": "end", "end": "start", "find": "rfind", "rfind": "find", "append": "extend", "extend": "append",
}

// formatSwap maps each container constructor breakFormat changes.
var formatSwap = map[string]string{"tuple": "list", "list": "tuple", "set": "list", "sorted": "list"}

var (
	logicRe   = regexp.MustCompile(`\b(and|or|True|False|min|max|any|all|lower|upper|startswith|endswith|keys|values|start|end|find|rfind|append|extend|in|not)\b`)
	formatRe  = regexp.MustCompile(`\b(tuple|list|set|sorted)\(`)
	strLitRe  = regexp.MustCompile(`'[^'\\\n]*[A-Za-z][^'\\\n]*'|"[^"\\\n]*[A-Za-z][^"\\\n]*"`)
	intLitRe  = regexp.MustCompile(`\d+`)
	rangeRe   = regexp.MustCompile(`\brange\s*\(`)
	guardRe   = regexp.MustCompile(`^([ \t]*)if\b.*:\s*(#.*)?$`)
	inlineRe  = regexp.MustCompile(`^([ \t]*)if\b[^#]*:\s*(?:return|continue|break)\b`)
	bodyRe    = regexp.MustCompile(`^[ \t]*(?:return|continue|break)\b`)
	elseRe    = regexp.MustCompile(`^[ \t]*(?:elif\b|else\s*:)`)
	openerRe  = regexp.MustCompile(`^[ \t]*(?:for|if|while|elif)\b.*:\s*(#.*)?$`)
	defLineRe = regexp.MustCompile(`^[ \t]*def\b.*:\s*(#.*)?$`)
)

// rangeSites moves the stop of every range(...) call by one, alternating
// between one more and one less.
func rangeSites(code string, from int, mask []bool) []edit {
	var out []edit
	for _, loc := range rangeRe.FindAllStringIndex(code, -1) {
		open := loc[1] - 1
		if loc[0] < from || !mask[loc[0]] {
			continue
		}
		var args [][2]int
		depth, start := 0, open+1
		end := -1
		for k := open; k < len(code) && end < 0; k++ {
			if !mask[k] {
				continue
			}
			switch code[k] {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth--
				if depth == 0 {
					args = append(args, [2]int{start, k})
					end = k
				}
			case ',':
				if depth == 1 {
					args = append(args, [2]int{start, k})
					start = k + 1
				}
			}
		}
		if end < 0 || len(args) == 0 || len(args) > 3 {
			continue
		}
		stop := args[0]
		if len(args) >= 2 {
			stop = args[1]
		}
		text := strings.TrimSpace(code[stop[0]:stop[1]])
		if text == "" {
			continue
		}
		delta := " + 1"
		if len(out)%2 == 1 {
			delta = " - 1"
		}
		if strings.ContainsAny(text, "<>=") || strings.Contains(text, " if ") || strings.Contains(text, " or ") || strings.Contains(text, " and ") {
			text = "(" + text + ")"
		}
		out = append(out, edit{stop[0], stop[1], strings.Replace(code[stop[0]:stop[1]], strings.TrimSpace(code[stop[0]:stop[1]]), text+delta, 1)})
	}
	return out
}

// lineStarts returns the byte offset of each line of code.
func lineStarts(code string) []int {
	starts := []int{0}
	for i := 0; i < len(code); i++ {
		if code[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// guardSites removes guard clauses: "if cond: return x" on one line, or an
// if line whose whole block is one return, continue or break, not followed
// by elif or else. A guard that is the only statement of its block is kept.
func guardSites(code string, from int, mask []bool) []edit {
	lines := strings.Split(code, "\n")
	starts := lineStarts(code)
	indent := func(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }
	nextCode := func(k int) int {
		for k < len(lines) && strings.TrimSpace(lines[k]) == "" {
			k++
		}
		return k
	}
	var out []edit
	for k, l := range lines {
		if starts[k] < from || strings.TrimSpace(l) == "" || !mask[starts[k]+indent(l)] {
			continue
		}
		if !bodyLevel(lines, k, indent) {
			continue
		}
		span := 0
		switch {
		case inlineRe.MatchString(l):
			span = 1
		case guardRe.MatchString(l):
			b := nextCode(k + 1)
			if b >= len(lines) || indent(lines[b]) <= indent(l) || !bodyRe.MatchString(lines[b]) {
				continue
			}
			after := nextCode(b + 1)
			if after < len(lines) && indent(lines[after]) > indent(l) && indent(lines[after]) >= indent(lines[b]) {
				continue // the block goes on
			}
			span = b - k + 1
		default:
			continue
		}
		after := nextCode(k + span)
		if after < len(lines) && elseRe.MatchString(lines[after]) && indent(lines[after]) == indent(l) {
			continue
		}
		// Keep it when it is its block's only statement.
		prev := k - 1
		for prev >= 0 && strings.TrimSpace(lines[prev]) == "" {
			prev--
		}
		if prev >= 0 && strings.HasSuffix(strings.TrimSpace(stripHash(lines[prev])), ":") &&
			(after >= len(lines) || indent(lines[after]) < indent(l)) {
			continue
		}
		end := len(code)
		if k+span < len(starts) {
			end = starts[k+span]
		}
		out = append(out, edit{starts[k], end, ""})
	}
	return out
}

// bodyLevel reports whether line k sits directly in the body of the
// function around it, not in a nested block: a guard clause, not a check
// inside a loop.
func bodyLevel(lines []string, k int, indent func(string) int) bool {
	ind := indent(lines[k])
	for j := k - 1; j >= 0; j-- {
		l := lines[j]
		if strings.TrimSpace(l) == "" {
			continue
		}
		if defLineRe.MatchString(l) && indent(l) < ind {
			return true
		}
		if indent(l) < ind {
			return false
		}
	}
	return false
}

// loopTarget reports whether the "in" at i belongs to a for clause: the
// nearest "for" before it on its line has no keyword or "=" in between.
func loopTarget(code string, i int) bool {
	line := " " + code[strings.LastIndexByte(code[:i], '\n')+1:i]
	f := strings.LastIndex(line, " for ")
	if f < 0 {
		return false
	}
	seg := line[f+len(" for "):]
	for _, kw := range []string{" if ", " and ", " or ", " not ", "=", " return ", " while "} {
		if strings.Contains(" "+seg, kw) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func flipCase(c byte) string {
	if c >= 'a' && c <= 'z' {
		return string(c - 'a' + 'A')
	}
	return string(c - 'A' + 'a')
}

func stripHash(l string) string {
	if i := strings.Index(l, "#"); i >= 0 {
		return l[:i]
	}
	return l
}

// colonSite drops the colon of the first for, if, while or elif line of
// the solution, or of its first def line when there is none; a solution
// with no block opener at the end of a line loses its last closing
// parenthesis instead, and one with neither gains an unmatched one.
func colonSite(code string, from int, mask []bool) (edit, bool) {
	lines := strings.Split(code, "\n")
	starts := lineStarts(code)
	for _, re := range []*regexp.Regexp{openerRe, defLineRe} {
		for k, l := range lines {
			if starts[k] < from || !re.MatchString(l) {
				continue
			}
			body := stripHash(l)
			i := strings.LastIndex(body, ":")
			if i < 0 || !mask[starts[k]+i] {
				continue
			}
			return edit{starts[k] + i, starts[k] + i + 1, ""}, true
		}
	}
	for i := len(code) - 1; i >= from; i-- {
		if code[i] == ')' && mask[i] {
			return edit{i, i + 1, ""}, true
		}
	}
	// No block opener and no parenthesis (return number % 1.0): an
	// unmatched one at the end of the first line of code.
	for k, l := range lines {
		if starts[k] >= from && strings.TrimSpace(l) != "" && mask[starts[k]+len(l)-len(strings.TrimLeft(l, " \t"))] {
			end := starts[k] + len(strings.TrimRight(stripHash(l), " \t"))
			return edit{end, end, ")"}, true
		}
	}
	return edit{}, false
}

// breakFrom is where a task's own solution starts in its gold: after the
// prompt for a completion task (HumanEval), at 0 otherwise.
func breakFrom(t *tasks.Task) int {
	if p := t.Meta[tasks.MetaPrompt]; p != "" && strings.HasPrefix(t.Gold, p) {
		return len(p)
	}
	return 0
}

// variant returns the gold of t with the site-th breakage of kind applied.
func variant(t *tasks.Task, kind breakKind, site int) (string, bool) {
	sites := breakSites(t.Gold, breakFrom(t), kind)
	if site < 0 || site >= len(sites) {
		return "", false
	}
	return sites[site].apply(t.Gold), true
}

// codeSum is the first 8 hex digits of the SHA-256 of normalised code.
func codeSum(code string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(strings.ReplaceAll(code, "\r\n", "\n"), "\n") {
		if l = strings.TrimRight(l, " \t"); l != "" {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	s := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(s[:4])
}

// breakTable maps a task ID to its verified breakages.
type breakTable map[string][]breakage

const breakagesFile = "data/code_breakages.tsv"

// parseBreakages reads data/code_breakages.tsv: comment lines start with
// #, and each other line is a task ID, a tab, and comma-separated variants
// kind:site:sum:status.
func parseBreakages(data []byte, name string) (breakTable, error) {
	out := breakTable{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, list, ok := strings.Cut(line, "\t")
		if !ok || id == "" {
			return nil, fmt.Errorf("%s:%d: task_id: want <task id>TAB<variants>", name, n)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s:%d: task_id: %s listed twice", name, n, id)
		}
		var bs []breakage
		for _, v := range strings.Split(list, ",") {
			if v == "" {
				continue
			}
			f := strings.Split(v, ":")
			if len(f) != 4 {
				return nil, fmt.Errorf("%s:%d: variants: %q is not kind:site:sum:status", name, n, v)
			}
			site, err := strconv.Atoi(f[1])
			if err != nil || site < 0 {
				return nil, fmt.Errorf("%s:%d: variants: %q: site %q is not an index", name, n, v, f[1])
			}
			kind := breakKind(f[0])
			if !slices.Contains(semanticKinds, kind) && kind != breakSyntax {
				return nil, fmt.Errorf("%s:%d: variants: %q: unknown kind %q", name, n, v, f[0])
			}
			bs = append(bs, breakage{kind: kind, site: site, sum: f[2], status: f[3]})
		}
		out[id] = bs
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// breakagesOf materialises t's verified breakages, most common mistakes
// first and the syntax error last. It fails when the table no longer
// matches the generator (the variant's checksum differs).
func (bt breakTable) breakagesOf(t *tasks.Task) ([]breakage, error) {
	var semantic, syntax []breakage
	for _, b := range bt[t.ID] {
		code, ok := variant(t, b.kind, b.site)
		if !ok || codeSum(code) != b.sum {
			return nil, fmt.Errorf("sim: %s: task %s: variant %s:%d no longer matches the generator; regenerate the file with: go test ./agents/sim -run TestCodeBreakages -update", breakagesFile, t.ID, b.kind, b.site)
		}
		b.code = code
		if b.kind == breakSyntax {
			syntax = append(syntax, b)
		} else {
			semantic = append(semantic, b)
		}
	}
	return append(semantic, syntax...), nil
}

// fallbackBreakage is the wrong answer for a code task the table does not
// list (a user's task): the solution with a colon dropped, which cannot
// pass any test.
func fallbackBreakage(t *tasks.Task) []breakage {
	if code, ok := variant(t, breakSyntax, 0); ok {
		return []breakage{{kind: breakSyntax, code: code, sum: codeSum(code)}}
	}
	code := "def " + t.Meta[tasks.MetaEntryPoint] + "(*args)\n    return None\n"
	return []breakage{{kind: breakSyntax, code: code, sum: codeSum(code)}}
}
