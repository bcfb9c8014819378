package replay

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
)

// RouteLLM's two models and their prices (RouteLLM paper, App. D: GPT-4
// $10 per million input and $30 per million output tokens; Mixtral-8x7B
// $0.24 per million either way).
const (
	RouteLLMStrong = "gpt-4-1106-preview"
	RouteLLMWeak   = "mistralai/Mixtral-8x7B-Instruct-v0.1"
)

// RouteLLMCallUsage returns the usage RouteLLM prices every call at (App.
// D: a typical Chatbot Arena call has 95 input and 264 output tokens, which
// makes GPT-4 $24.7 and Mixtral $0.24 per million tokens). Every call of a
// model then costs the same: RouteLLM's cost is the share of strong calls.
func RouteLLMCallUsage() agents.Usage { return agents.Usage{PromptTokens: 95, CompletionTokens: 264} }

var routeLLMModels = []ModelInfo{
	{
		Name:        RouteLLMStrong,
		Price:       agents.Price{InputPerMillion: 10, OutputPerMillion: 30},
		Description: "GPT-4 Turbo (gpt-4-1106-preview), RouteLLM's strong model; outcomes recorded by RouteLLM at temperature 0.",
	},
	{
		Name:        RouteLLMWeak,
		Price:       agents.Price{InputPerMillion: 0.24, OutputPerMillion: 0.24},
		Description: "Mixtral-8x7B-Instruct-v0.1, RouteLLM's weak model; outcomes recorded by RouteLLM at temperature 0.",
	},
}

// RouteLLMBenchmarks lists the RouteLLM benchmarks the package loads.
func RouteLLMBenchmarks() []string { return []string{"gsm8k", "mmlu"} }

// MMLUHeader returns the line RouteLLM's MMLU prompts open with for subject
// (e.g. "high_school_physics"), as routellm/evals/mmlu/generate_responses.py
// writes it (the same line tasks.LoadMMLU puts first in every MMLU query).
func MMLUHeader(subject string) string { return tasks.MMLUHeader(subject) }

// mmluShotBudget is the token limit RouteLLM puts on the 5-shot MMLU prefix
// (it drops exemplars until the prefix fits, counting with tiktoken; the
// replay counts with agents.EstimateTokens).
const mmluShotBudget = 1536

// LoadRouteLLM loads RouteLLM's recorded outcomes on benchmark ("gsm8k" or
// "mmlu"), removes the contaminated prompts exactly as RouteLLM's
// evals/benchmarks.py does, and joins every remaining row to its task:
// GSM8K rows by position to tasks.Load("gsm8k", "test") (the recorded
// test.jsonl is byte-identical to it), MMLU rows by subject and position to
// tasks.LoadMMLU("test", subject), checking that the prompt texts agree.
func LoadRouteLLM(benchmark string) (*Dataset, error) {
	switch benchmark {
	case "gsm8k":
		return loadRouteLLMGSM8K()
	case "mmlu":
		return loadRouteLLMMMLU()
	}
	return nil, fmt.Errorf("replay: routellm: unknown benchmark %q (want one of %s)", benchmark, strings.Join(RouteLLMBenchmarks(), ", "))
}

// ResponseRow is one row of a RouteLLM responses CSV.
type ResponseRow struct {
	// Line is the row's first line in the file.
	Line   int
	Prompt string
	// Correct and Responses are indexed like the models passed to
	// ReadResponses; Responses is nil when the file has no reply columns.
	Correct   []bool
	Responses []string
}

