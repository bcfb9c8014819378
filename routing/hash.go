package routing

import (
	"math"
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// FNV-1a, 64 bits.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// Namespaces keep word unigrams and character trigrams apart.
const (
	nsWord    = 'w'
	nsTrigram = 'c'
)

// tfWeight[c] is the sublinear term frequency 1 + ln c, precomputed for small c.
var tfWeight = func() [256]float64 {
	var t [256]float64
	for c := 1; c < len(t); c++ {
		t[c] = 1 + math.Log(float64(c))
	}
	return t
}()

func mixByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func mixRune(h uint64, r rune) uint64 {
	if r < utf8.RuneSelf {
		return mixByte(h, byte(r))
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	for _, b := range buf[:n] {
		h = mixByte(h, b)
	}
	return h
}

func mixRunes(h uint64, rs []rune) uint64 {
	for _, r := range rs {
		h = mixRune(h, r)
	}
	return h
}

// asciiSpace marks the ASCII characters unicode.IsSpace accepts.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// textStats are the dense side facts gathered while normalising a text.
type textStats struct {
	words   int
	digits  int
	visible int // runes that are not white space
	latex   bool
}

// hashScratch holds the reusable buffers of one hashing call.
type hashScratch struct {
	runes []rune
	spans []int32 // word start, end pairs into runes
	keys  []uint64
	count []int32
	used  []int32
	acc   []float64
	touch []uint64 // bit b is set when bucket b of acc may be nonzero
}

// normalise lower-cases text into s.runes with runs of white space collapsed
// to one space and one space of padding at each end, records the word spans
// (maximal runs of letters and digits) and gathers the side statistics.
func (s *hashScratch) normalise(text string) textStats {
	var st textStats
	s.runes = append(s.runes[:0], ' ')
	s.spans = s.spans[:0]
	prevSpace := true
	prevBackslash := false
	wordStart := -1
	for _, r := range text {
		var space bool
		if r < utf8.RuneSelf {
			space = asciiSpace[r]
		} else {
			space = unicode.IsSpace(r)
		}
		if space {
			prevBackslash = false
			if wordStart >= 0 {
				s.spans = append(s.spans, int32(wordStart), int32(len(s.runes)))
				wordStart = -1
			}
			if !prevSpace {
				s.runes = append(s.runes, ' ')
				prevSpace = true
			}
			continue
		}
		st.visible++
		switch {
		case r == '$':
			st.latex = true
		case prevBackslash && unicode.IsLetter(r):
			st.latex = true
		}
		prevBackslash = r == '\\'
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		var isWord bool
		if r < utf8.RuneSelf {
			isWord = r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
			if r >= '0' && r <= '9' {
				st.digits++
			}
		} else {
			isWord = unicode.IsLetter(r) || unicode.IsDigit(r)
			if unicode.IsDigit(r) {
				st.digits++
			}
		}
		switch {
		case isWord && wordStart < 0:
			wordStart = len(s.runes)
		case !isWord && wordStart >= 0:
			s.spans = append(s.spans, int32(wordStart), int32(len(s.runes)))
			wordStart = -1
		}
		s.runes = append(s.runes, r)
		prevSpace = false
	}
	if wordStart >= 0 {
		s.spans = append(s.spans, int32(wordStart), int32(len(s.runes)))
	}
	if !prevSpace {
		s.runes = append(s.runes, ' ')
	}
	st.words = len(s.spans) / 2
	return st
}

// resetTable makes the term table empty with room for n distinct terms at
// load factor at most one half.
func (s *hashScratch) resetTable(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if len(s.keys) < size {
		s.keys = make([]uint64, size)
		s.count = make([]int32, size)
	} else {
		for _, slot := range s.used {
			s.keys[slot] = 0
			s.count[slot] = 0
		}
	}
	s.used = s.used[:0]
}

// addTerm counts one occurrence of the term with hash h.
func (s *hashScratch) addTerm(h uint64) {
	if h == 0 {
		h = 1 // 0 marks an empty slot
	}
	mask := uint64(len(s.keys) - 1)
	for i := (h ^ h>>29) & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case h:
			s.count[i]++
			return
		case 0:
			s.keys[i] = h
			s.count[i] = 1
			s.used = append(s.used, int32(i))
			return
		}
	}
}

// collect counts the terms of the normalised text: word unigrams, and
// character trigrams when asked.
func (s *hashScratch) collect(chars bool) {
	nw := len(s.spans) / 2
	n := nw
	if chars {
		n += len(s.runes)
	}
	s.resetTable(n)
	for w := 0; w < nw; w++ {
		word := s.runes[s.spans[2*w]:s.spans[2*w+1]]
		s.addTerm(mixRunes(mixByte(mixByte(fnvOffset, nsWord), ':'), word))
	}
	if chars {
		for i := 0; i+3 <= len(s.runes); i++ {
			h := mixByte(mixByte(fnvOffset, nsTrigram), ':')
			s.addTerm(mixRunes(h, s.runes[i:i+3]))
		}
	}
}

// bucketOf maps a term hash to one of nb buckets: the two halves of the hash
// are folded together and reduced by multiply-shift, which avoids a division.
func bucketOf(h, nb uint64) uint64 { return uint64(uint32(h^h>>32)) * nb >> 32 }

// project hashes the counted terms into buckets with signed hashing and
// sublinear term frequency, L2-normalises them and appends the nonzero
// buckets, shifted by offset, to idx and val in increasing order.
func (s *hashScratch) project(buckets, offset int, idx []int, val []float64) ([]int, []float64) {
	if len(s.acc) < buckets {
		s.acc = make([]float64, buckets)
		s.touch = make([]uint64, (buckets+63)/64)
	}
	acc := s.acc[:buckets]
	nb := uint64(buckets)
	for _, slot := range s.used {
		h := s.keys[slot]
		c := s.count[slot]
		w := 0.0
		if int(c) < len(tfWeight) {
			w = tfWeight[c]
		} else {
			w = 1 + math.Log(float64(c))
		}
		if h>>63 == 1 {
			w = -w
		}
		b := bucketOf(h, nb)
		acc[b] += w
		s.touch[b/64] |= 1 << (b % 64)
	}
	// Visit the touched buckets in increasing order; a bucket whose terms
	// cancelled out is left out.
	start := len(val)
	var norm float64
	for i, word := range s.touch[:(buckets+63)/64] {
		for word != 0 {
			b := i*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if v := acc[b]; v != 0 {
				idx = append(idx, offset+b)
				val = append(val, v)
				norm += v * v
				acc[b] = 0
			}
		}
		s.touch[i] = 0
	}
	if norm > 0 {
		inv := 1 / math.Sqrt(norm)
		for k := start; k < len(val); k++ {
			val[k] *= inv
		}
	}
	return idx, val
}

// hashWords returns the L2-normalised signed hash of the word unigrams of
// text in buckets coordinates starting at offset. It allocates; use it off
// the hot path.
func hashWords(text string, buckets, offset int) ([]int, []float64) {
	var s hashScratch
	s.normalise(text)
	s.collect(false)
	return s.project(buckets, offset, nil, nil)
}
