package tasks

import (
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// data holds the shipped benchmark files; see data/README.md for sources and licences.
//
//go:embed data/gsm8k/*.jsonl data/math/*.jsonl data/mmlu/data/dev/*.csv data/mmlu/data/test/*.csv
//go:embed data/humaneval/HumanEval.jsonl.gz data/mbpp/mbpp.jsonl
var data embed.FS

// benchmarkSplits lists each shipped benchmark's splits. It is read-only.
var benchmarkSplits = map[string][]string{
	"gsm8k":     {"test", "train"},
	"humaneval": {"test"},
	"math":      {"test"},
	"math500":   {"test"},
	"mbpp":      {"prompt", "test", "train", "validation"},
	"mmlu":      {"dev", "test"},
}

// Benchmarks lists the shipped benchmarks, sorted: gsm8k, humaneval, math,
// math500, mbpp, mmlu.
func Benchmarks() []string {
	names := make([]string, 0, len(benchmarkSplits))
	for n := range benchmarkSplits {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Splits lists the splits of a shipped benchmark, or nil if there is no such benchmark.
func Splits(benchmark string) []string {
	return slices.Clone(benchmarkSplits[benchmark])
}

// Load reads one split of a shipped benchmark: gsm8k "test" (1,319) or
// "train" (7,473); mmlu "dev" (285) or "test" (14,042); math "test" (the
// full 5,000-problem MATH test set); math500 "test" (MATH-500); humaneval
// "test" (164); mbpp "test" (500, task_id 11-510), "train" (374, 601-974),
// "validation" (90, 511-600) or "prompt" (10, 1-10). Tasks come in file
// order (MMLU: subjects sorted, rows in file order). Code tasks are scored
// by running their tests with python3 (see DefaultRunner).
func Load(benchmark, split string) ([]*Task, error) {
	splits, ok := benchmarkSplits[benchmark]
	if !ok {
		return nil, fmt.Errorf("unknown benchmark %q (want one of %s)", benchmark, strings.Join(Benchmarks(), ", "))
	}
	if !slices.Contains(splits, split) {
		return nil, fmt.Errorf("benchmark %s has no split %q (want one of %s)", benchmark, split, strings.Join(splits, ", "))
	}
	switch benchmark {
	case "gsm8k":
		name := "data/gsm8k/" + split + ".jsonl"
		f, err := data.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load gsm8k: %w", err)
		}
		defer f.Close()
		return ParseGSM8K(f, name, split)
	case "math", "math500":
		name := "data/math/math_test_full.jsonl"
		if benchmark == "math500" {
			name = "data/math/math500_test.jsonl"
		}
		f, err := data.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", benchmark, err)
		}
		defer f.Close()
		return ParseMATH(f, name, benchmark)
	case "humaneval":
		name := "data/humaneval/HumanEval.jsonl.gz"
		f, err := data.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load humaneval: %w", err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("load humaneval: %s: %w", name, err)
		}
		defer zr.Close()
		return ParseHumanEval(zr, name)
	case "mbpp":
		name := "data/mbpp/mbpp.jsonl"
		f, err := data.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load mbpp: %w", err)
		}
		defer f.Close()
		return ParseMBPP(f, name, split)
	default: // mmlu
		return LoadMMLU(split)
	}
}

// MMLUSubjects lists the 57 MMLU subjects, sorted.
func MMLUSubjects() []string {
	entries, err := fs.ReadDir(data, "data/mmlu/data/test")
	if err != nil {
		panic(fmt.Sprintf("tasks: embedded MMLU data missing: %v", err)) // the embed directive guarantees it
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), "_test.csv"))
	}
	slices.Sort(out)
	return out
}

// LoadMMLU reads one MMLU split ("dev" or "test") for the given subjects, in
// the order given, or for every subject (sorted) when none are named.
func LoadMMLU(split string, subjects ...string) ([]*Task, error) {
	if !slices.Contains(benchmarkSplits["mmlu"], split) {
		return nil, fmt.Errorf("benchmark mmlu has no split %q (want one of dev, test)", split)
	}
	all := MMLUSubjects()
	if len(subjects) == 0 {
		subjects = all
	}
	var errs []error
	seen := map[string]bool{}
	for _, s := range subjects {
		if !slices.Contains(all, s) {
			errs = append(errs, fmt.Errorf("unknown MMLU subject %q (want one of %s)", s, strings.Join(all, ", ")))
		} else if seen[s] {
			errs = append(errs, fmt.Errorf("MMLU subject %q named twice", s))
		}
		seen[s] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var out []*Task
	for _, s := range subjects {
		name := path.Join("data/mmlu/data", split, s+"_"+split+".csv")
		f, err := data.Open(name)
		if err != nil {
			return nil, fmt.Errorf("load mmlu: %w", err)
		}
		ts, err := ParseMMLU(f, name, s, split)
		f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, ts...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
