package tasks

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

var identRe = regexp.MustCompile(`^[A-Za-z_]\w*$`)

// ParseHumanEval reads HumanEval problems as JSON Lines from r: task_id,
// prompt (imports, helpers, the signature and docstring), entry_point,
// canonical_solution (the body that completes the prompt) and test (Python
// defining check(candidate)). Task IDs are "humaneval/test/<n>" for task_id
// "HumanEval/<n>". Query is the prompt; Gold is prompt plus canonical
// solution; Meta holds the entry point, the prompt, the hidden test program
// (test followed by check(<entry_point>), as the upstream harness runs it)
// and the visible tests: the docstring's examples turned into asserts (see
// DocstringTests). name labels errors; every bad line is reported, as
// "name:line: field: problem", and then no task is returned.
func ParseHumanEval(r io.Reader, name string) ([]*Task, error) {
	known := []string{"task_id", "prompt", "entry_point", "canonical_solution", "test"}
	errs := &lineErrors{file: name}
	seen := map[string]int{}
	var out []*Task
	err := forEachLine(r, name, func(line []byte, n int) {
		obj, err := decodeObject(line)
		if err != nil {
			errs.add(n, "json", "%v", err)
			return
		}
		for _, k := range obj.unknownFields(known) {
			errs.add(n, k, "unknown field (want %s)", strings.Join(known, ", "))
		}
		id := obj.required(errs, n, "task_id")
		prompt := obj.required(errs, n, "prompt")
		entry := obj.required(errs, n, "entry_point")
		solution := obj.required(errs, n, "canonical_solution")
		test := obj.required(errs, n, "test")
		if entry != "" && !identRe.MatchString(entry) {
			errs.add(n, "entry_point", "%q is not a Python identifier", entry)
			return
		}
		if entry != "" && prompt != "" && !definesFunc(prompt, entry) {
			errs.add(n, "prompt", "does not define the entry point %s", entry)
		}
		if test != "" && !strings.Contains(test, "def check(") {
			errs.add(n, "test", "defines no check(candidate) function")
		}
		if id == "" {
			return
		}
		if prev, dup := seen[id]; dup {
			errs.add(n, "task_id", "%q already used on line %d", id, prev)
		}
		seen[id] = n
		tid := "humaneval/test/" + strings.TrimPrefix(id, "HumanEval/")
		visible := DocstringTests(prompt, entry)
		visible = dropHumanEvalErrata(id, visible)
		meta := map[string]string{
			"task_id":      id,
			MetaEntryPoint: entry,
			MetaPrompt:     prompt,
			MetaTest:       strings.TrimRight(test, "\n") + "\n\n\ncheck(" + entry + ")\n",
		}
		if len(visible) > 0 {
			meta[MetaVisibleTests] = strings.Join(visible, "\n")
		}
		out = append(out, &Task{
			ID:        tid,
			Benchmark: "humaneval",
			Domain:    DomainCode,
			Query:     prompt,
			Gold:      prompt + solution,
			Scorer:    NewCodeScorer(entry, prompt, nil),
			Meta:      meta,
		})
	})
	if err != nil {
		return nil, err
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tasks", name)
	}
	return out, nil
}

// humanEvalErrata lists docstring examples that DocstringTests turns into
// asserts but that the canonical solution fails, because the example is
// wrong or describes something other than the function's return value.
// They are left out of the visible tests. A test checks that the canonical
// solutions pass every remaining visible test and fail every entry here.
// It is read-only.
var humanEvalErrata = map[string][]string{
	// The docstring's median of an even-length list is wrong (8.0 is right).
	"HumanEval/47": {"assert median([-10, 4, 6, 1000, 10, 20]) == 15.0"},
	// The docstring describes sorting by value; the task sorts by the number
	// of ones in the binary form. The third example puts its output on the
	// prompt line.
	"HumanEval/116": {
		"assert sort_array([1, 5, 2, 3, 4]) == [1, 2, 3, 4, 5]",
		"assert sort_array([-2, -3, -4, -5, -6]) == [-6, -5, -4, -3, -2]",
		"assert sort_array([1, 0, 2, 3, 4]) [0, 1, 2, 3, 4] is None",
	},
	// These lines define the sequence tri(n), not the function's return
	// value (a list).
	"HumanEval/130": {"assert tri(1) == 3", "assert tri(4) == 3"},
	// ("Venus") is a string; the function returns a tuple.
	"HumanEval/148": {`assert bf("Earth", "Mercury") == ("Venus")`},
}

