package roles_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func validRole() roles.Role {
	return roles.Role{
		Name:         "Units Checker",
		Domain:       tasks.DomainMath,
		Kind:         roles.KindVerifier,
		Description:  "Checks units.",
		SystemPrompt: "You check units.",
		OutputFormat: `End with \boxed{}.`,
		Expertise:    []string{"units"},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*roles.Role)
		field  string // empty: valid
		reason string
	}{
		{"valid", func(*roles.Role) {}, "", ""},
		{"no expertise is fine", func(r *roles.Role) { r.Expertise = nil }, "", ""},
		{"no description is fine", func(r *roles.Role) { r.Description = "" }, "", ""},
		{"empty name", func(r *roles.Role) { r.Name = " " }, "name", "missing"},
		{"padded name", func(r *roles.Role) { r.Name = "Checker " }, "name", "white space"},
		{"name with line break", func(r *roles.Role) { r.Name = "Units\nChecker" }, "name", "line break"},
		{"empty domain", func(r *roles.Role) { r.Domain = "" }, "domain", "missing"},
		{"unknown domain", func(r *roles.Role) { r.Domain = "poetry" }, "domain", `unknown domain "poetry"`},
		{"empty kind", func(r *roles.Role) { r.Kind = "" }, "kind", "missing"},
		{"invalid kind", func(r *roles.Role) { r.Kind = "boss" }, "kind", `"boss" is not one of`},
		{"empty system prompt", func(r *roles.Role) { r.SystemPrompt = "\n" }, "system_prompt", "missing"},
		{"empty output format", func(r *roles.Role) { r.OutputFormat = "" }, "output_format", "missing"},
		{"empty keyword", func(r *roles.Role) { r.Expertise = []string{"units", " "} }, "expertise", "entry 2 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validRole()
			tc.edit(&r)
			err := r.Validate()
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "field "+tc.field+": ")
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
}

