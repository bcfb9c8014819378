package tasks

import (
	"regexp"
	"strings"
)

// ExtractCode pulls the candidate program out of a model's reply to a code
// task and reports whether it found one.
//
// It understands the shapes replies come in: fenced blocks (``` or ~~~,
// with or without a language tag; when there are several, the last one that
// defines entryPoint, else the last Python block with a function in it;
// blocks tagged as another language, such as output or bash, only when
// there is nothing else); MBPP's [BEGIN] ... [DONE] delimiters; bare code
// after or before prose (prose lines at the left margin end the code); and
// completions that continue the prompt rather than repeat it: when the code
// does not define entryPoint but prompt does, the code is a function body
// and prompt is put in front of it, with its indentation repaired (a first
// line that lost its indent, or a body written flush left). Line endings
// become "\n" and the result ends in one newline. entryPoint and prompt may
// be empty.
func ExtractCode(reply, entryPoint, prompt string) (string, bool) {
	reply = unixLines(reply)
	code, ok := pickCode(reply, entryPoint)
	if !ok {
		return "", false
	}
	code = dedent(trimBlankLines(code))
	if entryPoint != "" && prompt != "" && !definesFunc(code, entryPoint) && definesFunc(prompt, entryPoint) {
		code = completePrompt(unixLines(prompt), code)
	}
	code = strings.TrimRight(code, " \t\n") + "\n"
	if strings.TrimSpace(code) == "" {
		return "", false
	}
	return code, true
}

// fence is one fenced block of a reply.
type fence struct {
	lang string
	body string
}

var (
	fenceOpenRe = regexp.MustCompile("^[ \t]{0,3}(```+|~~~+)[ \t]*([^`\\s]*)[^`]*$")
	beginDoneRe = regexp.MustCompile(`(?s)\[BEGIN\]\s*\n?(.*?)(?:\[DONE\]|$)`)
)

// fencedBlocks returns the fenced blocks of s in order. An unclosed fence
// runs to the end (a reply cut at its token limit).
func fencedBlocks(s string) []fence {
	lines := strings.Split(s, "\n")
	var out []fence
	for i := 0; i < len(lines); i++ {
		m := fenceOpenRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		marker := m[1]
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			t := strings.TrimSpace(lines[j])
			if strings.HasPrefix(t, marker[:1]) && strings.Trim(t, marker[:1]) == "" && len(t) >= len(marker) {
				break
			}
			body = append(body, lines[j])
		}
		out = append(out, fence{lang: strings.ToLower(m[2]), body: strings.Join(body, "\n")})
		i = j
	}
	return out
}

// pythonTag reports whether a fence's language tag names Python (or nothing).
func pythonTag(lang string) bool {
	switch lang {
	case "", "python", "python3", "py", "py3", "python2", "ipython", "pycon":
		return true
	}
	return false
}

var funcDefRe = regexp.MustCompile(`(?m)^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(`)

// definesFunc reports whether code defines a function called name.
func definesFunc(code, name string) bool {
	for _, m := range funcDefRe.FindAllStringSubmatch(code, -1) {
		if m[1] == name {
			return true
		}
	}
	return false
}

// pickCode finds the code in reply, before any repair.
func pickCode(reply, entryPoint string) (string, bool) {
	if blocks := fencedBlocks(reply); len(blocks) > 0 {
		var py []fence
		for _, b := range blocks {
			if pythonTag(b.lang) && strings.TrimSpace(b.body) != "" {
				py = append(py, b)
			}
		}
		if len(py) == 0 {
			for _, b := range blocks {
				if strings.TrimSpace(b.body) != "" {
					py = append(py, b)
				}
			}
		}
		if entryPoint != "" {
			for i := len(py) - 1; i >= 0; i-- {
				if definesFunc(py[i].body, entryPoint) {
					return py[i].body, true
				}
			}
		}
		for i := len(py) - 1; i >= 0; i-- {
			if funcDefRe.MatchString(py[i].body) || strings.Contains(py[i].body, "return") {
				return py[i].body, true
			}
		}
		if len(py) > 0 {
			return py[len(py)-1].body, true
		}
	}
	if m := beginDoneRe.FindStringSubmatch(reply); m != nil && strings.TrimSpace(m[1]) != "" {
		return m[1], true
	}
	return bareCode(reply)
}

var (
	// codeLineRe matches a line at the left margin that reads as Python.
	codeLineRe = regexp.MustCompile(`^(?:(?:async\s+)?def\s+\w+\s*\(|class\s+\w+|import\s+\w|from\s+[\w.]+\s+import\s|@\w|#|if\b|elif\b|else\s*:|for\b|while\b|try\s*:|except\b|finally\s*:|with\b|return\b|yield\b|raise\b|assert\b|pass\b|break\b|continue\b|global\b|nonlocal\b|del\b|print\s*\(|lambda\b|[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*(?:[-+*/%&|^]|//|\*\*|>>|<<)?=[^=]|[A-Za-z_][\w.]*\s*\(.*\)\s*$|[A-Za-z_]\w*\s*,\s*[A-Za-z_][\w, ]*=|[)\]}]|"""|''')`)
	// codeStartRe matches a line that can start a block of code at the margin.
	codeStartRe = regexp.MustCompile(`^(?:(?:async\s+)?def\s+\w+\s*\(|class\s+\w+|import\s+\w|from\s+[\w.]+\s+import\s|@\w)`)
)

