package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	require.NoError(t, WriteFile(p, []byte("old"), 0o644))
	require.NoError(t, WriteFile(p, []byte("new"), 0o644))
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

func TestWriteFailureLeavesTargetUntouched(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ckpt.json")
	require.NoError(t, WriteFile(p, []byte("good"), 0o644))
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return boom
	})
	assert.ErrorIs(t, err, boom)
	got, _ := os.ReadFile(p)
	assert.Equal(t, "good", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1)
}

func TestWriteIntoMissingDirectoryFails(t *testing.T) {
	err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "f"), nil, 0o644)
	assert.Error(t, err)
}

func TestWriteSpecialTargets(t *testing.T) {
	dir := t.TempDir()
	t.Run("device is written in place, not replaced", func(t *testing.T) {
		require.NoError(t, WriteFile(os.DevNull, []byte("x"), 0o644))
		fi, err := os.Stat(os.DevNull)
		require.NoError(t, err)
		assert.NotZero(t, fi.Mode()&os.ModeDevice, "%s is still a device", os.DevNull)
	})
	t.Run("symlink target is replaced, link kept", func(t *testing.T) {
		real := filepath.Join(dir, "real.json")
		link := filepath.Join(dir, "link.json")
		require.NoError(t, os.WriteFile(real, []byte("old"), 0o644))
		require.NoError(t, os.Symlink(real, link))
		require.NoError(t, WriteFile(link, []byte("new"), 0o644))
		fi, err := os.Lstat(link)
		require.NoError(t, err)
		assert.NotZero(t, fi.Mode()&os.ModeSymlink)
		got, err := os.ReadFile(real)
		require.NoError(t, err)
		assert.Equal(t, "new", string(got))
	})
	t.Run("directory is an error", func(t *testing.T) {
		err := WriteFile(dir, []byte("x"), 0o644)
		assert.ErrorContains(t, err, "is a directory")
	})
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "log.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))

	f, err := Create(p)
	require.NoError(t, err)
	_, err = f.Write([]byte("half"))
	require.NoError(t, err)
	f.Abort()
	got, _ := os.ReadFile(p)
	assert.Equal(t, "old", string(got), "abort leaves the target")

	f, err = Create(p)
	require.NoError(t, err)
	_, err = f.Write([]byte("new"))
	require.NoError(t, err)
	require.NoError(t, f.Commit(0o644))
	got, _ = os.ReadFile(p)
	assert.Equal(t, "new", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	f, err = Create(os.DevNull)
	require.NoError(t, err)
	_, err = f.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, f.Commit(0o644))
	fi, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&os.ModeDevice)
}
