package tasks

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replyCase is one model reply judged against a gold answer.
type replyCase struct {
	name  string
	reply string
	gold  string
	want  string // extracted answer; "" when none is expected
	score float64
}

func runReplyCases(t *testing.T, scorerName string, cases []replyCase) {
	t.Helper()
	require.GreaterOrEqual(t, len(cases), 20, "each scorer needs at least 20 real-looking replies")
	s, err := ScorerByName(scorerName)
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := s.Extract(tc.reply)
			assert.Equal(t, tc.want != "", ok, "ok")
			assert.Equal(t, tc.want, got, "extracted answer")
			score, err := Score(context.Background(), &Task{ID: "t", Gold: tc.gold, Scorer: s}, tc.reply)
			require.NoError(t, err)
			assert.Equal(t, tc.score, score, "score")
		})
	}
}

func TestNumberScorer(t *testing.T) {
	runReplyCases(t, "gsm8k", []replyCase{
		{"gsm8k format", "Janet's ducks lay 16 eggs per day.\nShe eats 3 and bakes with 4, so 16 - 3 - 4 = <<16-3-4=9>>9 eggs are left.\nShe sells them for $2 each: 9 * 2 = $<<9*2=18>>18.\n#### 18", "18", "18", 1},
		{"answer is", "Let's work through this step by step.\n\nFirst, Natalia sold 48 clips in April.\nIn May she sold half as many: 48 / 2 = 24.\nAltogether: 48 + 24 = 72.\n\nThe answer is 72.", "72", "72", 1},
		{"markdown final answer with dollar", "**Step 1:** Weng earns $12 per hour, i.e. $0.20 per minute.\n**Step 2:** She worked 50 minutes: 50 × 0.2 = 10.\n\n**Final Answer:** $10", "10", "10", 1},
		{"boxed", "We need the total cost.\n\\[ 3 \\times 4 + 6 = 18 \\]\nSo Mark pays $\\boxed{18}$ dollars.", "18", "18", 1},
		{"thousands comma", "Each house costs $80,000 and he repairs it for $50,000.\nThe value rises by 150%, so it is worth 80,000 × 2.5 = 200,000.\nProfit = 200,000 − 130,000 = 70,000.\nThe answer is 70,000.", "70000", "70000", 1},
		{"unit after number", "The rectangle is 5 cm wide and 3 cm tall, so the perimeter is 2 × (5 + 3) = 16.\nSo the final answer is 16 cm.", "16", "16", 1},
		{"words after last number", "James writes a 3-page letter to 2 friends twice a week.\nThat is 3 × 2 × 2 = 12 pages a week, and 12 × 52 = 624 pages a year.\nHe writes 624 pages", "624", "624", 1},
		{"trailing zeros", "Total cost: 3 × $6.00 = $18.00\nThe answer is $18.00.", "18", "18", 1},
		{"negative", "The temperature starts at 5 degrees and falls 8 degrees overnight.\n5 - 8 = -3\nThe answer is -3.", "-3", "-3", 1},
		{"fraction", "She ate 1/4 of the pizza, so the fraction left is 1 - 1/4.\nThe answer is 3/4", "0.75", "0.75", 1},
		{"percent", "The price went from $40 to $50, an increase of $10.\n10 / 40 = 0.25, which is 25%.\nThe answer is 25%.", "25", "25", 1},
		{"wrong gsm8k line", "Janet has 16 eggs. She uses 3 + 4 = 7.\nShe sells 16 - 7 = 8 eggs at $2 each.\n#### 16", "18", "16", 0},
		{"no answer", "I'm sorry, but I can't determine how much she earns without knowing the price of each egg.", "18", "", 0},
		{"equation inside the answer statement", "Let me recount.\nThe answer is 16 - 3 - 4 = 9 eggs, sold for $2 each.", "9", "9", 1},
		{"last statement wins", "My first thought is that the answer is 12.\nWait, I forgot the 2 extra hours on Saturday.\nActually, the answer is 14.", "14", "14", 1},
		{"explanation after the answer", "The answer is 5 (since x = 3 + 2 in the second equation).", "5", "5", 1},
		{"statement beats later numbers", "The answer is 42.\n\nCheck: 6 * 7 = 42 and 2 + 2 = 4, which matches.", "42", "42", 1},
		{"answer colon with unit", "Tim watches 2 shows of 30 minutes each, every day for 18 days.\n2 × 30 × 18 = 1080\nAnswer: 1,080 minutes", "1080", "1080", 1},
		{"boxed with text unit", "Adding it up: 12 + 6 = 18.\n\nFinal answer: $\\boxed{18 \\text{ dollars}}$", "18", "18", 1},
		{"boxed with escaped dollar", "The car costs \\$1,000 more than the bike, which costs \\$200.\nTotal: $\\boxed{\\$1,200}$", "1200", "1200", 1},
		{"subtraction is not a sign", "She had 20 apples and gave away 7.\nShe has 20 - 7 apples left, that is\n13", "13", "13", 1},
		{"large number", "The company makes 850 thousand widgets: 850 × 1000 = 850,000.\nThe final answer is 850,000.", "850000", "850000", 1},
		{"cents", "A pencil costs 50 cents, so the answer is: $0.50", "0.5", "0.5", 1},
		{"bold number", "Adding the three weeks: 5 + 6 + 7 = 18.\n\n**18**", "18", "18", 1},
		{"answer on the next line", "Putting everything together, the final answer is:\n\n$$18$$", "18", "18", 1},
		{"latex fraction in the statement", "Half of the remaining three halves is three quarters.\nThe answer is: $\\frac{3}{4}$", "0.75", "0.75", 1},
		{"close but wrong", "Dividing 37 by 2 gives 18.5.\nThe answer is 18.5.", "18", "18.5", 0},
		{"empty reply", "", "18", "", 0},
	})
}

