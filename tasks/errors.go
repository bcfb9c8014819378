package tasks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// LineError reports one problem with one line of an input file.
type LineError struct {
	// File names the input, usually its path.
	File string
	// Line is the 1-based line number.
	Line int
	// Field is the field at fault, or "json"/"csv" for a syntax error.
	Field string
	// Err describes the problem.
	Err error
}

// Error formats the problem as "file:line: field: problem".
func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Field, e.Err)
}

// Unwrap returns the underlying problem.
func (e *LineError) Unwrap() error { return e.Err }

// lineErrors collects the problems of one input so all can be reported at once.
type lineErrors struct {
	file string
	errs []error
}

func (l *lineErrors) add(line int, field, format string, args ...any) {
	l.errs = append(l.errs, &LineError{File: l.file, Line: line, Field: field, Err: fmt.Errorf(format, args...)})
}

func (l *lineErrors) err() error { return errors.Join(l.errs...) }

// forEachLine calls fn with every non-blank line of r (without its line
// ending) and its 1-based number. It stops only on a read error.
func forEachLine(r io.Reader, name string, fn func(line []byte, n int)) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(line)) > 0 {
				fn(line, n)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// object is one JSON object line with its fields kept raw.
type object map[string]json.RawMessage

// decodeObject parses a line holding exactly one JSON object. It refuses
// duplicate keys, which encoding/json would accept silently, and trailing data.
func decodeObject(line []byte) (object, error) {
	if !utf8.Valid(line) {
		return nil, errors.New("not valid UTF-8")
	}
	// Fast path: a valid object whose key count matches the text.
	var obj object
	if err := json.Unmarshal(line, &obj); err == nil && obj != nil && topLevelKeys(line) == len(obj) {
		return obj, nil
	}
	obj, err := decodeObjectTokens(line)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("the line ends inside the JSON object (truncated, or a value split over lines?): %w", err)
	}
	return obj, err
}

// topLevelKeys counts the keys of the valid JSON object in b, duplicates included.
func topLevelKeys(b []byte) int {
	n, depth := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ':' && depth == 1:
			n++
		}
	}
	return n
}

// decodeObjectTokens is decodeObject token by token, to name the problem.
func decodeObjectTokens(line []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, got %s", describeToken(tok))
	}
	obj := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("want a field name, got %s", describeToken(tok))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("field %q: %w", key, err)
		}
		if _, dup := obj[key]; dup {
			return nil, fmt.Errorf("field %q appears twice", key)
		}
		obj[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the object")
	}
	return obj, nil
}

func describeToken(tok any) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}

// unknownFields reports every key of obj not in known, in sorted order.
func (obj object) unknownFields(known []string) []string {
	var out []string
	for k := range obj {
		if !slices.Contains(known, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// str returns the string field key. present is false when the key is absent;
// err is set when the value is not a JSON string.
func (obj object) str(key string) (s string, present bool, err error) {
	raw, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("want a string, got %s", rawKind(raw))
	}
	return s, true, nil
}

func rawKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// required reads a string field that must be present and not blank, adding
// a problem to errs otherwise.
func (obj object) required(errs *lineErrors, n int, key string) string {
	s, present, err := obj.str(key)
	switch {
	case err != nil:
		errs.add(n, key, "%v", err)
	case !present:
		errs.add(n, key, "missing")
	case strings.TrimSpace(s) == "":
		errs.add(n, key, "empty")
	}
	return s
}

// optional reads a string field that may be absent, adding a problem to errs
// when it has the wrong type.
func (obj object) optional(errs *lineErrors, n int, key string) string {
	s, _, err := obj.str(key)
	if err != nil {
		errs.add(n, key, "%v", err)
	}
	return s
}
