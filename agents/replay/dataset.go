// Package replay serves recorded outcomes of real LLMs as langchaingo models,
// so routers can be trained and measured on what real models really did.
//
// Two recorded sources are shipped in data/ (see data/README.md):
//
//   - RouteLLM (lm-sys/RouteLLM): per-question correctness of
//     gpt-4-1106-preview and Mixtral-8x7B-Instruct on MMLU (5-shot, 14,042
//     questions) and GSM8K (8-shot, 1,319 questions, with the full replies);
//   - LLMRouter (ulab-uiuc/LLMRouter): per-question scores of 9 open models
//     on 14 tasks (5,608 questions of its training split) and its price list.
//
// A Dataset joins every recorded question to a tasks.Task with a gold answer
// and a scorer, after removing the prompts RouteLLM marks as contaminated.
// RouteLLM's MMLU tasks open their query with the subject line the recorded
// prompts opened with (MMLUHeader), so a router may read the subject as the
// recorded runs' models did. A Model answers a prompt that carries one of those questions
// (in the agents.UserPrompt layout) with the recorded reply where the source
// stored one, and otherwise with a short synthetic reply that the task's
// scorer judges exactly as recorded. Token counts are estimated from the text
// with agents.EstimateTokens, and prices come from the source's price list,
// so dollars are estimates; correctness is real.
package replay

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/tasks"
)

// The recorded sources.
const (
	SourceRouteLLM  = "routellm"
	SourceLLMRouter = "llmrouter"
)

// ModelInfo describes one recorded model.
type ModelInfo struct {
	// Name is the model's name in the source, e.g. "gpt-4-1106-preview".
	Name string `json:"name"`
	// Price is the source's list price for the model.
	Price agents.Price `json:"price"`
	// Description is free text a router may read.
	Description string `json:"description"`
}

// Outcome is what one model did on one recorded question.
type Outcome struct {
	// Score is the recorded score in [0, 1]: 0 or 1 for correctness, a
	// fraction for partial-credit metrics (LLMRouter's CommonGen coverage).
	Score float64 `json:"score"`
	// Response is the recorded reply text; empty when the source kept only
	// the score.
	Response string `json:"response,omitempty"`
}

// Item is one recorded question joined to its task.
type Item struct {
	// Task is the question with its gold answer and scorer.
	Task *tasks.Task
	// Outcomes holds each model's outcome, in Dataset.Models order.
	Outcomes []Outcome
	// Prefix is the few-shot text the recorded runs sent before the
	// question (RouteLLM's 5-shot MMLU and 8-shot GSM8K exemplars); replayed
	// calls count its tokens as prompt tokens, because that is what the
	// recorded outcome cost. Empty when the source used none.
	Prefix string
	// replies caches each model's replayed reply text.
	replies []string
}

// Reply is the text the model at index model (in Dataset.Models) answers
// the item with: the recorded reply when there is one (RouteLLM GSM8K, with
// a final "#### N" line where Stats.RepliesAmended says so), else a
// synthetic one that the task's scorer judges as the recorded score says:
// the recorded one-letter answer for RouteLLM MMLU (the gold letter, or a
// fixed wrong one), "Answer: ..." for LLMRouter.
func (it *Item) Reply(model int) string { return it.replies[model] }

// LoadStats counts what loading a source did with its rows.
type LoadStats struct {
	// Rows is the number of rows in the recorded files.
	Rows int `json:"rows"`
	// Contaminated is the number of rows removed as contaminated.
	Contaminated int `json:"contaminated"`
	// Joined is the number of remaining rows joined to a task.
	Joined int `json:"joined"`
	// JoinedNormalised counts joins that needed the documented text
	// normalisation (RouteLLM MMLU: pandas read the choice "None" as NaN
	// and wrote "nan" into the prompt).
	JoinedNormalised int `json:"joined_normalised,omitempty"`
	// Ambiguous counts rows whose question the join file lists more than
	// once (LLMRouter); the first listing is used.
	Ambiguous int `json:"ambiguous,omitempty"`
	// AmbiguousTask counts the ambiguous rows whose listings disagree on
	// the task name.
	AmbiguousTask int `json:"ambiguous_task,omitempty"`
	// DuplicateQueries counts items whose query an earlier item already
	// has (RouteLLM MMLU repeats 27 questions within a subject, with the
	// same outcomes). A replayed model answers such a query with the first
	// item's reply, or says it is ambiguous if the outcomes differ.
	DuplicateQueries int `json:"duplicate_queries,omitempty"`
	// RepliesAmended counts recorded replies (RouteLLM GSM8K) to which a
	// final "#### N" line was appended because the tasks scorer would
	// otherwise judge them differently from the recorded correctness.
	RepliesAmended int `json:"replies_amended,omitempty"`
}