func TestChoiceScorer(t *testing.T) {
	runReplyCases(t, "mmlu", []replyCase{
		{"answer is paren", "Q(sqrt(2), sqrt(3), sqrt(18)) = Q(sqrt(2), sqrt(3)) since sqrt(18) = 3 sqrt(2).\nThat extension has degree 2 × 2 = 4.\nThe answer is (B).", "B", "B", 1},
		{"answer colon", "Let's think step by step. The heart has four chambers: two atria and two ventricles.\nAnswer: C", "C", "C", 1},
		{"article A in prose", "A reasonable first guess is the mitochondria, but that is wrong.\nA ribosome builds proteins, so the answer is D.", "D", "D", 1},
		{"article A only", "A reasonable guess is that the field extension has degree four, but I am not certain.", "B", "", 0},
		{"line start choice", "Looking at each option, only one gives degree 4.\n\nB) 4", "B", "B", 1},
		{"boxed", "The GDP deflator rises, so real GDP falls.\n\n$\\boxed{C}$", "C", "C", 1},
		{"bold letter", "Comparing the four options, the second is the only consistent one.\n\n**B**", "B", "B", 1},
		{"bare letter", "B", "B", "B", 1},
		{"correct answer is bold", "Option A confuses correlation with causation. Option B reverses it.\nThe correct answer is **C. 2**", "C", "C", 1},
		{"wrong letter", "Photosynthesis happens in the chloroplast.\nThe answer is A.", "B", "A", 0},
		{"last statement wins", "At first I thought the answer is A, since the wording is similar.\nHowever, A describes mitosis, not meiosis.\nSo the answer is C.", "C", "C", 1},
		{"option in parentheses", "Of the four choices, I believe option (D) is correct because it is the only irrational one.", "D", "D", 1},
		{"final answer paren", "Step 1: the ratio is 3:1.\nStep 2: that matches the second option.\nFinal answer: (A)", "A", "A", 1},
		{"answer is A because", "The answer is A because the Supremacy Clause gives federal law priority.", "A", "A", 1},
		{"no answer", "I cannot determine which option is correct from the information given in the question.", "A", "", 0},
		{"options listed then answer", "A. 0 – incorrect, the extension is not trivial\nB. 4 – correct\nC. 2 – incorrect\nD. 6 – incorrect\n\nThe answer is B.", "B", "B", 1},
		{"answer colon boxed", "The mean of the sample is 5.\nAnswer: $\\boxed{B}$", "B", "B", 1},
		{"bold answer statement", "Kant grounds morality in reason, not consequences.\n\n**Answer: C**", "C", "C", 1},
		{"best choice is", "The best choice is (A), since a tariff raises domestic prices.", "A", "A", 1},
		{"vitamin D is not a letter", "Rickets is caused by a lack of Vitamin D in the diet.", "D", "", 0},
		{"answer with text", "Answer: D) 6", "D", "D", 1},
		{"markdown bullet", "Let me go through the options:\n- **B.** 4 — this matches the degree we computed.", "B", "B", 1},
		{"bare letter with period", "After eliminating the others:\n\nC.", "C", "C", 1},
		{"option is correct", "Option A double-counts the tariff revenue.\nOption B is correct, since the deadweight loss is the two triangles.", "B", "B", 1},
		{"paren is the best answer", "Considering all four, (D) is the best answer here.", "D", "D", 1},
		{"article before is", "A tariff is a tax on imports, so prices rise.\nAnswer: C", "C", "C", 1},
		{"later correct statement wins", "The answer is A at first glance, but on reflection C is correct.", "C", "C", 1},
		{"go with", "Both A and B ignore friction; D double-counts it.\nI'd go with C.", "C", "C", 1},
		{"lower-case article is not an answer", "the answer is a matter of definition, so it depends on the convention.", "A", "", 0},
	})
}

