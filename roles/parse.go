package roles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/masrouter/masrouter/tasks"
)

// Located is a parsed role with the line of the file it starts on.
type Located struct {
	Role
	Line int
}

// roleKey identifies a role: names are unique within a domain.
type roleKey struct {
	domain tasks.Domain
	name   string
}

// fieldNames lists the YAML keys of Role in declaration order.
var fieldNames = []string{"name", "domain", "kind", "description", "system_prompt", "output_format", "expertise"}

// field returns a pointer to the field of r stored under the YAML key, or
// nil if no field has that key.
func field(r *Role, key string) any {
	switch key {
	case "name":
		return &r.Name
	case "domain":
		return &r.Domain
	case "kind":
		return &r.Kind
	case "description":
		return &r.Description
	case "system_prompt":
		return &r.SystemPrompt
	case "output_format":
		return &r.OutputFormat
	case "expertise":
		return &r.Expertise
	}
	return nil
}

// ParseYAML decodes and validates the roles in data, which must be UTF-8.
// Each YAML document holds one role or a list of roles; anchors, aliases and
// merge keys ("<<") work as usual. Unknown, repeated, mistyped and invalid fields are errors, as is a
// role defined twice, so nothing is silently ignored. Every error names the
// file (labelled name), the line and, where there is one, the field.
func ParseYAML(name string, data []byte) ([]Located, error) {
	if err := checkText(name, data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Located
	firstLine := make(map[roleKey]int)
	budget := maxExpansion*len(data) + 64<<10 // bytes the roles may decode to
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(name, data, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		top := deref(doc.Content[0])
		var items []*yaml.Node
		switch top.Kind {
		case yaml.SequenceNode:
			items = top.Content
		case yaml.MappingNode:
			items = []*yaml.Node{top}
		case yaml.ScalarNode:
			if top.Tag == "!!null" {
				continue // An empty document, e.g. a trailing "---".
			}
			fallthrough
		default:
			return nil, fmt.Errorf("roles: %s:%d: want a role (a mapping of fields) or a list of roles, found %s", name, top.Line, describe(top))
		}
		for _, item := range items {
			l, err := decodeRole(name, item)
			if err != nil {
				return nil, err
			}
			k := roleKey{l.Domain, l.Name}
			if prev, dup := firstLine[k]; dup {
				return nil, fmt.Errorf("roles: %s:%d: role %q in domain %q: field name: already defined at line %d", name, l.Line, l.Name, l.Domain, prev)
			}
			firstLine[k] = l.Line
			if budget -= l.size(); budget < 0 {
				return nil, fmt.Errorf("roles: %s:%d: aliases expand to more than %d times the size of the file", name, l.Line, maxExpansion)
			}
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("roles: %s:1: no roles in file", name)
	}
	return out, nil
}

// maxExpansion bounds how much larger than its file the decoded roles may
// be, so a file of aliases to aliases cannot exhaust memory. Honest use of
// anchors for shared prompts stays far below it.
const maxExpansion = 64

// size approximates the memory a role holds, in bytes.
func (r Role) size() int {
	n := len(r.Name) + len(r.Domain) + len(r.Kind) + len(r.Description) + len(r.SystemPrompt) + len(r.OutputFormat)
	for _, e := range r.Expertise {
		n += 16 + len(e)
	}
	return n
}

// decodeRole decodes and validates the role in mapping node n.
func decodeRole(name string, item *yaml.Node) (Located, error) {
	n := deref(item)
	if n.Kind != yaml.MappingNode {
		return Located{}, fmt.Errorf("roles: %s:%d: want a role (a mapping of fields), found %s", name, item.Line, describe(n))
	}
	pairs, err := flatten(name, n)
	if err != nil {
		return Located{}, err
	}
	var role Role
	keyLine := make(map[string]int, len(fieldNames))
	for _, p := range pairs {
		k, v := deref(p.key), p.value
		if k.Kind != yaml.ScalarNode {
			return Located{}, fmt.Errorf("roles: %s:%d: field names must be strings, found %s", name, k.Line, describe(k))
		}
		if line, seen := keyLine[k.Value]; seen {
			if p.merged {
				continue // An explicit or earlier merged value wins.
			}
			return Located{}, fmt.Errorf("roles: %s:%d: field %s: repeated (first at line %d)", name, k.Line, k.Value, line)
		}
		dst := field(&role, k.Value)
		if dst == nil {
			return Located{}, fmt.Errorf("roles: %s:%d: field %s: unknown (want one of %s)", name, k.Line, strconv.Quote(k.Value), strings.Join(fieldNames, ", "))
		}
		keyLine[k.Value] = k.Line
		if err := v.Decode(dst); err != nil {
			line, msg := typeErrorLine(err, v.Line)
			return Located{}, fmt.Errorf("roles: %s:%d: field %s: %s", name, line, k.Value, msg)
		}
	}
	if err := role.Validate(); err != nil {
		line := n.Line
		var fe *fieldError
		if errors.As(err, &fe) {
			if l, ok := keyLine[fe.field]; ok {
				line = l
			}
		}
		return Located{}, fmt.Errorf("roles: %s:%d: %w", name, line, err)
	}
	role.Expertise = cloneStrings(role.Expertise)
	return Located{Role: role, Line: n.Line}, nil
}

// pair is one key and value of a mapping; merged marks pairs that came in
// through a merge key rather than being written in the mapping itself.
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// flatten returns the pairs of mapping n: its own pairs first, then those of
// the mappings it merges, in the YAML order of precedence. Each merged
// mapping is expanded once, which bounds the work and breaks alias cycles.
func flatten(name string, n *yaml.Node) ([]pair, error) {
	var own, merged []pair
	expanded := map[*yaml.Node]bool{n: true}
	var expand func(m *yaml.Node, isMerged bool) error
	expand = func(m *yaml.Node, isMerged bool) error {
		var sources []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				v = deref(v)
				switch v.Kind {
				case yaml.MappingNode:
					sources = append(sources, v)
				case yaml.SequenceNode:
					for _, s := range v.Content {
						s = deref(s)
						if s.Kind != yaml.MappingNode {
							return fmt.Errorf("roles: %s:%d: merge key: want mappings to merge, found %s", name, s.Line, describe(s))
						}
						sources = append(sources, s)
					}
				default:
					return fmt.Errorf("roles: %s:%d: merge key: want a mapping or a list of mappings, found %s", name, v.Line, describe(v))
				}
				continue
			}
			if isMerged {
				merged = append(merged, pair{key: k, value: v, merged: true})
			} else {
				own = append(own, pair{key: k, value: v})
			}
		}
		for _, s := range sources {
			if expanded[s] {
				continue
			}
			expanded[s] = true
			if err := expand(s, true); err != nil {
				return err
			}
		}
		return nil
	}
	if err := expand(n, false); err != nil {
		return nil, err
	}
	return append(own, merged...), nil
}

