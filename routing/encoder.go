package routing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/embeddings"
)

// Encoder turns a query into the feature vector the controller reads.
type Encoder interface {
	// Encode returns the features of text; every call with the same text
	// returns the same features.
	Encode(ctx context.Context, text string) (Features, error)
	// Dim is the length of every feature vector Encode returns.
	Dim() int
}

// Versioned is implemented by encoders whose features carry a version
// string; checkpoints and trajectories record it so features from another
// encoder are refused rather than misread.
type Versioned interface {
	Version() string
}

// FeaturesVersion returns enc's version string, or one built from its Go type
// and dimension when enc does not implement Versioned.
func FeaturesVersion(enc Encoder) string {
	if v, ok := enc.(Versioned); ok {
		return v.Version()
	}
	return fmt.Sprintf("%T/%d", enc, enc.Dim())
}

// DefaultBuckets is the number of hash buckets of a HashEncoder built with 0.
const DefaultBuckets = 1024

// SideFeatures is the number of dense side features a HashEncoder appends
// after its buckets: log length, digit ratio, has LaTeX, has lettered choices.
const SideFeatures = 4

// HashEncoder is the default encoder: deterministic, offline and fast. It
// hashes lower-cased word unigrams and character trigrams with FNV-1a into
// signed buckets, weights each term by 1 + ln tf, L2-normalises the buckets
// and appends SideFeatures dense features. A HashEncoder is safe for
// concurrent use; its zero value uses DefaultBuckets.
//
// Version 1 of the scheme also hashed word bigrams. Dropping them cut the
// nonzero features by about 30% (and the controller's gradient cost with
// them) while nearest-neighbour retrieval of MMLU questions by subject stayed
// as good; see TestHashEncoderRetrievesSameSubject.
type HashEncoder struct {
	buckets int
	scratch sync.Pool // of *hashScratch
}

// NewHashEncoder returns a HashEncoder with the given number of buckets
// (0 means DefaultBuckets).
func NewHashEncoder(buckets int) (*HashEncoder, error) {
	if buckets < 0 || buckets > 1<<24 {
		return nil, fmt.Errorf("routing: hash encoder: buckets = %d, want 0 (default) or 1..%d", buckets, 1<<24)
	}
	return &HashEncoder{buckets: buckets}, nil
}

// Buckets is the number of hashed coordinates.
func (e *HashEncoder) Buckets() int {
	if e.buckets == 0 {
		return DefaultBuckets
	}
	return e.buckets
}

// Dim is Buckets plus SideFeatures.
func (e *HashEncoder) Dim() int { return e.Buckets() + SideFeatures }

// Version names the feature scheme and its size, e.g. "hash-v2/1024".
func (e *HashEncoder) Version() string { return fmt.Sprintf("hash-v2/%d", e.Buckets()) }

// Encode returns the hashed features of text. The returned slices are fresh;
// everything else is reused across calls.
func (e *HashEncoder) Encode(ctx context.Context, text string) (Features, error) {
	if err := ctx.Err(); err != nil {
		return Features{}, fmt.Errorf("routing: hash encode: %w", err)
	}
	s, _ := e.scratch.Get().(*hashScratch)
	if s == nil {
		s = new(hashScratch)
	}
	defer e.scratch.Put(s)
	st := s.normalise(text)
	s.collect(true)
	nb := e.Buckets()
	// Count the distinct terms to size the result in one allocation each.
	n := len(s.used) + SideFeatures
	if n > nb+SideFeatures {
		n = nb + SideFeatures
	}
	idx := make([]int, 0, n)
	val := make([]float64, 0, n)
	idx, val = s.project(nb, 0, idx, val)
	side := [SideFeatures]float64{
		math.Log1p(float64(st.words)) / 5,
		0,
		0,
		0,
	}
	if st.visible > 0 {
		side[1] = float64(st.digits) / float64(st.visible)
	}
	if st.latex {
		side[2] = 1
	}
	if hasLetteredChoices(text) {
		side[3] = 1
	}
	for k, v := range side {
		if v != 0 {
			idx = append(idx, nb+k)
			val = append(val, v)
		}
	}
	return Features{Dim: nb + SideFeatures, Index: idx, Value: val}, nil
}

// hasLetteredChoices reports whether text lists multiple-choice options: lines
// starting "A." "A)" "A:" or "(A)" for both A and B, or "(A)" and "(B)"
// anywhere.
func hasLetteredChoices(text string) bool {
	if strings.Contains(text, "(A)") && strings.Contains(text, "(B)") {
		return true
	}
	var seen [5]bool
	for line := range strings.Lines(text) {
		line = strings.TrimLeft(line, " \t")
		if len(line) > 0 && line[0] == '(' {
			line = line[1:]
		}
		if len(line) < 2 || line[0] < 'A' || line[0] > 'E' {
			continue
		}
		switch line[1] {
		case '.', ')', ':':
			if len(line) == 2 || line[2] == ' ' || line[2] == '\t' || line[2] == '\n' || line[2] == '\r' {
				seen[line[0]-'A'] = true
			}
		}
	}
	return seen[0] && seen[1]
}

// EmbedderEncoder wraps a langchaingo embeddings.Embedder as a dense Encoder.
type EmbedderEncoder struct {
	embedder embeddings.Embedder
	dim      int
	name     string
}

// NewEmbedderEncoder returns an encoder that calls e.EmbedQuery and expects
// vectors of length dim; name identifies the embedding model in the features
// version, e.g. "nomic-embed-text".
func NewEmbedderEncoder(e embeddings.Embedder, dim int, name string) (*EmbedderEncoder, error) {
	switch {
	case e == nil:
		return nil, errors.New("routing: embedder encoder: embedder is nil")
	case dim <= 0:
		return nil, fmt.Errorf("routing: embedder encoder: dim = %d, want > 0", dim)
	case strings.TrimSpace(name) == "":
		return nil, errors.New("routing: embedder encoder: name is empty")
	}
	return &EmbedderEncoder{embedder: e, dim: dim, name: name}, nil
}

// Dim is the embedding length.
func (e *EmbedderEncoder) Dim() int { return e.dim }

// Version is "embed/<name>/<dim>".
func (e *EmbedderEncoder) Version() string { return fmt.Sprintf("embed/%s/%d", e.name, e.dim) }

// Encode embeds text and returns it as dense features.
func (e *EmbedderEncoder) Encode(ctx context.Context, text string) (Features, error) {
	vec, err := e.embedder.EmbedQuery(ctx, text)
	if cerr := ctx.Err(); cerr != nil {
		return Features{}, fmt.Errorf("routing: embed query with %s: %w", e.name, cerr)
	}
	if err != nil {
		return Features{}, fmt.Errorf("routing: embed query with %s: %w", e.name, err)
	}
	if len(vec) != e.dim {
		return Features{}, fmt.Errorf("routing: embed query with %s: got %d dimensions, want %d", e.name, len(vec), e.dim)
	}
	f := Features{Dim: e.dim, Index: make([]int, e.dim), Value: make([]float64, e.dim)}
	for i, v := range vec {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Features{}, fmt.Errorf("routing: embed query with %s: coordinate %d is %g", e.name, i, x)
		}
		f.Index[i] = i
		f.Value[i] = x
	}
	return f, nil
}