func TestMathScorer(t *testing.T) {
	runReplyCases(t, "math", []replyCase{
		{"boxed fraction", "We have $r = \\sqrt{0^2 + 3^2} = 3$, and the probability is\n$$\\frac{3}{6} = \\boxed{\\frac{1}{2}}.$$", `\frac{1}{2}`, `\frac{1}{2}`, 1},
		{"decimal for fraction", "Half of the outcomes are even, so the probability is $\\boxed{0.5}$.", `\frac{1}{2}`, "0.5", 1},
		{"dfrac unbraced", "Therefore the answer is $\\boxed{\\dfrac12}$.", `\frac{1}{2}`, `\frac{1}{2}`, 1},
		{"slash fraction", "So the ratio is \\boxed{1/2}.", `\frac12`, `\frac{1}{2}`, 1},
		{"degrees", "The angles of a triangle sum to $180^\\circ$, so $x = 180 - 45 - 45 = \\boxed{90^\\circ}$.", "90", "90", 1},
		{"units", "The area is $10 \\times 10 = \\boxed{100 \\text{ square units}}$.", `100\text{ square units}`, "100", 1},
		{"leading variable", "Subtracting 3 from both sides gives $2x = 10$, so $\\boxed{x = 5}$.", "5", "5", 1},
		{"interval", "The inequality holds for all $x \\le 3$, so the solution set is $\\boxed{\\left( -\\infty, 3 \\right]}$.", `(-\infty,3]`, `(-\infty,3]`, 1},
		{"tuple compared element-wise", "Solving the system gives $x = 0.5$ and $y = 2$, so the point is $\\boxed{(0.5, 2)}$.", `\left( \frac{1}{2}, 2 \right)`, "(0.5,2)", 1},
		{"sqrt unbraced", "The diagonal is $\\sqrt{4 + 8} = \\boxed{2\\sqrt3}$.", `2\sqrt{3}`, `2\sqrt{3}`, 1},
		{"money", "Adding the items: $\\$7.50 + \\$11.40 = \\boxed{\\$18.90}$.", `\$18.9`, "18.90", 1},
		{"percent", "The increase is $\\frac{10}{40} = \\boxed{25\\%}$.", "25", "25", 1},
		{"minerva final answer", "Let $a$ be the first term. Then $a = 3/4$.\nFinal Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", `\frac34`, `\frac{3}{4}`, 1},
		{"answer is dollar", "Multiplying, we get $3 \\cdot 4 = 12$. The answer is $12$.", "12", "12", 1},
		{"wrong fraction", "There are 3 outcomes, one favourable, so the probability is $\\boxed{\\frac{1}{3}}$.", `\frac{1}{2}`, `\frac{1}{3}`, 0},
		{"tuple in wrong order", "The vertex is at $\\boxed{(2, 0.5)}$.", `\left( \frac12, 2 \right)`, "(2,0.5)", 0},
		{"open vs closed interval", "So $x$ lies in $\\boxed{(1, 2)}$.", "[1, 2]", "(1,2)", 0},
		{"no answer", "Let me think about this problem. We need the sum of the roots, which by Vieta's formulas is related to the coefficients, but I ran out of time.", "7", "", 0},
		{"unclosed box", "The answer is therefore \\boxed{\\frac{1}{2}", `\frac{1}{2}`, "", 0},
		{"last box wins", "At first I get $\\boxed{3}$, but I dropped a term; correcting it gives $\\boxed{4}$.", "4", "4", 1},
		{"fbox", "Hence the count is \\fbox{7}.", "7", "7", 1},
		{"boxed without braces", "So the number of ways is $\\boxed 5$.", "5", "5", 1},
		{"text answer", "Evelyn covers the most distance per unit time, so the answer is $\\boxed{\\text{Evelyn}}$.", `\text{Evelyn}`, "Evelyn", 1},
		{"wrong text answer", "Bob is fastest, so the answer is $\\boxed{\\text{Bob}}$.", `\text{Evelyn}`, "Bob", 0},
		{"thousands", "There are $10 \\cdot 1000 = \\boxed{10,000}$ such numbers.", `10{,}000`, "10000", 1},
		{"mixed number", "The length is $\\boxed{\\frac{63}{5}}$ inches.", `12\frac{3}{5}`, `\frac{63}{5}`, 1},
		{"left right pair", "Converting, we get $\\boxed{\\left(3, \\frac{\\pi}{2}\\right)}$.", `\left( 3, \frac{\pi}{2} \right)`, `(3,\frac{\pi}{2})`, 1},
		{"equation of a line", "The slope is 2 and the intercept is 3, so the line is $\\boxed{y = 2x+3}$.", "y = 2x + 3", "2x+3", 1},
		{"negative fraction", "Thus $k = \\boxed{-\\frac{1}{2}}$.", `-\frac12`, `-\frac{1}{2}`, 1},
		{"set membership", "Combining both conditions, $$\\boxed{x \\in [2, 5)}$$", "[2,5)", "[2,5)", 1},
		{"matrix spacing", "So $\\mathbf{M} = \\boxed{\\begin{pmatrix} 1 & 2 \\\\3 & 4 \\end{pmatrix}}$.", `\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}`, `\begin{pmatrix}1&2\\3&4\end{pmatrix}`, 1},
	})
}

