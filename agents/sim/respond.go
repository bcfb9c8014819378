package sim

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// format is the way a role asks for its final answer.
type format int

const (
	fmtPlain  format = iota // "The answer is X."
	fmtBoxed                // "\boxed{X}"
	fmtChoice               // "The answer is (X)"
	fmtCode                 // a fenced Python block
)

// prompt is what the simulator reads off an agents-rendered prompt.
type prompt struct {
	role    string
	format  format
	hasFmt  bool
	step    agents.Step
	query   string
	replies []agents.Message
	user    string
}

var replyHeadRe = regexp.MustCompile(`^` + regexp.QuoteMeta(agents.ReplyOpen) + `(.*) \((.*)\) ===$`)

func parsePrompt(system, user string) prompt {
	p := prompt{user: user, step: agents.StepAnswer}
	for _, line := range strings.Split(system, "\n") {
		switch {
		case strings.HasPrefix(line, agents.RolePrefix) && p.role == "":
			p.role = strings.TrimSpace(strings.TrimPrefix(line, agents.RolePrefix))
		case strings.HasPrefix(line, "Output format:"):
			p.hasFmt = true
			f := line
			switch {
			case strings.Contains(f, `\boxed`):
				p.format = fmtBoxed
			case strings.Contains(f, "The answer is ("):
				p.format = fmtChoice
			case strings.Contains(f, "```python"), strings.Contains(strings.ToLower(f), "python"):
				p.format = fmtCode
			default:
				p.format = fmtPlain
			}
		}
	}
	for step, text := range agents.Instructions {
		if strings.HasPrefix(user, text) {
			p.step = step
			break
		}
	}
	i := strings.Index(user, agents.QuestionHeader+"\n")
	if i < 0 {
		return p
	}
	rest := user[i+len(agents.QuestionHeader)+1:]
	if j := strings.Index(rest, "\n\n"+agents.RepliesHeader+"\n"); j >= 0 {
		p.query = strings.TrimSpace(rest[:j])
		p.replies = parseReplies(rest[j+len(agents.RepliesHeader)+3:])
	} else {
		p.query = strings.TrimSpace(rest)
	}
	return p
}

func parseReplies(s string) []agents.Message {
	var out []agents.Message
	var cur *agents.Message
	var body []string
	for _, line := range strings.Split(s, "\n") {
		if cur == nil {
			if m := replyHeadRe.FindStringSubmatch(line); m != nil {
				cur = &agents.Message{From: m[1], Role: m[2]}
				body = body[:0]
			}
			continue
		}
		if line == agents.ReplyClose {
			cur.Content = strings.Join(body, "\n")
			out = append(out, *cur)
			cur = nil
			continue
		}
		body = append(body, line)
	}
	return out
}

// lookup finds the task a prompt asks about: first the exact query block,
// then any line of the prompt that starts a known question.
func (w *World) lookup(p prompt) *entry {
	if e, ok := w.byQuery[p.query]; ok {
		return e
	}
	for _, line := range strings.Split(p.user, "\n") {
		for _, e := range w.byLine[strings.TrimSpace(line)] {
			if strings.Contains(p.user, strings.TrimSpace(e.task.Query)) {
				return e
			}
		}
	}
	return nil
}

// roleBonus is the expertise bonus of r on t: its keywords name t's subject.
func (w *World) roleBonus(r roles.Role, t *tasks.Task) float64 {
	subject := strings.ToLower(strings.ReplaceAll(t.Meta["subject"], "_", " "))
	if subject == "" {
		return 0
	}
	for _, kw := range r.Expertise {
		kw = strings.ToLower(strings.TrimSpace(kw))
		if kw != "" && strings.Contains(subject, kw) {
			return w.params.ExpertiseBonus
		}
	}
	return 0
}

// outcome is one simulated call's decision.
type outcome struct {
	correct bool
	answer  string
	// tally of answers read: canonical answer -> count, and which were right.
	read []readAnswer
}

type readAnswer struct {
	from, answer string
	correct      bool
	// failedTests is true when the reply came with a report that its code
	// fails the visible tests; passedTests when it said they all pass.
	failedTests, passedTests bool
}

// Visible-test reports as the executor appends them to code replies (see
// topology.FeedbackLabel).
const (
	testsFailed = "[visible tests] failed:"
	testsPassed = "[visible tests] all pass"
)

