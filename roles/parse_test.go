package roles_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func TestParseYAML(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		names []string // the roles parsed, in order
		lines []int
		check func(t *testing.T, got []roles.Located)
	}{
		{
			name: "one role",
			in: `name: A
domain: code
kind: planner
system_prompt: You plan.
output_format: One python block.
`,
			names: []string{"A"},
			lines: []int{1},
			check: func(t *testing.T, got []roles.Located) {
				assert.Equal(t, roles.Role{Name: "A", Domain: tasks.DomainCode, Kind: roles.KindPlanner, SystemPrompt: "You plan.", OutputFormat: "One python block."}, got[0].Role)
			},
		},
		{
			name: "several documents, empty ones skipped",
			in: `---
name: A
domain: code
kind: solver
system_prompt: You solve.
output_format: One python block.
---
- name: B
  domain: math
  kind: critic
  system_prompt: You critique.
  output_format: \boxed{}
---
`,
			names: []string{"A", "B"},
			lines: []int{2, 8},
		},
		{
			name: "same name in two domains",
			in: `- {name: A, domain: code, kind: solver, system_prompt: S, output_format: O}
- {name: A, domain: math, kind: solver, system_prompt: S, output_format: O}
`,
			names: []string{"A", "A"},
			lines: []int{1, 2},
		},
		{
			name: "anchors, aliases and merge keys",
			in: `- &base
  name: A
  domain: math
  kind: solver
  system_prompt: You solve.
  output_format: &boxed End with \boxed{}.
  expertise: [algebra]
- <<: *base
  name: B
  expertise: [geometry]
- name: C
  <<: [*base, {kind: critic, description: from the second source}]
  kind: verifier
  output_format: *boxed
`,
			names: []string{"A", "B", "C"},
			lines: []int{1, 8, 11}, // An anchored node starts at its anchor.
			check: func(t *testing.T, got []roles.Located) {
				b := got[1].Role
				assert.Equal(t, roles.KindSolver, b.Kind, "merged from A")
				assert.Equal(t, "You solve.", b.SystemPrompt)
				assert.Equal(t, []string{"geometry"}, b.Expertise, "explicit key wins over merged")
				c := got[2].Role
				assert.Equal(t, roles.KindVerifier, c.Kind, "explicit key wins over merged")
				assert.Equal(t, "from the second source", c.Description, "later merge sources fill gaps")
				assert.Equal(t, `End with \boxed{}.`, c.OutputFormat)
				assert.Equal(t, []string{"algebra"}, c.Expertise, "earlier merge source wins")
			},
		},
		{
			name: "self-merge terminates",
			in: `&a
name: A
domain: math
kind: solver
system_prompt: S
output_format: O
<<: *a
`,
			names: []string{"A"},
			lines: []int{1},
		},
		{
			name:  "scalar name is text",
			in:    "{name: 42, domain: math, kind: solver, system_prompt: S, output_format: O}",
			names: []string{"42"},
			lines: []int{1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := roles.ParseYAML("f.yaml", []byte(tc.in))
			require.NoError(t, err)
			var names []string
			var lines []int
			for _, l := range got {
				names = append(names, l.Name)
				lines = append(lines, l.Line)
				assert.NoError(t, l.Validate())
			}
			assert.Equal(t, tc.names, names)
			assert.Equal(t, tc.lines, lines)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestParseYAMLErrors(t *testing.T) {
	const ok = "domain: math\nkind: solver\nsystem_prompt: S\noutput_format: O\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "f.yaml:1: no roles in file"},
		{"only a separator", "---\n", "f.yaml:1: no roles in file"},
		{"empty list", "[]\n", "f.yaml:1: no roles in file"},
		{"list of strings", "- a\n- b\n", `f.yaml:1: want a role (a mapping of fields), found the value "a"`},
		{"null list item", "- name: A\n  " + strings.ReplaceAll(ok, "\n", "\n  ") + "\n- ~\n", "f.yaml:7: want a role (a mapping of fields), found nothing"},
		{"non-string key", "? [a]\n: b\n", "f.yaml:1: field names must be strings, found a list"},
		{"merge of a scalar", "name: A\n<<: x\n" + ok, "f.yaml:2: merge key: want a mapping or a list of mappings"},
		{"merge of a list of scalars", "name: A\n<<: [x]\n" + ok, `f.yaml:2: merge key: want mappings to merge, found the value "x"`},
		{"unknown anchor", "name: A\ndomain: *nowhere\n", "f.yaml:2: yaml syntax: unknown anchor 'nowhere' referenced"},
		{"first-line syntax error", "name: [\n", "f.yaml:"},
		{"control character", "name: A\x01\n", "f.yaml:1: character U+0001 is not allowed in YAML"},
		{"duplicate role", "- {name: A, " + "domain: math, kind: solver, system_prompt: S, output_format: O}\n- {name: A, domain: math, kind: critic, system_prompt: S, output_format: O}\n",
			`f.yaml:2: role "A" in domain "math": field name: already defined at line 1`},
		{"missing name", ok, "f.yaml:1: field name: missing or empty"},
		{"name is a list", "name: [a]\n" + ok, "f.yaml:1: field name: cannot unmarshal !!seq into string"},
		{"keyword is a mapping", "name: A\n" + ok + "expertise:\n  - algebra\n  - {a: b}\n", "f.yaml:8: field expertise: cannot unmarshal !!map into string"},
		{"alias bomb", aliasBomb(), "f.yaml:2114: aliases expand to more than 64 times the size of the file"},
		{"empty keyword", "name: A\n" + ok + "expertise: [a, '']\n", `f.yaml:6: role "A": field expertise: entry 2 is empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := roles.ParseYAML("f.yaml", []byte(tc.in))
			require.Error(t, err, "parsed %+v", got)
			assert.Contains(t, err.Error(), "roles: "+tc.want)
		})
	}
}

// aliasBomb returns a file whose roles all alias one long keyword list, so
// the decoded roles are far larger than the file.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("- &base\n  name: R0\n  domain: math\n  kind: solver\n  system_prompt: S\n  output_format: O\n  expertise:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "    - keyword%d\n", i)
	}
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, "- {<<: *base, name: R%d}\n", i)
	}
	return b.String()
}

func FuzzParseYAML(f *testing.F) {
	for _, name := range []string{"math.yaml", "commonsense.yaml", "code.yaml"} {
		data, err := os.ReadFile(filepath.Join("profiles", name))
		require.NoError(f, err)
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"---\n",
		"name: A\ndomain: math\nkind: solver\nsystem_prompt: S\noutput_format: O\n",
		"- &a {name: A, domain: code, kind: critic, system_prompt: S, output_format: O}\n- <<: *a\n  name: B\n",
		"&a {<<: *a}\n",
		"- [a, b]\n- {x: 1}\n",
		"name: [\n",
		"? [a]\n: b\n",
		"a: &x [*x]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := roles.ParseYAML("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "roles: fuzz.yaml:") {
				t.Fatalf("error does not name the file and line: %v", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no error and no roles")
		}
		seen := map[string]bool{}
		for _, l := range got {
			if err := l.Validate(); err != nil {
				t.Fatalf("returned an invalid role: %v", err)
			}
			if l.Line < 1 {
				t.Fatalf("role %q has line %d", l.Name, l.Line)
			}
			key := string(l.Domain) + "\x00" + l.Name
			if seen[key] {
				t.Fatalf("role %q returned twice", l.Name)
			}
			seen[key] = true
		}
	})
}

func BenchmarkParseYAML(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("profiles", "commonsense.yaml"))
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := roles.ParseYAML("commonsense.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := roles.Default(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	r, err := roles.Default()
	require.NoError(b, err)
	names := r.Names(tasks.DomainCommonsense)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.Get(tasks.DomainCommonsense, names[i%len(names)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
