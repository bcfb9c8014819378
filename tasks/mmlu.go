package tasks

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// mmluHeader is the header row of the shipped MMLU files.
var mmluHeader = []string{"question", "choice0", "choice1", "choice2", "choice3", "answer"}

// ParseMMLU reads one MMLU subject file from r: CSV rows of question, four
// choices and the answer, given as 0–3 (the shipped files, which start with
// the header "question,choice0,choice1,choice2,choice3,answer") or as A–D
// (Hendrycks' original header-less files). Fields may span lines. Task IDs
// are "mmlu/<split>/<subject>/<0-based row>". Every bad row is reported, as
// "name:line: field: problem", and then no task is returned.
func ParseMMLU(r io.Reader, name, subject, split string) ([]*Task, error) {
	if subject == "" {
		return nil, fmt.Errorf("%s: empty MMLU subject", name)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	choice := builtinScorers["mmlu"]
	errs := &lineErrors{file: name}
	var out []*Task
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read %s: %w", name, err)
			}
			errs.add(pe.StartLine, "csv", "%v", pe.Err)
			continue
		}
		line, _ := cr.FieldPos(0)
		if line == 1 && len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a byte-order mark
		}
		if row == 0 && slices.Equal(rec, mmluHeader) {
			row = -1
			continue
		}
		if len(rec) != len(mmluHeader) {
			errs.add(line, "fields", "got %d, want %d (%s)", len(rec), len(mmluHeader), strings.Join(mmluHeader, ","))
			continue
		}
		if strings.TrimSpace(rec[0]) == "" {
			errs.add(line, "question", "empty")
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				errs.add(line, mmluHeader[i], "not valid UTF-8")
			}
		}
		gold, ok := mmluAnswer(rec[5])
		if !ok {
			errs.add(line, "answer", "%q is not 0-3 or A-D", rec[5])
			continue
		}
		var q strings.Builder
		q.WriteString(MMLUHeader(subject) + "\n\n")
		q.WriteString(rec[0])
		meta := map[string]string{"subject": subject}
		for i, c := range rec[1:5] {
			letter := string(rune('A' + i))
			q.WriteString("\n" + letter + ". " + c)
			meta["choice_"+letter] = c
		}
		out = append(out, &Task{
			ID:        fmt.Sprintf("mmlu/%s/%s/%d", split, subject, row),
			Benchmark: "mmlu",
			Domain:    DomainCommonsense,
			Query:     q.String(),
			Gold:      gold,
			Scorer:    choice,
			Meta:      meta,
		})
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return out, nil
}

// mmluAnswer maps "0".."3" or "A".."D" to the letter.
func mmluAnswer(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 1 {
		return "", false
	}
	switch c := s[0]; {
	case '0' <= c && c <= '3':
		return string(rune('A' + c - '0')), true
	case 'A' <= c && c <= 'D':
		return s, true
	}
	return "", false
}

// MMLUHeader returns the line MMLU's own evaluation prompt opens with for
// subject (e.g. "high_school_physics"): "The following are multiple choice
// questions (with answers) about high school physics." Loaded MMLU tasks
// carry it as the first line of their query, as Hendrycks et al.'s
// evaluate.py and RouteLLM's recorded runs send it, so a router may read the
// subject.
func MMLUHeader(subject string) string {
	return "The following are multiple choice questions (with answers) about " + strings.ReplaceAll(subject, "_", " ") + "."
}
