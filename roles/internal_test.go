package roles

import (
	"io/fs"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/tasks"
)

func TestFieldNamesMatchRoleTags(t *testing.T) {
	typ := reflect.TypeOf(Role{})
	var tags []string
	for i := range typ.NumField() {
		tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		require.NotEmpty(t, tag, "field %s has no yaml tag", typ.Field(i).Name)
		tags = append(tags, tag)
		var r Role
		dst := field(&r, tag)
		require.NotNil(t, dst, "ParseYAML does not decode %q", tag)
		assert.Equal(t, reflect.PointerTo(typ.Field(i).Type), reflect.TypeOf(dst), tag)
	}
	assert.Equal(t, tags, fieldNames)
}

func TestEmbeddedFilePerDomain(t *testing.T) {
	files, err := fs.Glob(embedded, "profiles/*")
	require.NoError(t, err)
	var domains []string
	for _, f := range files {
		name := path.Base(f)
		require.True(t, strings.HasSuffix(name, ".yaml"), "unexpected embedded file %s", f)
		d := tasks.Domain(strings.TrimSuffix(name, ".yaml"))
		domains = append(domains, string(d))
		data, err := fs.ReadFile(embedded, f)
		require.NoError(t, err)
		list, err := ParseYAML(f, data)
		require.NoError(t, err)
		for _, l := range list {
			assert.Equal(t, d, l.Domain, "%s:%d: role %q is in the wrong file", f, l.Line, l.Name)
		}
	}
	var want []string
	for _, d := range tasks.Domains() {
		want = append(want, string(d))
	}
	assert.ElementsMatch(t, want, domains)
}