func TestExactScorer(t *testing.T) {
	runReplyCases(t, "exact", []replyCase{
		{"bare", "Paris", "Paris", "Paris", 1},
		{"case-insensitive", "paris", "Paris", "paris", 1},
		{"answer prefix", "The capital of France has been Paris since 987.\nAnswer: Paris", "Paris", "Paris", 1},
		{"final answer prefix", "Mercury is the closest planet to the Sun.\nFinal answer: Mercury", "Mercury", "Mercury", 1},
		{"markdown prefix", "Let me reason about size.\nThe blue whale can reach 30 m.\n\n**Answer:** Blue whale", "blue whale", "Blue whale", 1},
		{"wrong", "Answer: Lyon", "Paris", "Lyon", 0},
		{"empty", "", "Paris", "", 0},
		{"blank lines after", "Answer: Paris\n\n\n   \n", "Paris", "Paris", 1},
		{"repeated prefix", "answer: Answer: 42", "42", "42", 1},
		{"prefix without answer", "I thought about it carefully.\nAnswer:", "Paris", "", 0},
		{"sentence is not the answer", "After some thought,\nThe answer is Paris", "Paris", "The answer is Paris", 0},
		{"trailing period counts", "Answer: Paris.", "Paris", "Paris.", 0},
		{"surrounding space", "Answer:    Paris   ", "  Paris ", "Paris", 1},
		{"multi-word", "Thinking about famous authors...\nAnswer: Leo Tolstoy", "leo tolstoy", "Leo Tolstoy", 1},
		{"only last line counts", "Answer: Paris\nActually no, it is Lyon", "Paris", "Actually no, it is Lyon", 0},
		{"number as text", "Count the letters: s-t-r-a-w-b-e-r-r-y.\nAnswer: 3", "3", "3", 1},
		{"number text differs", "Answer: 3.0", "3", "3.0", 0},
		{"yes no", "The statement holds for every even n.\nFinal Answer: yes", "Yes", "yes", 1},
		{"crlf", "Reasoning...\r\nAnswer: Paris\r\n", "Paris", "Paris", 1},
		{"unicode", "Die Antwort lautet:\nAnswer: Köln", "köln", "Köln", 1},
		{"spaces only", "   \n\t\n", "Paris", "", 0},
	})
}