// Dataset is one recorded benchmark: its models and its questions.
type Dataset struct {
	// Source is SourceRouteLLM or SourceLLMRouter.
	Source string
	// Benchmark is "gsm8k" or "mmlu" (RouteLLM) or "llmrouter".
	Benchmark string
	// Models are the recorded models in a fixed order.
	Models []ModelInfo
	// Items are the questions, in the source's order.
	Items []*Item
	// Stats counts what loading did.
	Stats LoadStats
	// Strong and Weak index Models for two-model sources (RouteLLM); both
	// are -1 otherwise.
	Strong, Weak int

	byQuery map[string]*Item // by the task's query
	byID    map[string]*Item
	alias   map[string]*Item // other prompt forms of a query (nil entry: ambiguous)
}

// newDataset returns an empty dataset for models.
func newDataset(source, benchmark string, models []ModelInfo) *Dataset {
	return &Dataset{
		Source:    source,
		Benchmark: benchmark,
		Models:    models,
		Strong:    -1,
		Weak:      -1,
		byQuery:   map[string]*Item{},
		byID:      map[string]*Item{},
		alias:     map[string]*Item{},
	}
}

// add indexes an item; a second item with the same ID is an error, and a
// second item with the same query is counted in Stats.DuplicateQueries and
// makes the query ambiguous if its outcomes differ.
func (d *Dataset) add(it *Item) error {
	if len(it.Outcomes) != len(d.Models) {
		return fmt.Errorf("item %s: %d outcomes for %d models", it.Task.ID, len(it.Outcomes), len(d.Models))
	}
	if _, dup := d.byID[it.Task.ID]; dup {
		return fmt.Errorf("task ID %s listed twice", it.Task.ID)
	}
	q := strings.TrimSpace(it.Task.Query)
	if prev, dup := d.byQuery[q]; dup {
		d.Stats.DuplicateQueries++
		if prev != nil && !slices.Equal(prev.Outcomes, it.Outcomes) {
			d.byQuery[q] = nil
		}
	} else {
		d.byQuery[q] = it
	}
	d.byID[it.Task.ID] = it
	d.Items = append(d.Items, it)
	return nil
}

// addAlias lets a second prompt form (such as an MMLU question without its
// subject line) find it. Forms that several items share with different
// outcomes are marked ambiguous and find nothing.
func (d *Dataset) addAlias(form string, it *Item) {
	form = strings.TrimSpace(form)
	if _, own := d.byQuery[form]; own {
		return
	}
	prev, seen := d.alias[form]
	switch {
	case !seen:
		d.alias[form] = it
	case prev != nil && !slices.Equal(prev.Outcomes, it.Outcomes):
		d.alias[form] = nil
	}
}

// Tasks returns every item's task, in order.
func (d *Dataset) Tasks() []*tasks.Task {
	out := make([]*tasks.Task, len(d.Items))
	for i, it := range d.Items {
		out[i] = it.Task
	}
	return out
}

// Item returns the item of the task with the given ID.
func (d *Dataset) Item(taskID string) (*Item, bool) {
	it, ok := d.byID[taskID]
	return it, ok
}

// lookup finds the item a query (as it appears in a prompt) belongs to. The
// second result is false when the query is unknown, and the item is nil
// with true when the query is known but ambiguous.
func (d *Dataset) lookup(query string) (*Item, bool) {
	query = strings.TrimSpace(query)
	if it, ok := d.byQuery[query]; ok {
		return it, true // nil when ambiguous
	}
	it, ok := d.alias[query]
	return it, ok
}

// ModelIndex returns the position of the named model in Models.
func (d *Dataset) ModelIndex(name string) (int, error) {
	for i, m := range d.Models {
		if m.Name == name {
			return i, nil
		}
	}
	names := make([]string, len(d.Models))
	for i, m := range d.Models {
		names[i] = m.Name
	}
	return -1, fmt.Errorf("replay: %w %q in %s/%s (have %s)", agents.ErrUnknownModel, name, d.Source, d.Benchmark, strings.Join(names, ", "))
}