// decide draws whether model answers e correctly at this call and which
// answer it gives.
func (w *World) decide(ctx context.Context, model string, e *entry, p prompt, callKey uint64) outcome {
	t := e.task
	role, err := w.roles.Get(t.Domain, p.role)
	if err != nil {
		role = roles.Role{Kind: roles.KindSolver}
	}
	logit := w.baseLogit(model, e) + w.roleBonus(role, t)
	reason := w.params.ReasonBonus[string(t.Domain)]
	switch p.step {
	case agents.StepReason, agents.StepCollaborate, agents.StepReflect, agents.StepDecide:
		logit += reason
	case agents.StepPlan:
		logit += reason - w.params.PlanPenalty
	}
	var out outcome
	var nc, nw, fixes float64
	for _, r := range p.replies {
		ans, ok := t.Scorer.Extract(r.Content)
		if !ok {
			continue
		}
		ra := readAnswer{from: r.From, answer: ans}
		if e.code != nil {
			ra.correct = w.judgeCode(ctx, e, r.Content, ans)
			ra.failedTests = strings.Contains(r.Content, testsFailed)
			ra.passedTests = strings.Contains(r.Content, testsPassed)
		} else {
			ra.correct = t.Scorer.Equivalent(ans, t.Gold)
		}
		out.read = append(out.read, ra)
		switch {
		case ra.correct:
			nc++
		case ra.failedTests:
			// A reply known to fail its tests misleads less.
			nw += 1 - w.params.CodeFeedback.Discount
			fixes++
		default:
			nw++
		}
	}
	if fixes > 0 && (role.Kind == roles.KindCritic || role.Kind == roles.KindVerifier) {
		logit += w.params.CodeFeedback.FixBonus
	}
	if n := nc + nw; n > 0 {
		sw := w.params.Sway.Solver
		switch {
		case p.step == agents.StepReflect:
			sw = w.params.Sway.Self
		case p.step == agents.StepDecide || role.Kind == roles.KindCritic || role.Kind == roles.KindVerifier:
			sw = w.params.Sway.Checker
		}
		logit += (sw.Correct*nc - sw.Wrong*nw) / math.Sqrt(n)
	}
	u := uniform(callKey)
	if u < sigmoid(logit) {
		out.correct, out.answer = true, t.Gold
		return out
	}
	// Wrong: repeat the most common wrong answer read, or make one's own slip.
	top, topN := mostCommonWrong(t, out.read, 1-w.params.CodeFeedback.Discount)
	u2 := uniform(mix(callKey ^ 0x9e3779b97f4a7c15))
	if topN > 0 && u2 < w.params.Copy*topN/(nc+nw+0.5) {
		out.answer = top
		return out
	}
	d := e.wrongAnswers()
	h := hashOf("slip", model, t.ID)
	if len(d) == 1 || uniform(h) < 0.5 {
		out.answer = d[0]
	} else {
		out.answer = d[1+int(mix(h)%uint64(len(d)-1))]
	}
	return out
}

// mostCommonWrong is the wrong answer read most often, and its weight: one
// per reader, or failedWeight for a reply reported to fail its tests.
func mostCommonWrong(t *tasks.Task, read []readAnswer, failedWeight float64) (string, float64) {
	type group struct {
		answer string
		n      float64
	}
	var gs []group
	for _, r := range read {
		if r.correct {
			continue
		}
		wt := 1.0
		if r.failedTests {
			wt = failedWeight
		}
		found := false
		for i := range gs {
			if t.Scorer.Equivalent(gs[i].answer, r.answer) {
				gs[i].n += wt
				found = true
				break
			}
		}
		if !found {
			gs = append(gs, group{r.answer, wt})
		}
	}
	best := -1
	for i := range gs {
		if best < 0 || gs[i].n > gs[best].n {
			best = i
		}
	}
	if best < 0 {
		return "", 0
	}
	return gs[best].answer, gs[best].n
}

// --- rendering ---------------------------------------------------------------

func defaultFormat(t *tasks.Task) format {
	switch t.Domain {
	case tasks.DomainCommonsense:
		return fmtChoice
	case tasks.DomainCode:
		return fmtCode
	}
	return fmtBoxed
}

func finalLine(f format, ans string) string {
	switch f {
	case fmtBoxed:
		return "The final answer is $\\boxed{" + ans + "}$."
	case fmtChoice:
		if len(ans) == 1 && ans[0] >= 'A' && ans[0] <= 'D' {
			return "The answer is (" + ans + ")."
		}
		return "The answer is " + ans + "."
	default:
		return "The answer is " + ans + "."
	}
}

var calcRe = regexp.MustCompile(`<<[^>]*>>`)