// bareCode finds unfenced code: each run of lines from one that starts a
// definition or import at the left margin to the last line before prose
// resumes at the margin, joined; or, for a completion, the run from the
// first line that reads as code.
func bareCode(reply string) (string, bool) {
	lines := strings.Split(reply, "\n")
	var parts []string
	prevEnd := 0
	for i := 0; i < len(lines); i++ {
		if !codeStartRe.MatchString(lines[i]) {
			continue
		}
		// Module-level statements just above belong to it (R = 3 before
		// def min_cost(...)).
		from := i
		for from > prevEnd {
			l := lines[from-1]
			if strings.TrimSpace(l) != "" && (l[0] == ' ' || l[0] == '\t' || l[0] == '"' || l[0] == '\'' || !codeLineRe.MatchString(l) || proseRe.MatchString(l)) {
				break
			}
			from--
		}
		end := codeEnd(lines, i)
		parts = append(parts, trimBlankLines(strings.Join(lines[from:end], "\n")))
		i, prevEnd = end-1, end
	}
	if len(parts) == 0 {
		// A completion: a function body, indented or not.
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if t == "" || !codeLineRe.MatchString(t) || (l == t && proseRe.MatchString(t)) {
				continue
			}
			parts = append(parts, strings.Join(lines[i:codeEnd(lines, i)], "\n"))
			break
		}
	}
	code := strings.Join(parts, "\n\n")
	if strings.TrimSpace(code) == "" {
		return "", false
	}
	return code, true
}

// codeEnd is the index of the first line after start that is prose at the
// left margin, or len(lines).
func codeEnd(lines []string, start int) int {
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		if !codeLineRe.MatchString(l) || proseRe.MatchString(l) {
			return i
		}
	}
	return len(lines)
}

// proseRe matches a margin line that reads as an English sentence even if
// it starts like code ("This function returns ...", "For example, ...").
var proseRe = regexp.MustCompile(`^(?:[A-Z][a-z]+,?\s+[a-z]+\s+[a-z]+|[A-Z][a-z']*\s+[a-z]+.*[.:!?]\s*$|(?:Here|This|The|Note|Explanation|Output|Example|Usage|Test|It|We|I)\b[^=(]*$)`)

// trimBlankLines drops leading and trailing blank lines and trailing spaces.
func trimBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Join(lines, "\n")
}

// indentOf is the leading white space of a line.
func indentOf(l string) string { return l[:len(l)-len(strings.TrimLeft(l, " \t"))] }

// dedent removes the white space every non-blank line starts with, unless
// the first line is at the margin (a completion whose first line lost its
// indent keeps the rest for completePrompt to repair).
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	common := ""
	first := true
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		ind := indentOf(l)
		if first {
			common, first = ind, false
			continue
		}
		for !strings.HasPrefix(ind, common) {
			common = common[:len(common)-1]
		}
	}
	if common == "" {
		return s
	}
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, common)
	}
	return strings.Join(lines, "\n")
}

// completePrompt joins a function body to the prompt it continues,
// repairing the body's indentation.
func completePrompt(prompt, body string) string {
	lines := strings.Split(body, "\n")
	// The smallest indent of the lines after the first.
	rest := ""
	restSet := false
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if ind := indentOf(l); !restSet || len(ind) < len(rest) {
			rest, restSet = ind, true
		}
	}
	bodyIndent := "    "
	if i := strings.LastIndex(prompt, `"""`); i >= 0 {
		// The docstring's closing quotes sit at the body's indent.
		ls := strings.LastIndex(prompt[:i], "\n")
		if ind := prompt[ls+1 : i]; strings.TrimSpace(ind) == "" && ind != "" {
			bodyIndent = ind
		}
	}
	switch {
	case indentOf(lines[0]) != "":
		// Already indented as a body.
	case restSet && len(rest) >= len(bodyIndent):
		// Only the first line lost its indent (the rest sit at the body's
		// level or deeper): it starts the body.
		lines[0] = bodyIndent + lines[0]
	case restSet && rest != "":
		// The same, in a body indented less than usual.
		lines[0] = rest + lines[0]
	default:
		// Written flush left: indent the whole body.
		for i, l := range lines {
			if strings.TrimSpace(l) != "" {
				lines[i] = bodyIndent + l
			}
		}
	}
	if !strings.HasSuffix(prompt, "\n") {
		prompt += "\n"
	}
	return prompt + strings.Join(lines, "\n")
}

// preamble is the part of a prompt before the definition of entryPoint:
// imports and helper functions a candidate that repeats only the entry
// point still needs.
func preamble(prompt, entryPoint string) string {
	prompt = unixLines(prompt)
	for _, loc := range funcDefRe.FindAllStringSubmatchIndex(prompt, -1) {
		if prompt[loc[2]:loc[3]] == entryPoint {
			return strings.TrimRight(prompt[:loc[0]], " \t\n")
		}
	}
	return ""
}

// normalizeCode is code as compared by the code scorer: "\n" line endings,
// no trailing spaces, no blank lines.
func normalizeCode(s string) string {
	s = unixLines(s)
	var b strings.Builder
	for l := range strings.SplitSeq(s, "\n") {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// unixLines makes every line ending "\n": CRLF and a lone CR (which Python
// also reads as a line break).
func unixLines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}
