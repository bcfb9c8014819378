package tasks

import (
	"math/rand/v2"
	"slices"
)

// sampleStream is the fixed second word of the PCG state used by Sample.
const sampleStream = 0x9e3779b97f4a7c15

// Sample returns n tasks of ts picked by a shuffle seeded with seed (PCG
// from math/rand/v2), in shuffled order. n <= 0 or n >= len(ts) returns all
// of ts, shuffled. ts itself is not changed; the same inputs always give the
// same result.
func Sample(ts []*Task, n int, seed int64) []*Task {
	out := slices.Clone(ts)
	r := rand.New(rand.NewPCG(uint64(seed), sampleStream))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if n > 0 && n < len(out) {
		out = out[:n:n]
	}
	return out
}

// SplitByID divides ts into train and test, keeping their order. A task goes
// to test iff idFraction(seed, task.ID) < testFraction, so its side depends
// only on its ID and the seed, never on which other tasks are present.
func SplitByID(ts []*Task, testFraction float64, seed int64) (train, test []*Task) {
	for _, t := range ts {
		if idFraction(seed, t.ID) < testFraction {
			test = append(test, t)
		} else {
			train = append(train, t)
		}
	}
	return train, test
}

// idFraction hashes the seed (8 bytes, little-endian) and then id with
// 64-bit FNV-1a, passes the sum through MurmurHash3's fmix64 finaliser (FNV
// alone barely moves the high bits when only the last byte differs, as in
// "gsm8k/test/17" and "gsm8k/test/18"), and maps the top 53 bits to [0, 1).
func idFraction(seed int64, id string) float64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := range 8 {
		h ^= uint64(seed) >> (8 * i) & 0xff
		h *= prime
	}
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return float64(h>>11) / (1 << 53)
}