// render writes the reply text for outcome o in the prompt's format and step.
func render(e *entry, p prompt, o outcome) string {
	t := e.task
	if e.code != nil {
		return renderCode(e, p, o)
	}
	f := p.format
	if !p.hasFmt {
		f = defaultFormat(t)
	}
	final := finalLine(f, o.answer)
	if p.step == agents.StepAnswer {
		return final
	}
	var b strings.Builder
	if len(o.read) > 0 {
		b.WriteString(summariseRead(o.read))
		b.WriteString("\n\n")
	}
	switch p.step {
	case agents.StepPlan:
		b.WriteString("Plan:\n")
		for i, s := range firstSentences(reasoning(t, o), 3) {
			fmt.Fprintf(&b, "%d. %s\n", i+1, s)
		}
		b.WriteString("Tentative answer: ")
		b.WriteString(final)
		return b.String()
	case agents.StepDecide:
		b.WriteString("Weighing the replies against the question, the best supported answer follows.\n")
		for _, s := range firstSentences(reasoning(t, o), 2) {
			b.WriteString(s)
			b.WriteString("\n")
		}
		b.WriteString(final)
		return b.String()
	case agents.StepReflect:
		if len(o.read) > 0 && o.read[0].correct == o.correct && o.read[0].answer == o.answer {
			b.WriteString("Checking each step again, I find no mistake; I confirm my answer.\n")
		} else {
			b.WriteString("Checking each step again, I found a problem and corrected it:\n")
		}
	default:
		b.WriteString("Let's work through it step by step.\n")
	}
	b.WriteString(reasoning(t, o))
	b.WriteString("\n")
	b.WriteString(final)
	return b.String()
}

func summariseRead(read []readAnswer) string {
	counts := map[string]int{}
	var order []string
	for _, r := range read {
		if counts[r.answer] == 0 {
			order = append(order, r.answer)
		}
		counts[r.answer]++
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	parts := make([]string, len(order))
	for i, a := range order {
		parts[i] = fmt.Sprintf("%s (%d)", a, counts[a])
	}
	return "The other replies answered: " + strings.Join(parts, ", ") + ". I will check this myself."
}

// reasoning is the worked part of a reply: the dataset's own reference
// solution when the answer is right, and the same solution derailed at its
// end when it is wrong.
func reasoning(t *tasks.Task, o outcome) string {
	switch {
	case t.Domain == tasks.DomainCommonsense:
		return optionsReasoning(t, o.answer)
	case t.Solution == "":
		return "Working from the facts given in the question."
	}
	sol := strings.TrimSpace(calcRe.ReplaceAllString(t.Solution, ""))
	if strings.Contains(sol, "####") {
		sol = strings.TrimSpace(sol[:strings.Index(sol, "####")])
	}
	if o.correct {
		return sol
	}
	if b, ok := tasks.LastBoxed(sol); ok {
		i := strings.LastIndex(sol, b)
		return sol[:i] + o.answer + sol[i+len(b):]
	}
	lines := strings.Split(sol, "\n")
	if len(lines) > 1 {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n") + "\nCombining these, the result is " + o.answer + "."
}

func optionsReasoning(t *tasks.Task, chosen string) string {
	var b strings.Builder
	b.WriteString("Let me consider each option.\n")
	for _, l := range []string{"A", "B", "C", "D"} {
		text := strings.TrimSpace(t.Meta["choice_"+l])
		if text == "" {
			continue
		}
		if l == chosen {
			fmt.Fprintf(&b, "(%s) %s: this is consistent with what the question describes.\n", l, text)
		} else {
			fmt.Fprintf(&b, "(%s) %s: this does not fit.\n", l, text)
		}
	}
	return strings.TrimSpace(b.String())
}

var sentenceEnd = regexp.MustCompile(`[.!?]\s+|\n+`)

func firstSentences(s string, n int) []string {
	var out []string
	for _, part := range sentenceEnd.Split(s, -1) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		out = append(out, part)
		if len(out) == n {
			break
		}
	}
	return out
}

// --- prompts without an answer key -------------------------------------------

var (
	replyWithRe = regexp.MustCompile(`(?i)(?:reply|respond|answer|say)(?: with)? ['"]([^'"]+)['"]`)
	countToRe   = regexp.MustCompile(`(?i)count (?:from (\d+) )?to (\d+)`)
)

// generic answers a prompt that names no known task.
func generic(user string) string {
	if m := replyWithRe.FindStringSubmatch(user); m != nil {
		return m[1]
	}
	if m := countToRe.FindStringSubmatch(user); m != nil {
		from := 1
		if m[1] != "" {
			from, _ = strconv.Atoi(m[1])
		}
		to, _ := strconv.Atoi(m[2])
		if to-from > 100 {
			to = from + 100
		}
		var parts []string
		for i := from; i <= to; i++ {
			parts = append(parts, strconv.Itoa(i))
		}
		return strings.Join(parts, ", ")
	}
	return "I am a simulated model and this question is not in my answer key, so I cannot answer it. " +
		"Register the task with sim.Config.Tasks to simulate answers to it."
}
