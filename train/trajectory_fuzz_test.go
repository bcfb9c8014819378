package train_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/masrouter/masrouter/tasks"
	"github.com/masrouter/masrouter/train"
)

func FuzzReadTrajectories(f *testing.F) {
	good := goodLine(f, 2)
	hashed := goodLine(f, 1)
	f.Add([]byte(good + "\n"))
	f.Add([]byte(good + "\n\n" + hashed))
	f.Add([]byte(good + "\r\n" + `{"v":2}` + "\n"))
	f.Add([]byte(strings.Replace(good, `"score":1,`, `"score":1,"\u0073core":0,`, 1)))
	f.Add([]byte(strings.Replace(good, `"prompt_tokens":362,`, `"prompt_tokens":1e3,`, 1)))
	f.Add([]byte(strings.Replace(good, `"nodes":[`, `"nodes":[null,`, 1)))
	f.Add([]byte(strings.Replace(good, `"plan":{`, `"plan":{"mode":"IO",`, 1)))
	f.Add([]byte(`{"v":1,"id":"x"}`))
	f.Add([]byte(`[{}]` + "\n" + `"str"` + "\n" + `null`))
	f.Add([]byte("{\"v\":1,\xff}"))

	f.Fuzz(func(t *testing.T, data []byte) {
		var got []*train.Trajectory
		st, err := train.ReadTrajectories(bytes.NewReader(data), "fuzz.jsonl", train.ReadOptions{SkipBad: true}, func(tj *train.Trajectory) error {
			got = append(got, tj)
			return nil
		})
		if err != nil {
			t.Fatalf("reading from memory with SkipBad failed: %v", err)
		}
		if st.Read != len(got) || st.Read+st.Skipped > st.Lines || len(st.Errors) != st.Skipped {
			t.Fatalf("inconsistent stats %+v for %d trajectories", st, len(got))
		}
		for _, e := range st.Errors {
			var le *tasks.LineError
			if !errors.As(e, &le) || le.File != "fuzz.jsonl" || le.Line < 1 || le.Line > st.Lines || le.Field == "" {
				t.Fatalf("error without a place: %#v", e)
			}
		}

		// Everything accepted validates, writes, and reads back the same.
		var buf bytes.Buffer
		w := train.NewWriter(&buf)
		for _, tj := range got {
			if err := tj.Validate(); err != nil {
				t.Fatalf("accepted trajectory does not validate: %v", err)
			}
			if err := w.Write(tj); err != nil {
				t.Fatalf("accepted trajectory does not write: %v", err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var again []*train.Trajectory
		if _, err := train.ReadTrajectories(&buf, "again.jsonl", train.ReadOptions{}, func(tj *train.Trajectory) error {
			again = append(again, tj)
			return nil
		}); err != nil {
			t.Fatalf("rewritten trajectories do not read back: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("read back %d of %d", len(again), len(got))
		}
		for i := range got {
			if !again[i].Time.Equal(got[i].Time) {
				t.Fatalf("time changed: %v to %v", got[i].Time, again[i].Time)
			}
			a, b := *got[i], *again[i]
			a.Time = b.Time
			if !equalJSON(t, &a, &b) {
				t.Fatalf("trajectory changed on rewrite:\n%+v\n%+v", a, b)
			}
		}

		// Without SkipBad the read stops at the first bad line, with its error.
		st2, err := train.ReadTrajectories(bytes.NewReader(data), "fuzz.jsonl", train.ReadOptions{}, nil)
		if st.Skipped == 0 {
			if err != nil || st2.Read != st.Read {
				t.Fatalf("clean input failed without SkipBad: %v", err)
			}
			return
		}
		var le *tasks.LineError
		if !errors.As(err, &le) || le.Line != st.Errors[0].(*tasks.LineError).Line {
			t.Fatalf("without SkipBad got %v, want the first bad line %v", err, st.Errors[0])
		}
	})
}

// equalJSON compares two trajectories by their encoded lines.
func equalJSON(t *testing.T, a, b *train.Trajectory) bool {
	t.Helper()
	var ba, bb bytes.Buffer
	wa, wb := train.NewWriter(&ba), train.NewWriter(&bb)
	if err := wa.Write(a); err != nil {
		t.Fatal(err)
	}
	if err := wb.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := wa.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ba.Bytes(), bb.Bytes())
}