func TestScorerRegistry(t *testing.T) {
	assert.Equal(t, []string{"choice", "code", "exact", "gsm8k", "math", "mmlu", "number"}, ScorerNames())
	for _, tc := range []struct{ name, want string }{
		{"gsm8k", "gsm8k"}, {"number", "gsm8k"}, {"mmlu", "mmlu"}, {"choice", "mmlu"}, {"math", "math"}, {"exact", "exact"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ScorerByName(tc.name)
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Name())
		})
	}
	_, err := ScorerByName("regex")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"regex"`)
	assert.Contains(t, err.Error(), "choice, code, exact, gsm8k, math, mmlu, number")
}

func TestNewScorer(t *testing.T) {
	upper := NewScorer("upper", func(r string) (string, bool) {
		r = strings.TrimSpace(r)
		return strings.ToUpper(r), r != ""
	}, nil)
	plain := NewScorer("plain", nil, func(a, b string) bool { return strings.EqualFold(a, b) })
	tests := []struct {
		name  string
		s     Scorer
		reply string
		gold  string
		score float64
	}{
		{"custom extract, default equivalent", upper, " yes ", "YES", 1},
		{"default equivalent is case-sensitive", upper, "yes", "yes", 0},
		{"default extract takes the trimmed reply", plain, "  Yes \n", "yes", 1},
		{"default extract refuses a blank reply", plain, "  \n", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Score(context.Background(), &Task{Gold: tc.gold, Scorer: tc.s}, tc.reply)
			require.NoError(t, err)
			assert.Equal(t, tc.score, got)
		})
	}
	assert.Equal(t, "upper", upper.Name())
}

func TestLastBoxed(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`\boxed{5}`, "5", true},
		{`so $\boxed{\frac{1}{2}}$.`, `\frac{1}{2}`, true},
		{`\boxed{1} then \boxed{2}`, "2", true},
		{`\boxed{\{1, 2\}}`, `\{1, 2\}`, true},
		{`\fbox{7}`, "7", true},
		{`\boxed{3} and \fbox{4}`, "4", true},
		{`$\boxed 5$ ways`, "5", true},
		{"\\boxed 12\nnext line", "12", true},
		{`\boxed{\boxed{9}}`, "9", true},
		{`\boxed{\frac{1}{2}`, "", false},
		{`\boxedx`, "", false},
		{`no box here`, "", false},
		{`\boxed{}`, "", true},
		{`\boxed {x+1}`, "x+1", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := LastBoxed(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCanonicalNumber(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"18", "18", true},
		{"18.00", "18", true},
		{"1,234", "1234", true},
		{"$1,234.50", "1234.5", true},
		{`\$5`, "5", true},
		{"-2.5", "-2.5", true},
		{"−7", "-7", true},
		{"-$5", "-5", true},
		{"$-5", "-5", true},
		{"18 dollars", "18", true},
		{"5 cm", "5", true},
		{`15\text{ cm}^2`, "15", true},
		{"18.", "18", true},
		{"75%", "75", true},
		{"3/4", "0.75", true},
		{`\frac{3}{4}`, "0.75", true},
		{`\dfrac{-1}{2}`, "-0.5", true},
		{"**18**", "18", true},
		{".5", "0.5", true},
		{"1.5e3", "1500", true},
		{"0", "0", true},
		{"-0", "0", true},
		{"x = 5", "", false},
		{"3 + 4", "", false},
		{"4:30", "", false},
		{"1/0", "", false},
		{"twelve", "", false},
		{"", "", false},
		{"3, 4", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := CanonicalNumber(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNormalizeMath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\left( 3, \frac{\pi}{2} \right)`, `(3,\frac{\pi}{2})`},
		{`\dfrac{1}{9}`, `\frac{1}{9}`},
		{`\tfrac12`, `\frac{1}{2}`},
		{`\frac 1{72}`, `\frac{1}{72}`},
		{`\frac \pi4 + 2 - \sqrt2`, `\frac{\pi}{4}+2-\sqrt{2}`},
		{`8\frac47`, `8\frac{4}{7}`},
		{`11\sqrt2`, `11\sqrt{2}`},
		{`48^\circ`, "48"},
		{`118^{\circ}`, "118"},
		{`20\text{ degrees}`, "20"},
		{`\frac{270}7\text{ degrees}`, `\frac{270}{7}`},
		{`30 degrees`, "30"},
		{`100\text{ square units}`, "100"},
		{`15\mbox{ cm}^2`, "15"},
		{`0.25\,\text{ cm}`, "0.25"},
		{`\text{4:30 p.m.}`, "4:30p.m"},
		{`\text{Evelyn}`, "Evelyn"},
		{`\$4,\!000`, "4000"},
		{`10{,}000`, "10000"},
		{`900,\!000,\!000`, "900000000"},
		{`198\%`, "198"},
		{"5.", "5"},
		{".5", "0.5"},
		{"x = 5", "5"},
		{`\theta = \frac{\pi}{3}`, `\frac{\pi}{3}`},
		{"x_1 = 2", "2"},
		{`x \in [2, 5)`, "[2,5)"},
		{"11x + 6y + 5z + 86 = 0", "11x+6y+5z+86=0"},
		{"3/4", `\frac{3}{4}`},
		{"-3/4", `-\frac{3}{4}`},
		{"1,-2", "1,-2"},
		{"(46,2004)", "(46,2004)"},
		{"90\\text{ square\nunits}", "90"},
		{`\begin{pmatrix} -3 \\ 11 \end{pmatrix}`, `\begin{pmatrix}-3\\11\end{pmatrix}`},
		{`\left\{ 1, 2 \right\}`, `\{1,2\}`},
		{`3\mathbf{i} + 2\mathbf{j}`, "3i+2j"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := NormalizeMath(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, NormalizeMath(got), "idempotent")
		})
	}
}