func dropHumanEvalErrata(id string, tests []string) []string {
	bad := humanEvalErrata[id]
	if len(bad) == 0 {
		return tests
	}
	var out []string
	for _, t := range tests {
		keep := true
		for _, b := range bad {
			if t == b {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, t)
		}
	}
	return out
}

var (
	// exampleSepRe matches what separates a call from its result in a
	// docstring example: ==>, ==, =>, ➞, ->, =, "returns", "should return",
	// "# returns", "# =>".
	exampleSepRe = regexp.MustCompile(`^\s*(?:#\s*)?(?:==>|==|=>|➞|->|=(?:[^=>]|$)|returns\b|should\s+return\b|will\s+return\b)\s*`)
	docstringEnd = regexp.MustCompile(`^\s*(?:"""|''')`)
	assignmentRe = regexp.MustCompile(`^[A-Za-z_][\w.,\s\[\]]*(?:[-+*/%&|^]|//|\*\*)?=(?:[^=]|$)`)
)

// DocstringTests turns the examples in a HumanEval prompt's docstring into
// assert statements, one per line, keeping only those that read as Python:
//
//   - doctest examples, ">>> expr" (continued by "... ") and the expected
//     output on the lines after it, become "assert expr == expected"; an
//     example with no output line becomes "assert expr is None", or
//     "assert expr" when expr is itself a comparison;
//   - other lines that call entryPoint with literal arguments and give a
//     literal result after ==>, ==, =>, ➞, ->, =, "returns" or "should
//     return" become "assert call == result" (lower-case true, false and
//     none read as True, False and None). A prompt that defines no
//     function but entryPoint may show it under another name: a line that
//     starts with a call (or "assert call") of a name the prompt neither
//     defines nor imports and that is no Python built-in, followed by an
//     arrow (==>, =>, ➞, ->), reads as a call of entryPoint;
//   - "For x = 1, y = 'a' the output should be 2" (or "the result should
//     be") and "Input: x = 1, y = 'a'" or "Input: 1" followed within a few
//     lines by "Output: 2" become "assert entryPoint(...) == 2". Named
//     arguments that are entryPoint's first parameters are passed in the
//     signature's order, other parameters of it by keyword; names that are
//     not its parameters are passed in the order given when there are as
//     many as it has parameters. An input that is a single literal is the
//     only argument.
//
// An example whose result is not a Python literal (prose, arithmetic, an
// unquoted string) or whose call spans an unbalanced line is dropped.
func DocstringTests(prompt, entryPoint string) []string {
	prompt = strings.ReplaceAll(prompt, "\r\n", "\n")
	lines := strings.Split(prompt, "\n")
	params, hasParams := funcParams(prompt, entryPoint)
	// A prompt that defines only the entry point may show it under a stale
	// name (HumanEval/81's examples call grade_equation).
	alias := hasParams && len(funcDefRe.FindAllStringIndex(prompt, -1)) == 1
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if entryPoint != "" && hasParams {
			if a, ok := forExample(t, entryPoint, params); ok {
				add(a)
				continue
			}
			if a, next, ok := inputExample(lines, i, entryPoint, params); ok {
				add(a)
				i = next
				continue
			}
		}
		if expr, ok := strings.CutPrefix(t, ">>>"); ok {
			expr = strings.TrimSpace(expr)
			j := i + 1
			for ; j < len(lines); j++ {
				c := strings.TrimSpace(lines[j])
				if !strings.HasPrefix(c, "...") {
					break
				}
				expr += " " + strings.TrimSpace(strings.TrimPrefix(c, "..."))
			}
			var want []string
			for ; j < len(lines); j++ {
				c := strings.TrimSpace(lines[j])
				if c == "" || strings.HasPrefix(c, ">>>") || docstringEnd.MatchString(lines[j]) {
					break
				}
				want = append(want, c)
			}
			i = j - 1
			expr = stripComment(expr)
			if expr == "" || !balanced(expr) || strings.HasPrefix(expr, "import ") || strings.HasPrefix(expr, "from ") || assignmentRe.MatchString(expr) {
				continue
			}
			if len(want) == 0 {
				if hasComparison(expr) {
					add("assert " + expr)
				} else {
					add("assert " + expr + " is None")
				}
				continue
			}
			result := strings.Join(want, " ")
			if !isPyLiteral(result) {
				continue
			}
			add("assert " + wrapExpr(expr) + " == " + result)
			continue
		}
		if entryPoint == "" {
			continue
		}
		if alias {
			t = renameExampleCall(t, prompt, entryPoint)
		}
		k := strings.Index(t, entryPoint+"(")
		if k < 0 || (k > 0 && isIdentByte(t[k-1])) || strings.HasPrefix(t[k:], entryPoint+"()") {
			continue
		}
		// The call, possibly continued on the next lines.
		text := t[k:]
		j := i
		for !closesCall(text) && j+1 < len(lines) && j-i < 8 {
			j++
			text += " " + strings.TrimSpace(lines[j])
		}
		end := callEnd(text)
		if end < 0 {
			continue
		}
		call, rest := text[:end], text[end:]
		m := exampleSepRe.FindStringIndex(rest)
		if m == nil {
			continue
		}
		result, ok := exampleResult(rest[m[1]:])
		if !ok || !isPyLiteral(call[len(entryPoint):]) {
			continue
		}
		add("assert " + call + " == " + result)
		i = j
	}
	return out
}

