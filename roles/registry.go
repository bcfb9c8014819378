package roles

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/masrouter/masrouter/tasks"
)

//go:embed profiles
var embedded embed.FS

// ErrUnknownRole is returned when a domain has no role of the requested name.
var ErrUnknownRole = errors.New("unknown role")

// Registry maps each domain to its roles. The zero value is empty; use
// Default for the embedded profiles. A Registry is not safe for concurrent
// mutation, but concurrent reads are fine once loading is done.
type Registry struct {
	byDomain map[tasks.Domain][]Role
}

// Default returns a registry holding the embedded profiles of every domain.
func Default() (*Registry, error) {
	r := &Registry{}
	if err := r.loadFS(embedded, "profiles", "embedded:"); err != nil {
		return nil, err
	}
	return r, nil
}

// Add registers a role after validating it; a role of the same domain and
// name is replaced, so users can override the embedded profiles.
func (r *Registry) Add(role Role) error {
	if err := role.Validate(); err != nil {
		return err
	}
	if r.byDomain == nil {
		r.byDomain = make(map[tasks.Domain][]Role)
	}
	list := r.byDomain[role.Domain]
	for i := range list {
		if list[i].Name == role.Name {
			list[i] = role
			return nil
		}
	}
	r.byDomain[role.Domain] = append(list, role)
	return nil
}

// Validate reports the first missing or invalid field of a role.
func (r Role) Validate() error {
	switch {
	case strings.TrimSpace(r.Name) == "":
		return errors.New("field name: empty")
	case r.Domain == "":
		return fmt.Errorf("role %q: field domain: empty", r.Name)
	case strings.TrimSpace(r.SystemPrompt) == "":
		return fmt.Errorf("role %q: field system_prompt: empty", r.Name)
	case strings.TrimSpace(r.OutputFormat) == "":
		return fmt.Errorf("role %q: field output_format: empty", r.Name)
	}
	switch r.Kind {
	case KindSolver, KindPlanner, KindCritic, KindVerifier:
	default:
		return fmt.Errorf("role %q: field kind: %q is not one of solver, planner, critic, verifier", r.Name, r.Kind)
	}
	return nil
}

// Get returns the role called name in domain d.
func (r *Registry) Get(d tasks.Domain, name string) (Role, error) {
	for _, role := range r.byDomain[d] {
		if role.Name == name {
			return role, nil
		}
	}
	names := make([]string, 0, len(r.byDomain[d]))
	for _, role := range r.byDomain[d] {
		names = append(names, role.Name)
	}
	return Role{}, fmt.Errorf("%w %q in domain %q (it has: %s)", ErrUnknownRole, name, d, strings.Join(names, ", "))
}

// Domain returns the roles of domain d in registration order. The slice is a copy.
func (r *Registry) Domain(d tasks.Domain) []Role {
	return append([]Role(nil), r.byDomain[d]...)
}

// Domains returns the domains that have at least one role, sorted.
func (r *Registry) Domains() []tasks.Domain {
	out := make([]tasks.Domain, 0, len(r.byDomain))
	for d, list := range r.byDomain {
		if len(list) > 0 {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// LoadDir adds every *.yaml or *.yml file under dir (recursively) to the
// registry. Each file holds one role or a YAML list of roles. Nothing is
// added if any file is invalid; the error names the file, line and field.
func (r *Registry) LoadDir(dir string) error {
	staged := &Registry{}
	if err := staged.loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator)); err != nil {
		return err
	}
	for _, d := range staged.Domains() {
		for _, role := range staged.byDomain[d] {
			if err := r.Add(role); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Registry) loadFS(fsys fs.FS, root, label string) error {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("roles: read %s: %w", label, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("roles: no .yaml files in %s", label)
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("roles: %w", err)
		}
		name := label + strings.TrimPrefix(path.Clean(f), "./")
		if label == "embedded:" {
			name = "embedded:" + f
		}
		list, err := ParseYAML(name, data)
		if err != nil {
			return err
		}
		for _, role := range list {
			if err := r.Add(role.Role); err != nil {
				return fmt.Errorf("roles: %s:%d: %w", name, role.Line, err)
			}
		}
	}
	return nil
}

// Located is a parsed role with the line of the file it starts on.
type Located struct {
	Role
	Line int
}

// ParseYAML decodes one role or a list of roles from data. Unknown fields are
// errors, so a typo in a field name is reported with its line rather than
// silently ignored. name labels errors.
func ParseYAML(name string, data []byte) ([]Located, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("roles: %s: %w", name, err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("roles: %s: empty file", name)
	}
	doc := root.Content[0]
	var nodes []*yaml.Node
	switch doc.Kind {
	case yaml.SequenceNode:
		nodes = doc.Content
	case yaml.MappingNode:
		nodes = []*yaml.Node{doc}
	default:
		return nil, fmt.Errorf("roles: %s:%d: want a role mapping or a list of roles", name, doc.Line)
	}
	out := make([]Located, 0, len(nodes))
	for _, n := range nodes {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(n); err != nil {
			return nil, fmt.Errorf("roles: %s:%d: %w", name, n.Line, err)
		}
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		var role Role
		if err := dec.Decode(&role); err != nil {
			return nil, fmt.Errorf("roles: %s:%d: %v", name, n.Line, err)
		}
		out = append(out, Located{Role: role, Line: n.Line})
	}
	return out, nil
}