// Score returns the recorded score of the named model on the task with the
// given ID.
func (d *Dataset) Score(taskID, model string) (float64, error) {
	m, err := d.ModelIndex(model)
	if err != nil {
		return 0, err
	}
	it, ok := d.byID[taskID]
	if !ok {
		return 0, fmt.Errorf("replay: %s/%s has no task %q", d.Source, d.Benchmark, taskID)
	}
	return it.Outcomes[m].Score, nil
}

// ModelFor returns the replayed llms.Model of the named recorded model.
func (d *Dataset) ModelFor(name string) (*Model, error) {
	i, err := d.ModelIndex(name)
	if err != nil {
		return nil, err
	}
	return &Model{data: d, index: i}, nil
}

// PoolOptions configures Dataset.Pool.
type PoolOptions struct {
	// SkillTasks, when non-empty, gives each model a skill per task domain
	// and per skill key (tasks.Task.SkillKey, e.g. one per LLMRouter task):
	// its mean recorded score over those of these tasks in the domain or
	// with the key. The router reads skills as model features, so pass only
	// training tasks.
	// Without them models have no skills (the router then sees price only).
	SkillTasks []*tasks.Task
	// MaxTokens caps each model's completions (agents.Model.MaxTokens); 0
	// leaves the executor's default.
	MaxTokens int
	// CallUsage, when set, is the usage every known question's call
	// reports instead of the estimate from its text, so that every call of
	// a model costs the same, as in RouteLLM's cost model (RouteLLMCallUsage).
	CallUsage *agents.Usage
}

// Pool returns a pool of the dataset's models, each replayed, priced from
// the source's price list, with Provider "replay".
func (d *Dataset) Pool(opt PoolOptions) (*agents.Pool, error) {
	skills, err := d.skills(opt.SkillTasks)
	if err != nil {
		return nil, err
	}
	models := make([]*agents.Model, len(d.Models))
	for i, info := range d.Models {
		models[i] = &agents.Model{
			Name:        info.Name,
			Provider:    "replay",
			LLM:         &Model{data: d, index: i, usage: opt.CallUsage},
			Price:       info.Price,
			Description: info.Description,
			Skills:      skills[i],
			MaxTokens:   opt.MaxTokens,
		}
	}
	pool, err := agents.NewPool(models...)
	if err != nil {
		return nil, fmt.Errorf("replay: %s/%s pool: %w", d.Source, d.Benchmark, err)
	}
	return pool, nil
}

// skills returns each model's mean recorded score per domain and skill key
// over ts.
func (d *Dataset) skills(ts []*tasks.Task) ([]map[string]float64, error) {
	out := make([]map[string]float64, len(d.Models))
	if len(ts) == 0 {
		return out, nil
	}
	sum := make([]map[string]float64, len(d.Models))
	n := map[string]float64{}
	keyDomain := map[string]string{} // skill key → its questions' domain
	for i := range sum {
		sum[i] = map[string]float64{}
	}
	for _, t := range ts {
		if t == nil {
			return nil, errors.New("replay: pool: skill task is nil")
		}
		it, ok := d.byID[t.ID]
		if !ok {
			return nil, fmt.Errorf("replay: pool: skill task %s is not in %s/%s", t.ID, d.Source, d.Benchmark)
		}
		keys := []string{string(t.Domain)}
		if k := t.SkillKey(); k != "" && k != keys[0] {
			keys = append(keys, k)
			if d, seen := keyDomain[k]; !seen {
				keyDomain[k] = keys[0]
			} else if d != keys[0] {
				keyDomain[k] = "" // spans domains: never redundant
			}
		}
		for _, key := range keys {
			n[key]++
			for i, o := range it.Outcomes {
				sum[i][key] += o.Score
			}
		}
	}
	// A key that names the same questions as its domain (RouteLLM's one
	// benchmark) adds nothing: keep the domain's skill alone.
	for key, d := range keyDomain {
		if d != "" && n[key] == n[d] {
			delete(n, key)
		}
	}
	for i := range out {
		out[i] = map[string]float64{}
		for _, dom := range slices.Sorted(maps.Keys(n)) {
			out[i][dom] = sum[i][dom] / n[dom]
		}
	}
	return out, nil
}
