package replay

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
)

// ScoreRow is one row of LLMRouter's dcrouter train.json: a question and
// every model's score on it.
type ScoreRow struct {
	// Line is the line the row's object starts on.
	Line     int
	Question string
	Scores   map[string]float64
}

// ReadScores reads LLMRouter's dcrouter_preprocessed JSON (an array of
// {"question", "scores": {model: score}, "cluster_id"}) from r. Every row
// must score the same models, each in [0, 1]. name labels errors, which
// give the file, line and field.
func ReadScores(r io.Reader, name string) ([]ScoreRow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	lineAt := func(off int64) int {
		off = min(max(off, 0), int64(len(data)))
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		return 1 + bytes.Count(data[:off], []byte("\n"))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%s:%d: want a JSON array of rows", name, lineAt(0))
	}
	var rows []ScoreRow
	var models []string
	var errs []error
	for dec.More() {
		line := lineAt(dec.InputOffset())
		var rec struct {
			Question  *string            `json:"question"`
			Scores    map[string]float64 `json:"scores"`
			ClusterID json.RawMessage    `json:"cluster_id"`
		}
		if err := dec.Decode(&rec); err != nil {
			return nil, errors.Join(append(errs, fmt.Errorf("%s:%d: json: %w", name, line, err))...)
		}
		switch {
		case rec.Question == nil:
			errs = append(errs, fmt.Errorf("%s:%d: question: missing", name, line))
			continue
		case strings.TrimSpace(*rec.Question) == "":
			errs = append(errs, fmt.Errorf("%s:%d: question: empty", name, line))
			continue
		case len(rec.Scores) == 0:
			errs = append(errs, fmt.Errorf("%s:%d: scores: missing or empty", name, line))
			continue
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range rec.Scores {
				if !yield(k) {
					return
				}
			}
		})
		if models == nil {
			models = names
		} else if !slices.Equal(models, names) {
			errs = append(errs, fmt.Errorf("%s:%d: scores: models %s differ from the first row's %s", name, line, strings.Join(names, ", "), strings.Join(models, ", ")))
			continue
		}
		for _, m := range names {
			if v := rec.Scores[m]; !(v >= 0 && v <= 1) || math.IsNaN(v) {
				errs = append(errs, fmt.Errorf("%s:%d: scores.%s: %g is not in [0, 1]", name, line, m, v))
			}
		}
		rows = append(rows, ScoreRow{Line: line, Question: *rec.Question, Scores: rec.Scores})
	}
	if _, err := dec.Token(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: json: the array is not closed: %w", name, lineAt(dec.InputOffset()), err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return rows, nil
}

// QueryRow is one line of LLMRouter's default_query_*.jsonl.
type QueryRow struct {
	Line        int
	TaskName    string
	Query       string
	GroundTruth string
	Metric      string
	// Choices is the raw choices field (a Python literal as a string, or null).
	Choices string
}

// llmRouterMetrics are the metrics of LLMRouter's query files.
var llmRouterMetrics = []string{"GSM8K", "MATH", "code_eval", "commongen_coverage", "em_mc", "f1_score"}

