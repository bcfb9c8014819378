package tasks

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// mbppSplits are the standard MBPP splits by task_id (google-research
// mbpp/README.md): 1-10 prompt (few-shot examples), 11-510 test, 511-600
// validation, 601-974 train. It is read-only.
var mbppSplits = map[string][2]int{
	"prompt":     {1, 10},
	"test":       {11, 510},
	"validation": {511, 600},
	"train":      {601, 974},
}

// MBPPSplit names the standard split a task_id belongs to, or "" when it is
// outside 1-974.
func MBPPSplit(taskID int) string {
	for name, r := range mbppSplits {
		if r[0] <= taskID && taskID <= r[1] {
			return name
		}
	}
	return ""
}

// ParseMBPP reads MBPP problems as JSON Lines from r (text, code, task_id,
// test_setup_code, test_list, challenge_test_list) and returns those of one
// split: "prompt" (task_id 1-10), "test" (11-510), "validation" (511-600) or
// "train" (601-974). Task IDs are "mbpp/<split>/<task_id>". Query is the
// task text, the name of the function to write and the three test asserts
// (MasRouter's layout: "Your code should pass these tests:"); Gold is the
// reference code (line endings, CRLF or a lone CR, made "\n"). The hidden tests are test_list,
// as the benchmark and MasRouter score it, and the same asserts are the
// visible tests, since the question shows them; challenge_test_list (11
// problems) is kept in Meta "challenge_tests" but not scored. The entry
// point is the first function the first assert calls that the reference
// code defines. name labels errors; every bad line is reported, as
// "name:line: field: problem", and then no task is returned.
func ParseMBPP(r io.Reader, name, split string) ([]*Task, error) {
	rng, ok := mbppSplits[split]
	if !ok {
		return nil, fmt.Errorf("%s: MBPP has no split %q (want one of prompt, test, train, validation)", name, split)
	}
	known := []string{"text", "code", "task_id", "test_setup_code", "test_list", "challenge_test_list"}
	errs := &lineErrors{file: name}
	seen := map[int]int{}
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
		text := obj.required(errs, n, "text")
		code := unixLines(obj.required(errs, n, "code"))
		setup := unixLines(obj.optional(errs, n, "test_setup_code"))
		id, idOK := obj.integer(errs, n, "task_id")
		tests := obj.stringList(errs, n, "test_list", true)
		challenge := obj.stringList(errs, n, "challenge_test_list", false)
		if !idOK {
			return
		}
		if prev, dup := seen[id]; dup {
			errs.add(n, "task_id", "%d already used on line %d", id, prev)
			return
		}
		seen[id] = n
		if id < rng[0] || id > rng[1] || len(tests) == 0 || code == "" {
			return
		}
		entry, ok := mbppEntryPoint(tests[0], code)
		if !ok {
			errs.add(n, "test_list", "the first assert calls no function the code defines: %q", tests[0])
			return
		}
		for i, tc := range tests {
			tests[i] = strings.TrimSpace(tc)
			if strings.Contains(tests[i], "\n") || !strings.HasPrefix(tests[i], "assert") {
				errs.add(n, "test_list", "entry %d is not a one-line assert: %q", i+1, tc)
			}
		}
		visible := strings.Join(tests, "\n")
		meta := map[string]string{
			"task_id":        strconv.Itoa(id),
			MetaEntryPoint:   entry,
			MetaTest:         visible + "\n",
			MetaVisibleTests: visible,
		}
		if strings.TrimSpace(setup) != "" {
			meta[MetaTestSetup] = setup
		}
		if len(challenge) > 0 {
			meta["challenge_tests"] = strings.Join(challenge, "\n")
		}
		out = append(out, &Task{
			ID:        fmt.Sprintf("mbpp/%s/%d", split, id),
			Benchmark: "mbpp",
			Domain:    DomainCode,
			Query:     MBPPQuery(text, entry, tests),
			Gold:      code,
			Scorer:    NewCodeScorer(entry, "", nil),
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
		return nil, fmt.Errorf("%s: no tasks in split %s (task_id %d-%d)", name, split, rng[0], rng[1])
	}
	return out, nil
}

// MBPPQuery lays out an MBPP problem the way MasRouter shows it to agents:
// the task text, the function to write, and the tests it must pass.
func MBPPQuery(text, entryPoint string, tests []string) string {
	var b strings.Builder
	b.WriteString("**Task**: ")
	b.WriteString(strings.TrimSpace(text))
	b.WriteString("\nWrite a Python function named `")
	b.WriteString(entryPoint)
	b.WriteString("`.\nYour code should pass these tests:\n```python\n")
	for _, t := range tests {
		b.WriteString(strings.TrimSpace(t))
		b.WriteString("\n")
	}
	b.WriteString("```")
	return b.String()
}

var calledNameRe = regexp.MustCompile(`([A-Za-z_][\w.]*)\s*\(`)

// mbppEntryPoint is the first function an assert calls that code defines.
func mbppEntryPoint(assert, code string) (string, bool) {
	for _, m := range calledNameRe.FindAllStringSubmatch(assert, -1) {
		if definesFunc(code, m[1]) {
			return m[1], true
		}
	}
	return "", false
}

// integer reads an integer field that must be present, adding a problem to
// errs otherwise.
func (obj object) integer(errs *lineErrors, n int, key string) (int, bool) {
	raw, ok := obj[key]
	if !ok {
		errs.add(n, key, "missing")
		return 0, false
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		errs.add(n, key, "want an integer, got %s", rawKind(raw))
		return 0, false
	}
	return v, true
}

// stringList reads a field holding an array of strings; required means it
// must be present and non-empty.
func (obj object) stringList(errs *lineErrors, n int, key string, required bool) []string {
	raw, ok := obj[key]
	if !ok {
		if required {
			errs.add(n, key, "missing")
		}
		return nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		errs.add(n, key, "want an array of strings, got %s", rawKind(raw))
		return nil
	}
	if required && len(v) == 0 {
		errs.add(n, key, "empty")
	}
	if slices.ContainsFunc(v, func(s string) bool { return strings.TrimSpace(s) == "" }) {
		errs.add(n, key, "holds an empty string")
		return nil
	}
	return v
}