// deref follows an alias to the node it names. An anchor is never on an
// alias, so one step is enough.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return "the value " + strconv.Quote(v)
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty node"
}

// lineMsg splits "line N: message" as yaml.v3 writes error positions.
var lineMsg = regexp.MustCompile(`^line (\d+): (.*)$`)

// unknownAnchor matches the one yaml.v3 syntax error that carries no line.
var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// parserProblems are the yaml.v3 parser (not scanner) messages. yaml.v3
// reports their line counting from zero, so syntaxError adds one.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected key",
	"did not find expected node content",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// syntaxError rewrites a YAML syntax error as "roles: file:line: ...",
// correcting the line where yaml.v3 gets it wrong.
func syntaxError(name string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1 // yaml.v3 omits the line when the problem is on the first.
	if m := lineMsg.FindStringSubmatch(msg); m != nil {
		n, convErr := strconv.Atoi(m[1])
		if convErr != nil {
			return fmt.Errorf("roles: %s: %w", name, err)
		}
		line, msg = n, m[2]
		for _, p := range parserProblems {
			if msg == p {
				line++
				break
			}
		}
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	return fmt.Errorf("roles: %s:%d: yaml syntax: %s", name, line, msg)
}

// checkText reports the first byte of data that is not valid UTF-8 or is a
// character YAML forbids, with its line; yaml.v3 reports neither position.
func checkText(name string, data []byte) error {
	line := 1
	for i := 0; i < len(data); {
		if c := data[i]; c >= 0x20 && c < 0x7f {
			i++ // Printable ASCII, the common case.
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("roles: %s:%d: invalid UTF-8 (byte 0x%02x at offset %d); role files must be UTF-8", name, line, data[i], i)
		case r == '\n':
			line++
		case r == '\r':
			if i+1 >= len(data) || data[i+1] != '\n' {
				line++
			}
		case !yamlPrintable(r):
			return fmt.Errorf("roles: %s:%d: character %U is not allowed in YAML", name, line, r)
		}
		i += size
	}
	return nil
}

// yamlPrintable reports whether YAML allows r in a document.
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e:
		return true
	case r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// typeErrorLine extracts the line and message of a decoding error, falling
// back to line when the error carries none.
func typeErrorLine(err error, line int) (int, string) {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return line, err.Error()
	}
	msgs := make([]string, 0, len(te.Errors))
	for i, e := range te.Errors {
		if m := lineMsg.FindStringSubmatch(e); m != nil {
			if i == 0 {
				if n, convErr := strconv.Atoi(m[1]); convErr == nil {
					line = n
				}
			}
			e = m[2]
		}
		msgs = append(msgs, e)
	}
	return line, strings.Join(msgs, "; ")
}

// cloneStrings returns a copy of s with no spare capacity, or nil for an
// empty s.
func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}