// ReadResponses reads a RouteLLM responses CSV from r: a header naming
// "prompt", a True/False column per model and, when withResponses is set,
// a "<model>_response" column per model. name labels errors, which give the
// file, line and column of every bad row.
func ReadResponses(r io.Reader, name string, models []string, withResponses bool) ([]ResponseRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, fmt.Errorf("%s:1: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	need := []string{"prompt"}
	need = append(need, models...)
	if withResponses {
		for _, m := range models {
			need = append(need, m+"_response")
		}
	}
	for _, h := range need {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s:1: header: no column %q (have %s)", name, h, strings.Join(header, ", "))
		}
	}
	var rows []ResponseRow
	var errs []error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, fmt.Errorf("%s:%d: csv: %v", name, pe.StartLine, pe.Err))
				if len(errs) > 20 {
					break
				}
				continue
			}
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			errs = append(errs, fmt.Errorf("%s:%d: fields: got %d, want %d", name, line, len(rec), len(header)))
			continue
		}
		row := ResponseRow{Line: line, Prompt: rec[col["prompt"]], Correct: make([]bool, len(models))}
		if strings.TrimSpace(row.Prompt) == "" {
			errs = append(errs, fmt.Errorf("%s:%d: prompt: empty", name, line))
		}
		for i, m := range models {
			switch v := rec[col[m]]; v {
			case "True":
				row.Correct[i] = true
			case "False":
			default:
				errs = append(errs, fmt.Errorf("%s:%d: %s: %q is not True or False", name, line, m, v))
			}
		}
		if withResponses {
			row.Responses = make([]string, len(models))
			for i, m := range models {
				row.Responses[i] = rec[col[m+"_response"]]
			}
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return rows, nil
}

