package tasks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// jsonlFields are the fields of a user task line.
var jsonlFields = []string{"id", "query", "gold", "scorer", "domain", "benchmark", "solution", "meta"}

// LoadJSONL reads user tasks from the JSON Lines file at path; see ReadJSONL.
func LoadJSONL(path string) ([]*Task, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load tasks: %w", err)
	}
	defer f.Close()
	return ReadJSONL(f, path)
}

// ReadJSONL reads user tasks, one JSON object per line, from r:
//
//	{"id": "capital-fr", "query": "What is the capital of France?", "gold": "Paris",
//	 "scorer": "exact", "domain": "commonsense"}
//
// id, query, gold, scorer (a name from ScorerNames) and domain (math,
// commonsense or code) are required; the domain is not guessed because it
// chooses the roles that work on the task. benchmark (default: name's base
// name without extension), solution and meta (an object of strings) are
// optional. The gold must be an answer its scorer can compare (a number for
// gsm8k, a letter A–D for mmlu). Blank lines are skipped; unknown fields and
// repeated ids are errors. Every bad line is reported, as
// "name:line: field: problem", and then no task is returned.
func ReadJSONL(r io.Reader, name string) ([]*Task, error) {
	defaultBench := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	errs := &lineErrors{file: name}
	seen := map[string]int{}
	var out []*Task
	err := forEachLine(r, name, func(line []byte, n int) {
		obj, err := decodeObject(line)
		if err != nil {
			errs.add(n, "json", "%v", err)
			return
		}
		before := len(errs.errs)
		for _, k := range obj.unknownFields(jsonlFields) {
			errs.add(n, k, "unknown field (want %s)", strings.Join(jsonlFields, ", "))
		}
		t := &Task{
			ID:        obj.required(errs, n, "id"),
			Query:     obj.required(errs, n, "query"),
			Gold:      obj.required(errs, n, "gold"),
			Solution:  obj.optional(errs, n, "solution"),
			Benchmark: defaultBench,
		}
		if b, present, err := obj.str("benchmark"); err != nil {
			errs.add(n, "benchmark", "%v", err)
		} else if present {
			if strings.TrimSpace(b) == "" {
				errs.add(n, "benchmark", "empty (leave it out for the default %q)", defaultBench)
			}
			t.Benchmark = b
		}
		if d := obj.required(errs, n, "domain"); d != "" {
			dom, err := ParseDomain(d)
			if err != nil {
				errs.add(n, "domain", "%v", err)
			}
			t.Domain = dom
		}
		if s := obj.required(errs, n, "scorer"); s != "" {
			sc, err := ScorerByName(s)
			if err != nil {
				errs.add(n, "scorer", "%v", err)
			} else if strings.TrimSpace(t.Gold) != "" && !sc.Equivalent(t.Gold, t.Gold) {
				errs.add(n, "gold", "%q is not an answer the %s scorer can compare", t.Gold, s)
			}
			t.Scorer = sc
		}
		if raw, ok := obj["meta"]; ok {
			t.Meta = readMeta(errs, n, raw)
		}
		if t.ID != "" {
			if prev, dup := seen[t.ID]; dup {
				errs.add(n, "id", "%q already used on line %d", t.ID, prev)
			} else {
				seen[t.ID] = n
			}
		}
		if len(errs.errs) == before {
			out = append(out, t)
		}
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

// readMeta decodes the meta object, whose values must all be strings.
func readMeta(errs *lineErrors, n int, raw json.RawMessage) map[string]string {
	obj, err := decodeObject(raw)
	if err != nil {
		errs.add(n, "meta", "%v", err)
		return nil
	}
	meta := make(map[string]string, len(obj))
	for _, k := range obj.unknownFields(nil) { // every key, sorted
		v, _, err := obj.str(k)
		if err != nil {
			errs.add(n, "meta", "key %q: %v", k, err)
			continue
		}
		meta[k] = v
	}
	return meta
}
