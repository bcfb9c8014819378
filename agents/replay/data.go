package replay

import (
	"bufio"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// files holds the recorded outcomes; data/README.md says what each is, where
// it came from and its sha256.
//
//go:embed data
var files embed.FS

// DataFS returns the shipped data folder (the contents of data/, with .gz
// files still compressed), for tools that want to list or verify it.
func DataFS() fs.FS {
	sub, err := fs.Sub(files, "data")
	if err != nil {
		panic(fmt.Sprintf("replay: embedded data missing: %v", err)) // the embed directive guarantees it
	}
	return sub
}

// openData opens a shipped file by its original path under data/, reading
// through gzip when only a compressed copy is shipped.
func openData(name string) (io.ReadCloser, error) {
	return openFile(DataFS(), name)
}

// openFile opens name in fsys, or name+".gz" decompressed when only that
// exists. The error names the file.
func openFile(fsys fs.FS, name string) (io.ReadCloser, error) {
	f, err := fsys.Open(name)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replay: open %s: %w", name, err)
	}
	gz, gerr := fsys.Open(name + ".gz")
	if gerr != nil {
		return nil, fmt.Errorf("replay: open %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bufio.NewReader(gz))
	if err != nil {
		gz.Close()
		return nil, fmt.Errorf("replay: open %s.gz: %w", name, err)
	}
	return &gzipFile{Reader: zr, under: gz}, nil
}

type gzipFile struct {
	*gzip.Reader
	under io.Closer
}

func (g *gzipFile) Close() error {
	return errors.Join(g.Reader.Close(), g.under.Close())
}

// listData returns the original paths (".gz" removed) of the shipped files
// under dir whose names end in suffix, sorted.
func listData(dir, suffix string) ([]string, error) {
	entries, err := fs.ReadDir(DataFS(), dir)
	if err != nil {
		return nil, fmt.Errorf("replay: list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".gz")
		if !e.IsDir() && strings.HasSuffix(name, suffix) {
			out = append(out, path.Join(dir, name))
		}
	}
	return out, nil
}
