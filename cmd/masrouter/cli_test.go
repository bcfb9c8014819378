package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/agents/sim"
)

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with args.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCLIContext(t.Context(), args...)
}

func runCLIContext(ctx context.Context, args ...string) result {
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// inTempDir makes a fresh temporary directory the working directory for the
// rest of the test and returns it, so default report paths land there and
// the test can check that nothing else was written. Such tests run one at a
// time.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// parallelDir marks t parallel and returns a fresh temporary directory for
// its files. The working directory is shared, so such tests pass every path
// explicitly (absolute) and never rely on bench's default report path;
// parallel tests start only after the inTempDir ones have restored it.
func parallelDir(t *testing.T) string {
	t.Helper()
	t.Parallel()
	return t.TempDir()
}

// listDir returns every path under dir, relative and sorted, hidden files
// (such as a left-over temporary report) included.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	slices.Sort(out)
	return out
}

// writeFile writes data to dir/name, creating folders as needed.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	return p
}

// readReport decodes a bench report, refusing fields the report type lacks,
// and returns it with its results array exactly as written.
func readReport(t *testing.T, path string) (benchReport, json.RawMessage) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rep benchReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), "report %s", path)
	var raw struct {
		Results json.RawMessage `json:"results"`
	}
	require.NoError(t, json.Unmarshal(data, &raw))
	require.NotEmpty(t, raw.Results)
	return rep, raw.Results
}

// simModels returns the simulated catalog's model names, in pool order.
func simModels(t *testing.T) []string {
	t.Helper()
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	var names []string
	for _, m := range cat.Models {
		names = append(names, m.Name)
	}
	return names
}

// allMethods returns every method bench runs by default, in its order.
func allMethods(t *testing.T) []string {
	t.Helper()
	out := []string{"masrouter", "static-delegation", "random"}
	for _, m := range simModels(t) {
		out = append(out, "single/"+m+"/IO", "single/"+m+"/CoT")
	}
	return out
}
