// Package safefile writes files atomically: to a temporary file in the same
// directory, synced, then renamed over the target, so a reader never sees a
// half-written report or checkpoint.
package safefile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write calls fill with a temporary file next to path and, if fill and the
// sync succeed, renames it to path. On any error the temporary file is
// removed and path is untouched. A symbolic link is followed, so the file
// it names is replaced; a path that names a device or pipe (/dev/null,
// /dev/stdout) is written in place, since it cannot be replaced; a
// directory is an error.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	p, err := Create(path)
	if err != nil {
		return err
	}
	if err := fill(p); err != nil {
		p.Abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return p.Commit(perm)
}

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Pending is a file being written by Create: its content replaces the
// target only when Commit succeeds.
type Pending struct {
	f       *os.File
	path    string // the target
	inPlace bool   // a device or pipe written directly
}

// Create starts writing path the way Write does, for a writer that outlives
// one call: write to the Pending, then Commit or Abort it.
func Create(path string) (*Pending, error) {
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return nil, fmt.Errorf("write %s: is a directory", path)
		case !fi.Mode().IsRegular():
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
			return &Pending{f: f, path: path, inPlace: true}, nil
		}
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Pending{f: f, path: path}, nil
}

// Write writes to the pending file.
func (p *Pending) Write(b []byte) (int, error) { return p.f.Write(b) }

// Commit syncs the pending file and renames it over the target.
func (p *Pending) Commit(perm os.FileMode) error {
	if p.inPlace {
		if err := p.f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", p.path, err)
		}
		return nil
	}
	err := p.f.Sync()
	if err == nil {
		err = p.f.Chmod(perm)
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	return nil
}

// Abort discards the pending file, leaving the target untouched.
func (p *Pending) Abort() {
	p.f.Close()
	if !p.inPlace {
		os.Remove(p.f.Name())
	}
}
