package tasks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brokenCase is bad input whose error must name each line and field.
type brokenCase struct {
	name string
	in   string
	want []string // each must appear in the error
}

func checkBroken(t *testing.T, cases []brokenCase, parse func(in string) ([]*Task, error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := parse(tc.in)
			require.Error(t, err)
			assert.Nil(t, ts, "nothing is returned on error")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

const gsmGood = `{"question": "Tom has 3 apples and buys 2 more. How many?", "answer": "He has 3 + 2 = <<3+2=5>>5 apples.\n#### 5"}`

func TestParseGSM8K(t *testing.T) {
	in := gsmGood + "\n\n" + `{"question": "A shop sells 1,000 pens a day. How many in 3 days?", "answer": "It sells 1,000 * 3 = <<1000*3=3000>>3,000 pens.\nThat is all.\n#### 3,000"}` + "\r\n"
	ts, err := ParseGSM8K(strings.NewReader(in), "x.jsonl", "dev")
	require.NoError(t, err)
	require.Len(t, ts, 2)
	assert.Equal(t, "gsm8k/dev/0", ts[0].ID)
	assert.Equal(t, "gsm8k/dev/1", ts[1].ID, "blank lines do not count as rows")
	assert.Equal(t, "3000", ts[1].Gold)
	assert.Equal(t, "It sells 1,000 * 3 = 3,000 pens.\nThat is all.", ts[1].Solution)
	assert.Equal(t, map[string]string{"steps": "2", "calcs": "1"}, ts[1].Meta)

	checkBroken(t, []brokenCase{
		{"not json", gsmGood + "\n{question: 1}", []string{"x.jsonl:2: json: "}},
		{"array", `["question"]`, []string{"x.jsonl:1: json: want a JSON object"}},
		{"missing answer", `{"question": "q"}`, []string{"x.jsonl:1: answer: missing"}},
		{"empty question", `{"question": " ", "answer": "x\n#### 1"}`, []string{"x.jsonl:1: question: empty"}},
		{"wrong type", `{"question": 7, "answer": "x\n#### 1"}`, []string{"x.jsonl:1: question: want a string, got a number"}},
		{"no final line", `{"question": "q", "answer": "The answer is 5."}`, []string{`x.jsonl:1: answer: no final "#### <number>" line`}},
		{"final not a number", `{"question": "q", "answer": "x\n#### five"}`, []string{`x.jsonl:1: answer: final "five" is not a number`}},
		{"unknown field", `{"question": "q", "answer": "x\n#### 1", "hint": "h"}`, []string{"x.jsonl:1: hint: unknown field"}},
		{"duplicate key", `{"question": "q", "answer": "x\n#### 1", "answer": "y\n#### 2"}`, []string{`x.jsonl:1: json: field "answer" appears twice`}},
		{"trailing data", `{"question": "q", "answer": "x\n#### 1"} {}`, []string{"x.jsonl:1: json: trailing data"}},
		{"truncated line", gsmGood + "\n" + `{"question": "q", "answer":`, []string{"x.jsonl:2: json: the line ends inside the JSON object"}},
		{"every bad line reported", gsmGood + "\n" + `{"question": "q"}` + "\n" + gsmGood + "\n" + `{"answer": "x\n#### 1"}`,
			[]string{"x.jsonl:2: answer: missing", "x.jsonl:4: question: missing"}},
		{"empty input", "\n\n", []string{"x.jsonl: no tasks"}},
		{"bad utf-8", "{\"question\": \"q\xff\", \"answer\": \"x\\n#### 1\"}", []string{"x.jsonl:1: json: not valid UTF-8"}},
	}, func(in string) ([]*Task, error) { return ParseGSM8K(strings.NewReader(in), "x.jsonl", "test") })
}

func TestParseMMLU(t *testing.T) {
	in := "question,choice0,choice1,choice2,choice3,answer\n" +
		"\"Which is prime?\nPick one.\",4,6,7,9,2\n" +
		"\"He said \"\"hi\"\", then?\",a,b,c,d,0\n"
	ts, err := ParseMMLU(strings.NewReader(in), "s_test.csv", "logic", "test")
	require.NoError(t, err)
	require.Len(t, ts, 2)
	assert.Equal(t, "mmlu/test/logic/0", ts[0].ID)
	assert.Equal(t, "The following are multiple choice questions (with answers) about logic.\n\nWhich is prime?\nPick one.\nA. 4\nB. 6\nC. 7\nD. 9", ts[0].Query)
	assert.Equal(t, "C", ts[0].Gold)
	assert.Equal(t, "7", ts[0].Meta["choice_C"])
	assert.Equal(t, "mmlu/test/logic/1", ts[1].ID)
	assert.Equal(t, "A", ts[1].Gold)
	assert.True(t, strings.HasPrefix(ts[1].Query, MMLUHeader("logic")+"\n\n"+`He said "hi", then?`))

	// Hendrycks' original layout: no header, letter answers.
	orig, err := ParseMMLU(strings.NewReader("\ufeffWhat is 2+2?,3,4,5,6,B\n"), "orig.csv", "math", "dev")
	require.NoError(t, err)
	require.Len(t, orig, 1)
	assert.Equal(t, "mmlu/dev/math/0", orig[0].ID)
	assert.Equal(t, "B", orig[0].Gold)
	assert.True(t, strings.HasPrefix(orig[0].Query, MMLUHeader("math")+"\n\nWhat is 2+2?\nA. 3"), "byte-order mark dropped")

	hdr := "question,choice0,choice1,choice2,choice3,answer\n"
	checkBroken(t, []brokenCase{
		{"bad answer", hdr + "q,a,b,c,d,4\n", []string{`s.csv:2: answer: "4" is not 0-3 or A-D`}},
		{"too few fields", hdr + "q,a,b,c,1\n", []string{"s.csv:2: fields: got 5, want 6"}},
		{"empty question", hdr + ",a,b,c,d,1\n", []string{"s.csv:2: question: empty"}},
		{"line after a multi-line field", hdr + "\"two\nlines\",a,b,c,d,1\nq,a,b,c,d,x\n", []string{`s.csv:4: answer: "x"`}},
		{"bare quote", hdr + "q \"x\" y,a,b,c,d,1\n", []string{"s.csv:2: csv: "}},
		{"every bad row reported", hdr + "q,a,b,c,d,9\nq,a,b,c,d,1\nq,a,b\n", []string{"s.csv:2: answer", "s.csv:4: fields: got 3"}},
		{"header only", hdr, []string{"s.csv: no rows"}},
		{"bad utf-8", hdr + "q,a,\xff,c,d,1\n", []string{"s.csv:2: choice1: not valid UTF-8"}},
	}, func(in string) ([]*Task, error) { return ParseMMLU(strings.NewReader(in), "s.csv", "logic", "test") })

	_, err = ParseMMLU(strings.NewReader(hdr+"q,a,b,c,d,1\n"), "s.csv", "", "test")
	assert.ErrorContains(t, err, "empty MMLU subject")
}

const mathGood = `{"problem": "What is $1+1$?", "solution": "Clearly $1+1=\\boxed{2}$.", "answer": "2", "subject": "Prealgebra", "level": "Level 1", "unique_id": "test/prealgebra/1.json"}`

func TestParseMATH(t *testing.T) {
	in := mathGood + "\n" +
		`{"problem": "p", "solution": "so $\\boxed{\\frac{1}{2}}$", "subject": "Algebra", "level": 5, "unique_id": "test/algebra/7.json"}` + "\n"
	ts, err := ParseMATH(strings.NewReader(in), "m.jsonl", "mine")
	require.NoError(t, err)
	require.Len(t, ts, 2)
	assert.Equal(t, "math/test/prealgebra/1", ts[0].ID)
	assert.Equal(t, "mine", ts[0].Benchmark)
	assert.Equal(t, map[string]string{"level": "1", "subject": "Prealgebra"}, ts[0].Meta)
	assert.Equal(t, `\frac{1}{2}`, ts[1].Gold, "missing answer falls back to the last box")
	assert.Equal(t, "5", ts[1].Meta["level"])

	base := `"problem": "p", "solution": "s \\boxed{1}", "subject": "Algebra", "unique_id": "test/a/1.json"`
	checkBroken(t, []brokenCase{
		{"level out of range", `{` + base + `, "level": 6}`, []string{"m.jsonl:1: level: 6 is outside 1-5"}},
		{"level text", `{` + base + `, "level": "Level ?"}`, []string{`m.jsonl:1: level: "Level ?" is not "Level 1".."Level 5"`}},
		{"level missing", `{` + base + `}`, []string{"m.jsonl:1: level: missing"}},
		{"level wrong type", `{` + base + `, "level": [1]}`, []string{"m.jsonl:1: level: want 1-5", "got an array"}},
		{"no answer anywhere", `{"problem": "p", "solution": "no box", "subject": "A", "level": 1, "unique_id": "u"}`, []string{`m.jsonl:1: answer: missing, and the solution has no \boxed{} answer`}},
		{"missing unique_id", `{"problem": "p", "solution": "s", "answer": "1", "subject": "A", "level": 1}`, []string{"m.jsonl:1: unique_id: missing"}},
		{"duplicate unique_id", mathGood + "\n" + mathGood, []string{`m.jsonl:2: unique_id: "test/prealgebra/1.json" already used on line 1`}},
		{"unknown field", `{` + base + `, "level": 1, "type": "Algebra"}`, []string{"m.jsonl:1: type: unknown field"}},
		{"answer wrong type", `{` + base + `, "level": 1, "answer": 3}`, []string{"m.jsonl:1: answer: want a string, got a number"}},
		{"several problems on several lines", `{"level": 2}` + "\n" + mathGood + "\n" + `{` + base + `, "level": 0}`,
			[]string{"m.jsonl:1: problem: missing", "m.jsonl:1: solution: missing", "m.jsonl:3: level: 0 is outside 1-5"}},
	}, func(in string) ([]*Task, error) { return ParseMATH(strings.NewReader(in), "m.jsonl", "math") })

	_, err = ParseMATH(strings.NewReader(mathGood), "m.jsonl", "")
	assert.ErrorContains(t, err, "empty benchmark name")
}

func TestLineErrorIsInspectable(t *testing.T) {
	_, err := ParseGSM8K(strings.NewReader(`{"question": "q"}`), "x.jsonl", "test")
	var le *LineError
	require.True(t, errors.As(err, &le))
	assert.Equal(t, LineError{File: "x.jsonl", Line: 1, Field: "answer", Err: le.Err}, *le)
	assert.Equal(t, "x.jsonl:1: answer: missing", le.Error())
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	for name, parse := range map[string]func() ([]*Task, error){
		"gsm8k": func() ([]*Task, error) { return ParseGSM8K(failingReader{}, "x", "test") },
		"mmlu":  func() ([]*Task, error) { return ParseMMLU(failingReader{}, "x", "s", "test") },
		"math":  func() ([]*Task, error) { return ParseMATH(failingReader{}, "x", "math") },
		"jsonl": func() ([]*Task, error) { return ReadJSONL(failingReader{}, "x") },
	} {
		t.Run(name, func(t *testing.T) {
			ts, err := parse()
			assert.Nil(t, ts)
			assert.ErrorContains(t, err, "disk on fire")
		})
	}
}