var (
	// forExampleRe matches "For x = 1, y = 2 the output should be 3."
	forExampleRe = regexp.MustCompile(`^[Ff]or\s+(.+?),?\s+the\s+(?:output|result)\s+should\s+be\s+(.+?)$`)
	// argRe matches one named argument of an example: "x = 1" or "x : 1".
	argRe = regexp.MustCompile(`^([A-Za-z_]\w*)\s*[:=]\s*(.+)$`)
	// paramRe matches one parameter of a def: its name, then an
	// annotation, a default or nothing.
	paramRe = regexp.MustCompile(`^\*{0,2}([A-Za-z_]\w*)\s*(?:[:=].*)?$`)
)

// funcParams returns the parameter names of the function name defines in
// src, and whether it defines one with only plain parameters (no *args,
// **kwargs or bare *).
func funcParams(src, name string) ([]string, bool) {
	if name == "" {
		return nil, false
	}
	for _, m := range funcDefRe.FindAllStringSubmatchIndex(src, -1) {
		if src[m[2]:m[3]] != name {
			continue
		}
		open := strings.IndexByte(src[m[0]:], '(')
		if open < 0 {
			return nil, false
		}
		rest := src[m[0]+open:]
		end := callEnd(rest)
		if end < 0 {
			return nil, false
		}
		var out []string
		for _, p := range splitTopLevel(rest[1 : end-1]) {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			pm := paramRe.FindStringSubmatch(p)
			if pm == nil || strings.HasPrefix(p, "*") || p == "/" {
				return nil, false
			}
			out = append(out, pm[1])
		}
		return out, true
	}
	return nil, false
}

