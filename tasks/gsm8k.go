package tasks

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

var calcAnnotationRe = regexp.MustCompile(`<<[^>]*>>`)

// ParseGSM8K reads GSM8K JSON Lines ({"question": ..., "answer": ...}, the
// answer ending in a "#### N" line) from r. name labels errors; split goes
// into each task ID ("gsm8k/<split>/<0-based index>"). Every bad line is
// reported, as "name:line: field: problem", and then no task is returned.
func ParseGSM8K(r io.Reader, name, split string) ([]*Task, error) {
	gsm := builtinScorers["gsm8k"]
	errs := &lineErrors{file: name}
	var out []*Task
	err := forEachLine(r, name, func(line []byte, n int) {
		obj, err := decodeObject(line)
		if err != nil {
			errs.add(n, "json", "%v", err)
			return
		}
		for _, k := range obj.unknownFields([]string{"question", "answer"}) {
			errs.add(n, k, "unknown field (want question, answer)")
		}
		q := obj.required(errs, n, "question")
		a := obj.required(errs, n, "answer")
		if a == "" {
			return
		}
		i := strings.LastIndex(a, "\n####")
		if i < 0 {
			errs.add(n, "answer", `no final "#### <number>" line`)
			return
		}
		raw := strings.ReplaceAll(strings.TrimSpace(a[i+len("\n####"):]), ",", "")
		if !plainNumberRe.MatchString(raw) {
			errs.add(n, "answer", "final %q is not a number", raw)
			return
		}
		gold, _ := CanonicalNumber(raw)
		work := a[:i]
		solution := calcAnnotationRe.ReplaceAllString(work, "")
		steps := 0
		for l := range strings.SplitSeq(solution, "\n") {
			if strings.TrimSpace(l) != "" {
				steps++
			}
		}
		out = append(out, &Task{
			ID:        fmt.Sprintf("gsm8k/%s/%d", split, len(out)),
			Benchmark: "gsm8k",
			Domain:    DomainMath,
			Query:     q,
			Gold:      gold,
			Solution:  solution,
			Scorer:    gsm,
			Meta: map[string]string{
				"steps": strconv.Itoa(steps),
				"calcs": strconv.Itoa(strings.Count(work, "<<")),
			},
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