func TestMathEquivalent(t *testing.T) {
	s := mathScorer{}
	tests := []struct {
		a, b string
		want bool
	}{
		{`\frac{1}{2}`, "0.5", true},
		{`\frac12`, `\dfrac{1}{2}`, true},
		{"1/2", `\frac{1}{2}`, true},
		{`12\frac{3}{5}`, "12.6", true},
		{`-\frac{1}{2}`, `\frac{-1}{2}`, true},
		{"0.333333", `\frac{1}{3}`, true},
		{"0.33", `\frac{1}{3}`, false},
		{"(0.5,2)", `\left(\frac12, 2\right)`, true},
		{"[0.5,2)", `\left(\frac12, 2\right)`, false},
		{"(1,2,3)", "(1,2)", false},
		{`\{1,2\}`, `\{1, 2\}`, true},
		{"3, 5, 7", "3,5,7", true},
		{"0.5, 1", `\frac{1}{2},1`, true},
		{`\sqrt{2}`, `\sqrt2`, true},
		{`\sqrt{2}`, "1.41421356", false},
		{"10000", "10,000", true},
		{"", "", false},
		{`\text{ cm}`, "", false},
		{`\frac{1}{0}`, "0", false},
	}
	for _, tc := range tests {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			assert.Equal(t, tc.want, s.Equivalent(tc.a, tc.b))
			assert.Equal(t, tc.want, s.Equivalent(tc.b, tc.a), "symmetric")
		})
	}
}

func TestNumberEquivalent(t *testing.T) {
	s := numberScorer{}
	tests := []struct {
		a, b string
		want bool
	}{
		{"18", "18.00", true},
		{"1234", "1,234", true},
		{"0.75", "3/4", true},
		{"1000000", "1000000.5", true},
		{"100", "100.01", false},
		{"-3", "3", false},
		{"0", "-0", true},
		{"abc", "abc", false},
		{"", "0", false},
	}
	for _, tc := range tests {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			assert.Equal(t, tc.want, s.Equivalent(tc.a, tc.b))
		})
	}
}

func TestChoiceEquivalent(t *testing.T) {
	s := choiceScorer{}
	assert.True(t, s.Equivalent("B", " b "))
	assert.False(t, s.Equivalent("B", "C"))
	assert.False(t, s.Equivalent("E", "E"), "only A-D are choices")
	assert.False(t, s.Equivalent("", ""))
}