// ReadContaminated reads a RouteLLM contaminated_prompts.jsonl file and
// returns the set of its "eval_prompt" values.
func ReadContaminated(r io.Reader, name string) (map[string]bool, error) {
	out := map[string]bool{}
	err := eachLine(r, name, func(line []byte, n int) error {
		var rec struct {
			EvalPrompt *string `json:"eval_prompt"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("%s:%d: json: %w", name, n, err)
		}
		if rec.EvalPrompt == nil {
			return fmt.Errorf("%s:%d: eval_prompt: missing", name, n)
		}
		out[*rec.EvalPrompt] = true
		return nil
	})
	return out, err
}

// readData reads one shipped file with parse.
func readData[T any](name string, parse func(io.Reader, string) (T, error)) (T, error) {
	var zero T
	f, err := openData(name)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	v, err := parse(f, "data/"+name)
	if err != nil {
		return zero, fmt.Errorf("replay: %w", err)
	}
	return v, nil
}

func readResponses(name string, withResponses bool) ([]ResponseRow, error) {
	return readData(name, func(r io.Reader, n string) ([]ResponseRow, error) {
		return ReadResponses(r, n, []string{RouteLLMStrong, RouteLLMWeak}, withResponses)
	})
}

func outcomes(row ResponseRow) []Outcome {
	out := make([]Outcome, len(row.Correct))
	for i, c := range row.Correct {
		if c {
			out[i].Score = 1
		}
		if row.Responses != nil {
			out[i].Response = row.Responses[i]
		}
	}
	return out
}

func loadRouteLLMGSM8K() (*Dataset, error) {
	const file = "routellm/evals/gsm8k/gsm8k_responses.csv"
	rows, err := readResponses(file, true)
	if err != nil {
		return nil, err
	}
	bad, err := readData("routellm/evals/gsm8k/contaminated_prompts.jsonl", ReadContaminated)
	if err != nil {
		return nil, err
	}
	ts, err := tasks.Load("gsm8k", "test")
	if err != nil {
		return nil, fmt.Errorf("replay: routellm gsm8k: %w", err)
	}
	if len(ts) != len(rows) {
		return nil, fmt.Errorf("replay: data/%s has %d rows but tasks' GSM8K test split has %d questions", file, len(rows), len(ts))
	}
	shots, err := gsm8kShots()
	if err != nil {
		return nil, err
	}
	d := newDataset(SourceRouteLLM, "gsm8k", slices.Clone(routeLLMModels))
	d.Strong, d.Weak = 0, 1
	d.Stats.Rows = len(rows)
	for i, row := range rows {
		if bad[row.Prompt] {
			d.Stats.Contaminated++
			continue
		}
		if row.Prompt != ts[i].Query {
			return nil, fmt.Errorf("replay: data/%s:%d: prompt: differs from the question of task %s", file, row.Line, ts[i].ID)
		}
		it := &Item{Task: ts[i], Outcomes: outcomes(row), Prefix: shots}
		if err := d.add(it); err != nil {
			return nil, fmt.Errorf("replay: data/%s:%d: %w", file, row.Line, err)
		}
		d.Stats.Joined++
	}
	if err := d.renderGSM8K(); err != nil {
		return nil, err
	}
	return d, nil
}

// gsm8kShots rebuilds RouteLLM's 8-shot GSM8K prefix ("Question: q\nAnswer:
// a\n\n" for the first eight training questions) from tasks' copy of the
// training split. Tasks keeps the worked answer without its <<...>>
// calculator annotations, so the rebuilt prefix is a little shorter than
// the one the recorded runs sent; it is used only to count prompt tokens.
func gsm8kShots() (string, error) {
	train, err := tasks.Load("gsm8k", "train")
	if err != nil {
		return "", fmt.Errorf("replay: routellm gsm8k shots: %w", err)
	}
	var b strings.Builder
	for _, t := range train[:8] {
		fmt.Fprintf(&b, "Question: %s\nAnswer: %s\n#### %s\n\n", t.Query, strings.TrimSpace(t.Solution), t.Gold)
	}
	return b.String(), nil
}

// lastIntRe is RouteLLM's GSM8K answer rule: the last run of digits after
// commas are removed (routellm/evals/gsm8k/generate_responses.py).
var lastIntRe = regexp.MustCompile(`\d+`)

func lastInteger(s string) (string, bool) {
	all := lastIntRe.FindAllString(strings.ReplaceAll(s, ",", ""), -1)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1], true
}

// renderGSM8K sets each reply to the recorded response and checks that the
// tasks scorer judges it as RouteLLM recorded. Where it does not (the
// scorer reads a reply's final "answer is" statement, RouteLLM its last
// integer), it appends a final line "#### N", which the scorer reads
// first, with the integer RouteLLM's rule took, or "#### unknown" when the
// reply has none, and counts the amendment in Stats.RepliesAmended.
func (d *Dataset) renderGSM8K() error {
	ctx := context.Background()
	for _, it := range d.Items {
		it.replies = make([]string, len(d.Models))
		for m, o := range it.Outcomes {
			reply := o.Response
			s, err := tasks.Score(ctx, it.Task, reply)
			if err != nil {
				return fmt.Errorf("replay: score %s: %w", it.Task.ID, err)
			}
			if s != o.Score {
				n, ok := lastInteger(reply)
				if !ok {
					n = "unknown"
				}
				reply = strings.TrimRight(reply, " \t\n") + "\n#### " + n
				if s, err = tasks.Score(ctx, it.Task, reply); err != nil || s != o.Score {
					return fmt.Errorf("replay: routellm gsm8k task %s, model %s: the tasks scorer gives %g, recorded %g, even after amending the reply", it.Task.ID, d.Models[m].Name, s, o.Score)
				}
				d.Stats.RepliesAmended++
			}
			it.replies[m] = reply
		}
	}
	return nil
}

// pandasNA are the strings pandas.read_csv reads as NaN by default; RouteLLM
// built its MMLU prompts from such frames, so a choice "None" became "nan".
var pandasNA = map[string]bool{
	"": true, "#N/A": true, "#N/A N/A": true, "#NA": true, "-1.#IND": true, "-1.#QNAN": true,
	"-NaN": true, "-nan": true, "1.#IND": true, "1.#QNAN": true, "<NA>": true, "N/A": true,
	"NA": true, "NULL": true, "NaN": true, "None": true, "n/a": true, "nan": true, "null": true,
}

// mmluPrompt rebuilds RouteLLM's prompt for an MMLU task: the question, the
// lettered choices and "Answer:"; with pandas set, fields pandas reads as
// NaN are written "nan" as RouteLLM's prompts have them.
func mmluPrompt(t *tasks.Task, question string, pandas bool) string {
	field := func(s string) string {
		if pandas && pandasNA[s] {
			return "nan"
		}
		return s
	}
	var b strings.Builder
	b.WriteString(field(question))
	for _, l := range "ABCD" {
		fmt.Fprintf(&b, "\n%c. %s", l, field(t.Meta["choice_"+string(l)]))
	}
	b.WriteString("\nAnswer:")
	return b.String()
}

// mmluQuestion returns the question part of an MMLU task's query (the text
// before the lettered choices).
func mmluQuestion(t *tasks.Task) string {
	q := strings.TrimPrefix(t.Query, MMLUHeader(t.Meta["subject"])+"\n\n")
	tail := ""
	for _, l := range "ABCD" {
		tail += "\n" + string(l) + ". " + t.Meta["choice_"+string(l)]
	}
	return strings.TrimSuffix(q, tail)
}

func loadRouteLLMMMLU() (*Dataset, error) {
	files, err := listData("routellm/evals/mmlu/responses", ".csv")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("replay: routellm mmlu: no response files shipped")
	}
	bad, err := readData("routellm/evals/mmlu/contaminated_prompts.jsonl", ReadContaminated)
	if err != nil {
		return nil, err
	}
	d := newDataset(SourceRouteLLM, "mmlu", slices.Clone(routeLLMModels))
	d.Strong, d.Weak = 0, 1
	for _, file := range files {
		base := file[strings.LastIndexByte(file, '/')+1:]
		subject := strings.TrimSuffix(strings.TrimPrefix(base, "mmlu_"), ".csv")
		rows, err := readResponses(file, false)
		if err != nil {
			return nil, err
		}
		ts, err := tasks.LoadMMLU("test", subject)
		if err != nil {
			return nil, fmt.Errorf("replay: data/%s: %w", file, err)
		}
		if len(ts) != len(rows) {
			return nil, fmt.Errorf("replay: data/%s has %d rows but tasks' MMLU %s test file has %d", file, len(rows), subject, len(ts))
		}
		prefix, err := mmluShots(subject)
		if err != nil {
			return nil, err
		}
		for i, row := range rows {
			d.Stats.Rows++
			t := ts[i]
			q := mmluQuestion(t)
			switch row.Prompt {
			case mmluPrompt(t, q, false):
			case mmluPrompt(t, q, true):
				d.Stats.JoinedNormalised++
			default:
				return nil, fmt.Errorf("replay: data/%s:%d: prompt: differs from tasks' %s (question and choices)", file, row.Line, t.ID)
			}
			if bad[row.Prompt] {
				d.Stats.Contaminated++
				continue
			}
			task := *t
			task.Meta = map[string]string{"source": SourceRouteLLM}
			for k, v := range t.Meta {
				task.Meta[k] = v
			}
			it := &Item{Task: &task, Outcomes: outcomes(row), Prefix: prefix}
			if err := d.add(it); err != nil {
				return nil, fmt.Errorf("replay: data/%s:%d: %w", file, row.Line, err)
			}
			d.addAlias(strings.TrimPrefix(t.Query, MMLUHeader(subject)+"\n\n"), it)
			d.Stats.Joined++
			it.replies = make([]string, len(d.Models))
			for m, o := range it.Outcomes {
				it.replies[m] = letterReply(t.Gold, o.Score >= 0.5, d.Models[m].Name, t.ID)
			}
		}
	}
	return d, nil
}

// mmluShots rebuilds RouteLLM's 5-shot MMLU exemplars for subject from
// tasks' dev split, dropping exemplars from the end while the header and
// exemplars exceed mmluShotBudget estimated tokens. The header itself is
// part of the task's query, so it is not returned.
func mmluShots(subject string) (string, error) {
	dev, err := tasks.LoadMMLU("dev", subject)
	if err != nil {
		return "", fmt.Errorf("replay: routellm mmlu shots: %w", err)
	}
	k := min(5, len(dev))
	for {
		var b strings.Builder
		for _, t := range dev[:k] {
			b.WriteString(mmluPrompt(t, mmluQuestion(t), true))
			b.WriteString(" " + t.Gold + "\n\n")
		}
		if k == 0 || agents.EstimateTokens(MMLUHeader(subject)+"\n\n"+b.String()) <= mmluShotBudget {
			return b.String(), nil
		}
		k--
	}
}

// letterReply is the one-letter reply RouteLLM recorded (max_new_tokens=1):
// the gold letter when correct, else one of the three wrong letters, picked
// by a hash of the model and task so it is fixed.
func letterReply(gold string, correct bool, model, taskID string) string {
	if correct {
		return gold
	}
	var wrong []string
	for _, l := range []string{"A", "B", "C", "D"} {
		if l != gold {
			wrong = append(wrong, l)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(model + "\x00" + taskID))
	return wrong[h.Sum32()%uint32(len(wrong))]
}

// eachLine calls fn for every non-blank line of r (split on "\n" only), with
// its 1-based number, and stops at the first error.
func eachLine(r io.Reader, name string, fn func(line []byte, n int) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	n := 0
	for line := range strings.SplitSeq(string(data), "\n") {
		n++
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := fn([]byte(line), n); err != nil {
			return err
		}
	}
	return nil
}
