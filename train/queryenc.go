package train

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	"github.com/masrouter/masrouter/routing"
)

// QueryStatsDense is the number of dense statistics QueryStatsEncoder emits.
const QueryStatsDense = 6

// QueryStatsEncoder is a low-capacity query encoder for learning a router
// from a few hundred or thousand recorded outcomes, where the default
// hashed n-grams give a policy enough freedom to memorise the training
// questions. It emits QueryStatsDense dense statistics of the text — log
// length, log count of numbers, share of digits, log count of sentences,
// whether it lists lettered choices and the log length of its last line —
// and, when the query opens with a header line followed by a blank line
// (RouteLLM's MMLU prompts name their subject so), that line hashed twice
// (two salts, each coordinate 1/√2, so two headers rarely share both) into
// HeaderBuckets buckets. With Base set, Base's features follow.
// It is safe for concurrent use when Base is.
type QueryStatsEncoder struct {
	// HeaderBuckets is the number of header buckets; 0 means 1024.
	HeaderBuckets int
	// Base, if set, is appended.
	Base routing.Encoder
}

func (e *QueryStatsEncoder) buckets() int {
	if e.HeaderBuckets <= 0 {
		return 1024
	}
	return e.HeaderBuckets
}

// Dim is QueryStatsDense plus the header buckets plus Base's dimension.
func (e *QueryStatsEncoder) Dim() int {
	d := QueryStatsDense + e.buckets()
	if e.Base != nil {
		d += e.Base.Dim()
	}
	return d
}

// Version names the scheme, e.g. "qstats-v1/6+1024" or
// "qstats-v1/6+1024+hash-v2/1024".
func (e *QueryStatsEncoder) Version() string {
	v := fmt.Sprintf("qstats-v1/%d+%d", QueryStatsDense, e.buckets())
	if e.Base != nil {
		v += "+" + routing.FeaturesVersion(e.Base)
	}
	return v
}

// Encode returns the features of text.
func (e *QueryStatsEncoder) Encode(ctx context.Context, text string) (routing.Features, error) {
	if err := ctx.Err(); err != nil {
		return routing.Features{}, fmt.Errorf("query stats encode: %w", err)
	}
	header, body := splitHeader(text)
	var digits, visible, numbers, sentences int
	inNumber := false
	for _, r := range body {
		isDigit := unicode.IsDigit(r)
		if isDigit && !inNumber {
			numbers++
		}
		inNumber = isDigit || (inNumber && (r == '.' || r == ','))
		if isDigit {
			digits++
		}
		if !unicode.IsSpace(r) {
			visible++
		}
		if r == '.' || r == '?' || r == '!' {
			sentences++
		}
	}
	last := strings.TrimSpace(body)
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	dense := [QueryStatsDense]float64{
		math.Log1p(float64(len(body))) - 5.5,
		math.Log1p(float64(numbers)),
		0,
		math.Log1p(float64(sentences)),
		0,
		math.Log1p(float64(len(last))) - 3,
	}
	if visible > 0 {
		dense[2] = float64(digits) / float64(visible)
	}
	if hasChoices(body) {
		dense[4] = 1
	}
	f := routing.Features{Dim: e.Dim()}
	for k, v := range dense {
		if v != 0 {
			f.Index = append(f.Index, k)
			f.Value = append(f.Value, v)
		}
	}
	if header != "" {
		for _, salt := range []string{"a", "b"} {
			h := fnv.New32a()
			h.Write([]byte(salt + strings.ToLower(header)))
			f.Index = append(f.Index, QueryStatsDense+int(h.Sum32()%uint32(e.buckets())))
			f.Value = append(f.Value, math.Sqrt2/2)
		}
	}
	if e.Base != nil {
		bf, err := e.Base.Encode(ctx, text)
		if err != nil {
			return routing.Features{}, err
		}
		off := QueryStatsDense + e.buckets()
		for k, j := range bf.Index {
			f.Index = append(f.Index, off+j)
			f.Value = append(f.Value, bf.Value[k])
		}
	}
	return f, nil
}

// splitHeader returns a query's opening header line (a single line ending
// in "." or ":" followed by a blank line, at most 200 bytes) and the rest.
func splitHeader(text string) (header, body string) {
	text = strings.TrimSpace(text)
	i := strings.Index(text, "\n\n")
	if i <= 0 || i > 200 || strings.ContainsRune(text[:i], '\n') {
		return "", text
	}
	h := strings.TrimSpace(text[:i])
	if !strings.HasSuffix(h, ".") && !strings.HasSuffix(h, ":") {
		return "", text
	}
	return h, strings.TrimSpace(text[i+2:])
}

// hasChoices reports whether text has lines starting "A." and "B.".
func hasChoices(text string) bool {
	return strings.Contains(text, "\nA. ") && strings.Contains(text, "\nB. ")
}
