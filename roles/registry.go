package roles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	list, err := loadFS(embedded, "profiles", func(p string) string { return "embedded:" + p })
	if err != nil {
		return nil, err
	}
	r := &Registry{}
	if err := r.addAll(list); err != nil {
		return nil, err
	}
	return r, nil
}

// Add registers a role after validating it; a role of the same domain and
// name is replaced, so users can override the embedded profiles.
func (r *Registry) Add(role Role) error {
	if err := role.Validate(); err != nil {
		return fmt.Errorf("roles: add: %w", err)
	}
	r.put(role)
	return nil
}

// put registers a valid role, replacing one of the same domain and name.
func (r *Registry) put(role Role) {
	if r.byDomain == nil {
		r.byDomain = make(map[tasks.Domain][]Role)
	}
	role.Expertise = cloneStrings(role.Expertise)
	list := r.byDomain[role.Domain]
	for i := range list {
		if list[i].Name == role.Name {
			list[i] = role
			return
		}
	}
	r.byDomain[role.Domain] = append(list, role)
}

// addAll adds every role or none: on an error the registry is unchanged.
func (r *Registry) addAll(list []sourced) error {
	staged := &Registry{byDomain: make(map[tasks.Domain][]Role, len(r.byDomain)+1)}
	for d, roles := range r.byDomain {
		staged.byDomain[d] = append([]Role(nil), roles...)
	}
	for _, s := range list {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("roles: %s:%d: %w", s.file, s.Line, err)
		}
		staged.put(s.Role)
	}
	r.byDomain = staged.byDomain
	return nil
}

// Get returns the role called name in domain d.
func (r *Registry) Get(d tasks.Domain, name string) (Role, error) {
	for _, role := range r.byDomain[d] {
		if role.Name == name {
			role.Expertise = cloneStrings(role.Expertise)
			return role, nil
		}
	}
	if len(r.byDomain[d]) == 0 {
		return Role{}, fmt.Errorf("%w %q in domain %q (the domain has no roles)", ErrUnknownRole, name, d)
	}
	return Role{}, fmt.Errorf("%w %q in domain %q (it has: %s)", ErrUnknownRole, name, d, strings.Join(r.Names(d), ", "))
}

// Domain returns the roles of domain d in registration order. The roles are
// copies: changing them does not change the registry.
func (r *Registry) Domain(d tasks.Domain) []Role {
	list := r.byDomain[d]
	if len(list) == 0 {
		return nil
	}
	out := make([]Role, len(list))
	for i, role := range list {
		role.Expertise = cloneStrings(role.Expertise)
		out[i] = role
	}
	return out
}

// Names returns the names of the roles of domain d in registration order.
func (r *Registry) Names(d tasks.Domain) []string {
	list := r.byDomain[d]
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, role := range list {
		out[i] = role.Name
	}
	return out
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
// registry, in lexical order of path. Each file holds one role or a YAML
// list of roles; a role replaces a registered role of the same domain and
// name. Nothing is added if any file is invalid or two files define the same
// role; the error names the file, the line and the field.
func (r *Registry) LoadDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("roles: load %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("roles: load %s: not a directory", dir)
	}
	list, err := loadFS(os.DirFS(dir), ".", func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) })
	if err != nil {
		return err
	}
	return r.addAll(list)
}

// sourced is a parsed role with the file it came from.
type sourced struct {
	Located
	file string
}

// loadFS parses every YAML file under root in fsys, in lexical order of
// path. label turns a path in fsys into the file name errors show.
func loadFS(fsys fs.FS, root string, label func(string) string) ([]sourced, error) {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("roles: read %s: %w", label(p), err)
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("roles: load %s: no .yaml or .yml files", label(root))
	}
	sort.Strings(files)
	var out []sourced
	first := make(map[roleKey]sourced)
	for _, f := range files {
		name := label(f)
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("roles: read %s: %w", name, err)
		}
		list, err := ParseYAML(name, data)
		if err != nil {
			return nil, err
		}
		for _, l := range list {
			s := sourced{Located: l, file: name}
			k := roleKey{l.Domain, l.Name}
			if prev, dup := first[k]; dup && prev.file != name {
				return nil, fmt.Errorf("roles: %s:%d: role %q in domain %q: field name: already defined at %s:%d", name, l.Line, l.Name, l.Domain, prev.file, prev.Line)
			}
			first[k] = s
			out = append(out, s)
		}
	}
	return out, nil
}