// ReadQueries reads LLMRouter's query JSON Lines from r, splitting lines on
// "\n" only (some queries hold U+2028). name labels errors, which give the
// file, line and field.
func ReadQueries(r io.Reader, name string) ([]QueryRow, error) {
	var rows []QueryRow
	var errs []error
	err := eachLine(r, name, func(line []byte, n int) error {
		var rec struct {
			TaskName    *string         `json:"task_name"`
			Query       *string         `json:"query"`
			GroundTruth *string         `json:"ground_truth"`
			Metric      *string         `json:"metric"`
			Choices     *string         `json:"choices"`
			TaskID      json.RawMessage `json:"task_id"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: json: %w", name, n, err))
			return nil
		}
		row := QueryRow{Line: n}
		for _, f := range []struct {
			key string
			v   *string
			dst *string
		}{{"task_name", rec.TaskName, &row.TaskName}, {"query", rec.Query, &row.Query}, {"ground_truth", rec.GroundTruth, &row.GroundTruth}, {"metric", rec.Metric, &row.Metric}} {
			if f.v == nil || strings.TrimSpace(*f.v) == "" {
				errs = append(errs, fmt.Errorf("%s:%d: %s: missing or empty", name, n, f.key))
				continue
			}
			*f.dst = *f.v
		}
		if rec.Choices != nil {
			row.Choices = *rec.Choices
		}
		if row.Metric != "" && !slices.Contains(llmRouterMetrics, row.Metric) {
			errs = append(errs, fmt.Errorf("%s:%d: metric: %q is not one of %s", name, n, row.Metric, strings.Join(llmRouterMetrics, ", ")))
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return rows, nil
}

// ReadPrices reads LLMRouter's default_llm.json: model name to input and
// output price in dollars per million tokens, with its description.
func ReadPrices(r io.Reader, name string) (map[string]ModelInfo, error) {
	var raw map[string]struct {
		Size        string   `json:"size"`
		Feature     string   `json:"feature"`
		InputPrice  *float64 `json:"input_price"`
		OutputPrice *float64 `json:"output_price"`
		Model       string   `json:"model"`
		Service     string   `json:"service"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: json: %w", name, err)
	}
	out := map[string]ModelInfo{}
	var errs []error
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range raw {
			if !yield(k) {
				return
			}
		}
	}) {
		v := raw[k]
		if v.InputPrice == nil || v.OutputPrice == nil || *v.InputPrice < 0 || *v.OutputPrice < 0 {
			errs = append(errs, fmt.Errorf("%s: %s: input_price and output_price must be present and ≥ 0", name, k))
			continue
		}
		out[k] = ModelInfo{
			Name:        k,
			Price:       agents.Price{InputPerMillion: *v.InputPrice, OutputPerMillion: *v.OutputPrice},
			Description: strings.TrimSpace(v.Feature),
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// LLMRouterDomain maps an LLMRouter task name to the masrouter domain whose
// roles serve it: GSM8K, MATH and MGSM are math, MBPP and HumanEval code,
// everything else commonsense.
func LLMRouterDomain(task string) tasks.Domain {
	switch task {
	case "gsm8k", "math", "agentverse-mgsm":
		return tasks.DomainMath
	case "mbpp", "human_eval":
		return tasks.DomainCode
	}
	return tasks.DomainCommonsense
}

// CodePass is the gold answer of LLMRouter code tasks: only whether the
// recorded program passed its tests was recorded, not the program.
const CodePass = "pass"

// LoadLLMRouter loads LLMRouter's recorded scores of 9 models on 5,608
// questions of 14 tasks (its training split), joins each question to its
// task name and gold answer by exact query text, and prices the models from
// LLMRouter's default_llm.json. Models are ordered by price, then name.
// When the query file lists a question twice (8 questions), the first
// listing is used and Stats counts it.
func LoadLLMRouter() (*Dataset, error) {
	const (
		scoresFile  = "llmrouter/dcrouter_preprocessed/train.json"
		queriesFile = "llmrouter/example_data/query_data/default_query_train.jsonl"
		pricesFile  = "llmrouter/example_data/llm_candidates/default_llm.json"
	)
	rows, err := readData(scoresFile, ReadScores)
	if err != nil {
		return nil, err
	}
	queries, err := readData(queriesFile, ReadQueries)
	if err != nil {
		return nil, err
	}
	prices, err := readData(pricesFile, ReadPrices)
	if err != nil {
		return nil, err
	}
	var models []ModelInfo
	for name := range rows[0].Scores {
		info, ok := prices[name]
		if !ok {
			return nil, fmt.Errorf("replay: data/%s:%d: scores.%s: the model has no price in data/%s", scoresFile, rows[0].Line, name, pricesFile)
		}
		models = append(models, info)
	}
	slices.SortFunc(models, func(a, b ModelInfo) int {
		if c := cmp.Compare(a.Price.InputPerMillion+3*a.Price.OutputPerMillion, b.Price.InputPerMillion+3*b.Price.OutputPerMillion); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	byQuery := map[string][]QueryRow{}
	for _, q := range queries {
		byQuery[q.Query] = append(byQuery[q.Query], q)
	}
	d := newDataset(SourceLLMRouter, "llmrouter", models)
	d.Stats.Rows = len(rows)
	for i, row := range rows {
		qs := byQuery[row.Question]
		if len(qs) == 0 {
			return nil, fmt.Errorf("replay: data/%s:%d: question: not in data/%s", scoresFile, row.Line, queriesFile)
		}
		if len(qs) > 1 {
			d.Stats.Ambiguous++
			for _, q := range qs[1:] {
				if q.TaskName != qs[0].TaskName {
					d.Stats.AmbiguousTask++
					break
				}
			}
		}
		t, err := llmRouterTask(i, qs[0])
		if err != nil {
			return nil, fmt.Errorf("replay: data/%s:%d: %w", queriesFile, qs[0].Line, err)
		}
		it := &Item{Task: t, Outcomes: make([]Outcome, len(models)), replies: make([]string, len(models))}
		for m, info := range models {
			it.Outcomes[m].Score = row.Scores[info.Name]
			it.replies[m] = llmRouterReply(t, it.Outcomes[m].Score, info.Name)
		}
		if err := d.add(it); err != nil {
			return nil, fmt.Errorf("replay: data/%s:%d: %w", scoresFile, row.Line, err)
		}
		d.Stats.Joined++
	}
	return d, nil
}

// llmRouterTask builds the task of the i-th scored question from its query
// listing: the gold answer in the form the replay scorer compares.
func llmRouterTask(i int, q QueryRow) (*tasks.Task, error) {
	gt := strings.TrimSpace(q.GroundTruth)
	t := &tasks.Task{
		ID:        fmt.Sprintf("llmrouter/train/%d", i),
		Benchmark: SourceLLMRouter,
		Domain:    LLMRouterDomain(q.TaskName),
		Query:     q.Query,
		Scorer:    Scorer{},
		Meta: map[string]string{"source": SourceLLMRouter, "task": q.TaskName, "metric": q.Metric,
			tasks.MetaSkill: SourceLLMRouter + "/" + q.TaskName},
	}
	switch q.Metric {
	case "em_mc", "f1_score", "commongen_coverage":
		t.Gold = strings.Join(strings.Fields(gt), " ")
	case "GSM8K":
		j := strings.LastIndex(gt, "####")
		if j < 0 {
			return nil, errors.New(`ground_truth: no final "#### <number>"`)
		}
		n, ok := tasks.CanonicalNumber(strings.TrimSpace(gt[j+4:]))
		if !ok {
			return nil, fmt.Errorf("ground_truth: final %q is not a number", strings.TrimSpace(gt[j+4:]))
		}
		t.Gold, t.Solution = n, gt
	case "MATH":
		if box, ok := tasks.LastBoxed(gt); ok {
			t.Gold, t.Solution = strings.TrimSpace(box), gt
		} else {
			t.Gold = gt
		}
	case "code_eval":
		t.Gold = CodePass
	}
	if strings.ContainsAny(t.Gold, "\n\r") || t.Gold == "" {
		return nil, fmt.Errorf("ground_truth: gold answer %q is empty or spans lines", t.Gold)
	}
	if q.Choices != "" {
		t.Meta["choices"] = q.Choices
	}
	return t, nil
}

// llmRouterReply renders a synthetic reply that Scorer judges as the
// recorded score says. CommonGen coverage: the first round(score·k) of the
// k concepts, so the coverage is the recorded fraction. Other metrics
// record 0 or 1 (a fraction would count as correct from 0.5): "Answer:
// <gold>" when correct; when wrong, another choice label for
// multiple-choice tasks, "fail" for code and an abstention otherwise.
func llmRouterReply(t *tasks.Task, score float64, model string) string {
	switch {
	case t.Meta["metric"] == "commongen_coverage":
		cs := concepts(t.Gold)
		return "Answer: " + strings.Join(cs[:int(math.Round(score*float64(len(cs))))], ", ")
	case score >= 0.5:
		return "Answer: " + t.Gold
	case t.Meta["metric"] == "code_eval":
		return "Answer: fail"
	case t.Meta["metric"] == "em_mc":
		return "Answer: " + wrongLabel(t.Gold, model, t.ID)
	}
	return "I do not know the answer."
}

// wrongLabel picks a choice label other than gold: a letter A–E for a
// letter, a digit 1–5 for a digit, fixed by a hash of the model and task.
func wrongLabel(gold, model, taskID string) string {
	pool := []string{"A", "B", "C", "D", "E"}
	if gold != "" && gold[0] >= '0' && gold[0] <= '9' {
		pool = []string{"1", "2", "3", "4", "5"}
	}
	var wrong []string
	for _, l := range pool[:4] {
		if !strings.EqualFold(l, gold) {
			wrong = append(wrong, l)
		}
	}
	h := fnv.New32a()
	h.Write([]byte(model + "\x00" + taskID))
	return wrong[h.Sum32()%uint32(len(wrong))]
}