func TestAddGetNames(t *testing.T) {
	var r roles.Registry // The zero value is usable.
	assert.Empty(t, r.Domains())
	assert.Nil(t, r.Names(tasks.DomainMath))

	_, err := r.Get(tasks.DomainMath, "Units Checker")
	assert.ErrorIs(t, err, roles.ErrUnknownRole)
	assert.Contains(t, err.Error(), "has no roles")

	a := validRole()
	b := validRole()
	b.Name = "Solver"
	b.Kind = roles.KindSolver
	require.NoError(t, r.Add(a))
	require.NoError(t, r.Add(b))
	assert.Equal(t, []string{"Units Checker", "Solver"}, r.Names(tasks.DomainMath))
	assert.Equal(t, []tasks.Domain{tasks.DomainMath}, r.Domains())

	got, err := r.Get(tasks.DomainMath, "Solver")
	require.NoError(t, err)
	assert.Equal(t, b, got)

	_, err = r.Get(tasks.DomainMath, "Nobody")
	assert.ErrorIs(t, err, roles.ErrUnknownRole)
	assert.Contains(t, err.Error(), "Units Checker, Solver")
	_, err = r.Get(tasks.DomainCode, "Solver")
	assert.ErrorIs(t, err, roles.ErrUnknownRole, "names are per domain")

	// Replacing keeps the position.
	a2 := a
	a2.SystemPrompt = "You check units twice."
	require.NoError(t, r.Add(a2))
	assert.Equal(t, []string{"Units Checker", "Solver"}, r.Names(tasks.DomainMath))
	got, err = r.Get(tasks.DomainMath, "Units Checker")
	require.NoError(t, err)
	assert.Equal(t, a2.SystemPrompt, got.SystemPrompt)

	// An invalid role is refused and changes nothing.
	bad := validRole()
	bad.Kind = "boss"
	err = r.Add(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field kind")
	got, err = r.Get(tasks.DomainMath, "Units Checker")
	require.NoError(t, err)
	assert.Equal(t, roles.KindVerifier, got.Kind)
}

func TestReadsAreCopies(t *testing.T) {
	var r roles.Registry
	in := validRole()
	require.NoError(t, r.Add(in))
	in.Expertise[0] = "changed by caller"

	got, err := r.Get(tasks.DomainMath, in.Name)
	require.NoError(t, err)
	assert.Equal(t, []string{"units"}, got.Expertise, "Add must copy the caller's slice")
	got.Expertise[0] = "changed"
	list := r.Domain(tasks.DomainMath)
	assert.Equal(t, []string{"units"}, list[0].Expertise, "Get must return a copy")
	list[0].Expertise[0] = "changed"
	list[0].Name = "changed"
	again, err := r.Get(tasks.DomainMath, in.Name)
	require.NoError(t, err)
	assert.Equal(t, []string{"units"}, again.Expertise, "Domain must return copies")
	names := r.Names(tasks.DomainMath)
	names[0] = "changed"
	assert.Equal(t, []string{in.Name}, r.Names(tasks.DomainMath))
}

// writeFiles creates files (relative path to content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// snapshot records every role of a registry, in order.
func snapshot(r *roles.Registry) map[tasks.Domain][]roles.Role {
	out := map[tasks.Domain][]roles.Role{}
	for _, d := range r.Domains() {
		out[d] = r.Domain(d)
	}
	return out
}

func TestLoadDirGood(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a_override.yaml": `
name: Math Solver
domain: math
kind: solver
description: A house solver.
system_prompt: You are our house solver.
output_format: End with \boxed{}.
`,
		"nested/code.yml": `
- name: Regex Expert
  domain: code
  kind: solver
  system_prompt: You write regular expressions.
  output_format: Return one python block.
  expertise: [regex]
- name: Style Critic
  domain: code
  kind: critic
  system_prompt: You critique style.
  output_format: Return one python block.
`,
		"README.txt": "not a role file: ignored",
	})
	r, err := roles.Default()
	require.NoError(t, err)
	mathBefore := r.Names(tasks.DomainMath)
	codeBefore := r.Names(tasks.DomainCode)
	commonsenseBefore := snapshot(r)[tasks.DomainCommonsense]

	require.NoError(t, r.LoadDir(dir))

	got, err := r.Get(tasks.DomainMath, "Math Solver")
	require.NoError(t, err)
	assert.Equal(t, "You are our house solver.", got.SystemPrompt)
	assert.Equal(t, "A house solver.", got.Description)
	assert.Equal(t, mathBefore, r.Names(tasks.DomainMath), "an override keeps its place")
	assert.Equal(t, append(codeBefore, "Regex Expert", "Style Critic"), r.Names(tasks.DomainCode))
	regex, err := r.Get(tasks.DomainCode, "Regex Expert")
	require.NoError(t, err)
	assert.Equal(t, []string{"regex"}, regex.Expertise)
	assert.Equal(t, commonsenseBefore, r.Domain(tasks.DomainCommonsense))
}

func TestLoadDirBad(t *testing.T) {
	const good = `
- name: Fine
  domain: math
  kind: solver
  system_prompt: You are fine.
  output_format: End with \boxed{}.
`
	notDir := filepath.Join(t.TempDir(), "file.yaml")
	require.NoError(t, os.WriteFile(notDir, []byte(good), 0o644))

	for _, tc := range []struct {
		name  string
		files map[string]string // nil: dir is path
		path  string
		file  string   // the file the error must name, relative to dir
		also  string   // another file:line the error must name, relative to dir
		want  []string // substrings the error must contain; ":..." follows the file name
	}{
		{
			name: "yaml syntax error",
			files: map[string]string{"a.yaml": good, "b.yaml": `
- name: Broken
  domain: math
  kind: [solver
  system_prompt: You are broken.
`},
			file: "b.yaml",
			want: []string{":4: yaml syntax: did not find expected ',' or ']'"},
		},
		{
			name: "bad indentation",
			files: map[string]string{"b.yaml": `name: Broken
domain: math
  kind: solver
`},
			file: "b.yaml",
			want: []string{":3: yaml syntax: mapping values are not allowed"},
		},
		{
			name: "unknown field",
			files: map[string]string{"b.yaml": good + `
- name: Typo
  domain: math
  kind: solver
  systm_prompt: You cannot spell.
  output_format: End with \boxed{}.
`},
			file: "b.yaml",
			want: []string{`:11: field "systm_prompt": unknown (want one of name, domain, kind, description, system_prompt, output_format, expertise)`},
		},
		{
			name: "missing system_prompt",
			files: map[string]string{"b.yaml": good + `
- name: Silent
  domain: math
  kind: solver
  output_format: End with \boxed{}.
`},
			file: "b.yaml",
			want: []string{`:8: role "Silent": field system_prompt: missing or empty`},
		},
		{
			name: "invalid kind",
			files: map[string]string{"b.yaml": `name: Boss
domain: math

kind: boss
system_prompt: You are the boss.
output_format: End with \boxed{}.
`},
			file: "b.yaml",
			want: []string{`:4: role "Boss": field kind: "boss" is not one of solver, planner, critic, verifier`},
		},
		{
			name: "unknown domain",
			files: map[string]string{"sub/b.yml": `name: Poet
domain: poetry
kind: solver
system_prompt: You write poems.
output_format: A poem.
`},
			file: "sub/b.yml",
			want: []string{`:2: role "Poet": field domain: unknown domain "poetry" (want one of math, commonsense, code)`},
		},
		{
			name: "wrong type",
			files: map[string]string{"b.yaml": good + `
- name: Typed
  domain: math
  kind: solver
  system_prompt: You are typed.
  output_format: End with \boxed{}.
  expertise: 5
`},
			file: "b.yaml",
			want: []string{":13: field expertise: cannot unmarshal !!int `5` into []string"},
		},
		{
			name: "repeated field",
			files: map[string]string{"b.yaml": `name: Twice
domain: math
kind: solver
kind: critic
system_prompt: You say it twice.
output_format: End with \boxed{}.
`},
			file: "b.yaml",
			want: []string{":4: field kind: repeated (first at line 3)"},
		},
		{
			name:  "role defined in two files",
			files: map[string]string{"a.yaml": good, "b.yaml": good},
			file:  "b.yaml",
			also:  "a.yaml:2",
			want:  []string{`:2: role "Fine" in domain "math": field name: already defined at `},
		},
		{
			name:  "empty file",
			files: map[string]string{"a.yaml": good, "b.yaml": "# nothing here\n"},
			file:  "b.yaml",
			want:  []string{":1: no roles in file"},
		},
		{
			name:  "not a role",
			files: map[string]string{"b.yaml": "\n\njust a string\n"},
			file:  "b.yaml",
			want:  []string{`:3: want a role (a mapping of fields) or a list of roles, found the value "just a string"`},
		},
		{
			name:  "invalid utf-8",
			files: map[string]string{"b.yaml": "name: Fine\ndescription: caf\xe9\n"},
			file:  "b.yaml",
			want:  []string{":2: invalid UTF-8"},
		},
		{
			name:  "empty folder",
			files: map[string]string{"notes.txt": "no yaml here"},
			want:  []string{": no .yaml or .yml files"},
		},
		{
			name: "missing folder",
			path: filepath.Join(t.TempDir(), "missing"),
			want: []string{"no such file or directory"},
		},
		{
			name: "not a folder",
			path: notDir,
			want: []string{": not a directory"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.path
			if tc.files != nil {
				dir = writeFiles(t, tc.files)
			}
			r, err := roles.Default()
			require.NoError(t, err)
			before := snapshot(r)

			err = r.LoadDir(dir)
			require.Error(t, err)
			msg := err.Error()
			named := dir
			if tc.file != "" {
				named = filepath.Join(dir, filepath.FromSlash(tc.file))
			}
			assert.Contains(t, msg, named, "error must name the file")
			if tc.also != "" {
				assert.Contains(t, msg, filepath.Join(dir, filepath.FromSlash(tc.also)))
			}
			for _, w := range tc.want {
				if strings.HasPrefix(w, ":") {
					w = named + w // a position in the named file
				}
				assert.Contains(t, msg, w)
			}
			if tc.name == "missing folder" {
				assert.True(t, errors.Is(err, fs.ErrNotExist), "errors.Is(err, fs.ErrNotExist)")
			}
			assert.Equal(t, before, snapshot(r), "a failed load must leave the registry unchanged")
		})
	}
}