// splitTopLevel splits s at the commas outside brackets and string
// literals.
func splitTopLevel(s string) []string {
	var out []string
	start := 0
	walkCode(s, func(i int, c byte, depth int) bool {
		if c == ',' && depth == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(out, s[start:])
}

// exampleCall builds the call of entry on an example's input: "x = 1, y =
// 2" (or "x : 1" per line, joined by commas) or a single literal.
func exampleCall(input, entry string, params []string) (string, bool) {
	input = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(input), ","))
	if input == "" || !balanced(input) {
		return "", false
	}
	if argRe.MatchString(input) {
		parts := splitTopLevel(input)
		names := make([]string, len(parts))
		values := make([]string, len(parts))
		allNamed := true
		for k, part := range parts {
			m := argRe.FindStringSubmatch(strings.TrimSpace(part))
			if m == nil || !isPyLiteral(m[2]) {
				return "", false
			}
			if slices.Contains(names[:k], m[1]) {
				return "", false
			}
			names[k], values[k] = m[1], strings.TrimSpace(m[2])
			allNamed = allNamed && slices.Contains(params, m[1])
		}
		switch {
		case allNamed:
			// Positionally in the signature's order, as the hidden tests
			// call it (a solution may rename its parameters), when the
			// names fill the first parameters; else by keyword.
			pos := make([]string, len(parts))
			for k := range parts {
				if at := slices.Index(params, names[k]); at < len(pos) {
					pos[at] = values[k]
				}
			}
			if !slices.Contains(pos, "") {
				return entry + "(" + strings.Join(pos, ", ") + ")", true
			}
			kw := make([]string, len(parts))
			for k := range parts {
				kw[k] = names[k] + "=" + values[k]
			}
			return entry + "(" + strings.Join(kw, ", ") + ")", true
		case len(values) == len(params):
			return entry + "(" + strings.Join(values, ", ") + ")", true
		}
		return "", false
	}
	if len(params) != 1 || !isPyLiteral(input) {
		return "", false
	}
	return entry + "(" + input + ")", true
}

// exampleResult normalises an example's result: no comment or final full
// stop, lower-case booleans and None capitalised. ok is false when it is
// not a Python literal.
func exampleResult(s string) (string, bool) {
	s = strings.TrimSpace(stripComment(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	switch s {
	case "true":
		s = "True"
	case "false":
		s = "False"
	case "none":
		s = "None"
	}
	return s, isPyLiteral(s)
}

// forExample turns "For x = 1 the output should be 2." into an assert.
func forExample(line, entry string, params []string) (string, bool) {
	m := forExampleRe.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	call, ok := exampleCall(m[1], entry, params)
	if !ok {
		return "", false
	}
	result, ok := exampleResult(m[2])
	if !ok {
		return "", false
	}
	return "assert " + call + " == " + result, true
}

// inputExample turns an "Input: ..." line at lines[i], with its
// continuation lines, and the "Output: ..." line after it into an assert.
// next is the index of the output's last line.
func inputExample(lines []string, i int, entry string, params []string) (assert string, next int, ok bool) {
	first, found := strings.CutPrefix(strings.TrimSpace(lines[i]), "Input:")
	if !found {
		return "", 0, false
	}
	var in []string
	if s := strings.TrimSpace(first); s != "" {
		in = append(in, s)
	}
	for j := i + 1; j < len(lines) && j <= i+8; j++ {
		c := strings.TrimSpace(lines[j])
		out, isOut := strings.CutPrefix(c, "Output:")
		if !isOut {
			if c == "" || docstringEnd.MatchString(lines[j]) {
				return "", 0, false
			}
			in = append(in, c)
			continue
		}
		next = j
		if strings.TrimSpace(out) == "" && j+1 < len(lines) {
			next = j + 1
			out = lines[next]
		}
		call, ok := exampleCall(strings.Join(in, ", "), entry, params)
		if !ok {
			return "", 0, false
		}
		result, ok := exampleResult(out)
		if !ok {
			return "", 0, false
		}
		return "assert " + call + " == " + result, next, true
	}
	return "", 0, false
}

var (
	// callStartRe matches a line that starts with a call, or an assert of one.
	callStartRe = regexp.MustCompile(`^(assert\s+)?([A-Za-z_]\w*)\(`)
	// arrowRe matches an arrow before an example's result.
	arrowRe = regexp.MustCompile(`^\s*(?:==>|=>|➞|->)`)
)

// pyBuiltins are the Python built-in functions an example line may call.
var pyBuiltins = map[string]bool{
	"abs": true, "all": true, "any": true, "bin": true, "bool": true, "chr": true, "dict": true, "divmod": true,
	"enumerate": true, "filter": true, "float": true, "format": true, "hex": true, "int": true, "isinstance": true,
	"len": true, "list": true, "map": true, "max": true, "min": true, "oct": true, "ord": true, "pow": true,
	"print": true, "range": true, "repr": true, "reversed": true, "round": true, "set": true, "sorted": true,
	"str": true, "sum": true, "tuple": true, "type": true, "zip": true,
}

// renameExampleCall rewrites a line that starts with a call of a function
// prompt neither defines nor imports (nor a built-in) into a call of entry.
func renameExampleCall(line, prompt, entry string) string {
	m := callStartRe.FindStringSubmatchIndex(line)
	if m == nil {
		return line
	}
	name := line[m[4]:m[5]]
	if name == entry || pyBuiltins[name] || definesFunc(prompt, name) || imports(prompt, name) {
		return line
	}
	if end := callEnd(line[m[4]:]); end < 0 || !arrowRe.MatchString(line[m[4]+end:]) {
		return line
	}
	return line[:m[4]] + entry + line[m[5]:]
}

// imports reports whether an import statement of src names name.
func imports(src, name string) bool {
	for _, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "import ") && !strings.HasPrefix(l, "from ") {
			continue
		}
		for _, w := range strings.FieldsFunc(l, func(r rune) bool { return r > 127 || !isIdentByte(byte(r)) || r == '.' }) {
			if w == name {
				return true
			}
		}
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.'
}

// wrapExpr parenthesises an expression whose operators bind more loosely
// than ==.
func wrapExpr(expr string) string {
	for _, op := range []string{" and ", " or ", "not ", " if ", "lambda", "==", "!=", "<", ">", " in ", " is "} {
		if strings.Contains(expr, op) {
			return "(" + expr + ")"
		}
	}
	return expr
}

// hasComparison reports whether expr compares at its top level.
func hasComparison(expr string) bool {
	return strings.Contains(expr, "==") || strings.Contains(expr, "!=") || strings.Contains(expr, " is ")
}

// stripComment removes a # comment outside string literals.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#':
			return strings.TrimSpace(s[:i])
		}
	}
	return strings.TrimSpace(s)
}

// walkCode calls visit for every byte of s outside string literals (quoted
// with ' or ", backslash escapes honoured) with the bracket depth after
// that byte, until visit returns false. It returns the depth then and
// whether a string literal was left open.
func walkCode(s string, visit func(i int, c byte, depth int) bool) (depth int, open bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if !visit(i, c, depth) {
			return depth, false
		}
	}
	return depth, quote != 0
}

// scanBrackets walks s outside string literals and returns the bracket
// depth at the end and whether it ever went negative or a string stayed
// open. With stopAtZero it stops just past the bracket that closes depth 1
// and returns that index as stop (else stop is -1).
func scanBrackets(s string, stopAtZero bool) (depth, stop int, ok bool) {
	stop, ok = -1, true
	depth, open := walkCode(s, func(i int, c byte, d int) bool {
		switch {
		case d < 0:
			stop, ok = i, false
		case d == 0 && stopAtZero && (c == ')' || c == ']' || c == '}'):
			stop = i + 1
		default:
			return true
		}
		return false
	})
	switch {
	case !ok:
		return depth, stop, false
	case stop >= 0:
		return 0, stop, true
	}
	return depth, -1, !open
}

func balanced(s string) bool {
	d, _, ok := scanBrackets(s, false)
	return ok && d == 0
}

// closesCall reports whether s, which starts with name(, closes that call.
func closesCall(s string) bool {
	_, stop, ok := scanBrackets(s, true)
	return ok && stop >= 0
}

// callEnd is the index just past the closing parenthesis of the call s
// starts with, or -1.
func callEnd(s string) int {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return -1
	}
	_, stop, ok := scanBrackets(s[i:], true)
	if !ok || stop < 0 {
		return -1
	}
	return i + stop
}

var pyLiteralTokenRe = regexp.MustCompile(`^(?:\s+|[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+)j?|True\b|False\b|None\b|[()\[\]{},:]|[rbuRBU]{0,2}(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))`)

// isPyLiteral reports whether s is made only of Python literal tokens
// (numbers, strings, True, False, None) and brackets, commas and colons,
// with balanced brackets: a literal value or a tuple of them.
func isPyLiteral(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || !balanced(s) {
		return false
	}
	for s != "" {
		m := pyLiteralTokenRe.FindString(s)
		if m == "" {
			return false
		}
		s = s[len(m):]
	}
	return true
}
