package roles_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// mmluSubjects are the 57 MMLU subjects, as named by the dataset's files.
var mmluSubjects = []string{
	"abstract_algebra", "anatomy", "astronomy", "business_ethics",
	"clinical_knowledge", "college_biology", "college_chemistry",
	"college_computer_science", "college_mathematics", "college_medicine",
	"college_physics", "computer_security", "conceptual_physics",
	"econometrics", "electrical_engineering", "elementary_mathematics",
	"formal_logic", "global_facts", "high_school_biology",
	"high_school_chemistry", "high_school_computer_science",
	"high_school_european_history", "high_school_geography",
	"high_school_government_and_politics", "high_school_macroeconomics",
	"high_school_mathematics", "high_school_microeconomics",
	"high_school_physics", "high_school_psychology", "high_school_statistics",
	"high_school_us_history", "high_school_world_history", "human_aging",
	"human_sexuality", "international_law", "jurisprudence",
	"logical_fallacies", "machine_learning", "management", "marketing",
	"medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios",
	"nutrition", "philosophy", "prehistory", "professional_accounting",
	"professional_law", "professional_medicine", "professional_psychology",
	"public_relations", "security_studies", "sociology", "us_foreign_policy",
	"virology", "world_religions",
}

// mathSubjects are the seven subjects of the MATH benchmark.
var mathSubjects = []string{
	"Algebra", "Counting & Probability", "Geometry", "Intermediate Algebra",
	"Number Theory", "Prealgebra", "Precalculus",
}

// words normalises a subject or keyword to space-separated lower-case words.
func words(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("_", " ", "&", " and ", "-", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// matches reports whether keyword occurs in subject as whole words.
func matches(keyword, subject string) bool {
	return strings.Contains(" "+words(subject)+" ", " "+words(keyword)+" ")
}

// sentenceEnd ends a sentence: a full stop, question or exclamation mark,
// optionally closed by a quote or bracket, then space or the end.
var sentenceEnd = regexp.MustCompile(`[.!?]["')]*(\s+|$)`)

func sentences(s string) int {
	n := 0
	for _, part := range sentenceEnd.Split(strings.TrimSpace(s), -1) {
		if strings.TrimSpace(part) != "" {
			n++
		}
	}
	return n
}

func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"One.", 1},
		{"One. Two? Three!", 3},
		{`Say "not". Then stop.`, 2},
		{"Use functools.lru_cache here. Done.", 2},
		{"", 0},
	} {
		assert.Equal(t, tc.want, sentences(tc.in), tc.in)
	}
}

func TestEmbeddedProfiles(t *testing.T) {
	r, err := roles.Default()
	require.NoError(t, err)
	require.Equal(t, []tasks.Domain{tasks.DomainCode, tasks.DomainCommonsense, tasks.DomainMath}, r.Domains())

	formats := map[tasks.Domain]string{
		tasks.DomainMath:        `\boxed{}`,
		tasks.DomainCommonsense: "The answer is (",
		tasks.DomainCode:        "```python",
	}
	lowerKeyword := regexp.MustCompile(`^[a-z0-9]+( [a-z0-9]+)*$`)
	for _, d := range tasks.Domains() {
		t.Run(string(d), func(t *testing.T) {
			list := r.Domain(d)
			require.GreaterOrEqual(t, len(list), 8, "roles in %s", d)
			kinds := map[roles.Kind]int{}
			names := map[string]bool{}
			for _, role := range list {
				t.Run(role.Name, func(t *testing.T) {
					assert.NoError(t, role.Validate())
					assert.Equal(t, d, role.Domain)
					assert.False(t, names[role.Name], "duplicate name")
					names[role.Name] = true
					kinds[role.Kind]++

					assert.Contains(t, role.OutputFormat, formats[d])
					if d == tasks.DomainCommonsense {
						assert.Contains(t, role.OutputFormat, "A, B, C or D")
					}
					if n := sentences(role.Description); n < 1 || n > 2 {
						assert.Failf(t, "description length", "%d sentences, want 1-2: %q", n, role.Description)
					}
					if n := sentences(role.SystemPrompt); n < 3 || n > 6 {
						assert.Failf(t, "system prompt length", "%d sentences, want 3-6: %q", n, role.SystemPrompt)
					}
					assert.True(t, strings.HasPrefix(role.SystemPrompt, "You are "), "system prompt should set the persona first")
					assert.NotEmpty(t, role.Expertise)
					seen := map[string]bool{}
					for _, k := range role.Expertise {
						assert.Regexp(t, lowerKeyword, k, "keyword must be lower-case words")
						assert.False(t, seen[k], "duplicate keyword %q", k)
						seen[k] = true
					}
				})
			}
			assert.GreaterOrEqual(t, kinds[roles.KindSolver], 3, "solvers")
			for _, k := range []roles.Kind{roles.KindPlanner, roles.KindCritic, roles.KindVerifier} {
				assert.GreaterOrEqual(t, kinds[k], 1, "%s roles", k)
			}
		})
	}
}

func TestMMLUSubjectsCovered(t *testing.T) {
	require.Len(t, mmluSubjects, 57)
	r, err := roles.Default()
	require.NoError(t, err)
	list := r.Domain(tasks.DomainCommonsense)
	for _, subject := range mmluSubjects {
		t.Run(subject, func(t *testing.T) {
			var experts []string
			for _, role := range list {
				for _, k := range role.Expertise {
					if matches(k, subject) {
						experts = append(experts, role.Name)
						break
					}
				}
			}
			assert.NotEmpty(t, experts, "no commonsense role has a keyword matching %q", subject)
		})
	}
}

func TestMathSubjectsCovered(t *testing.T) {
	r, err := roles.Default()
	require.NoError(t, err)
	for _, subject := range mathSubjects {
		t.Run(subject, func(t *testing.T) {
			var solvers []string
			for _, role := range r.Domain(tasks.DomainMath) {
				for _, k := range role.Expertise {
					if role.Kind == roles.KindSolver && matches(k, subject) {
						solvers = append(solvers, role.Name)
						break
					}
				}
			}
			assert.NotEmpty(t, solvers, "no math solver has a keyword matching %q", subject)
		})
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		keyword, subject string
		want             bool
	}{
		{"history", "high_school_us_history", true},
		{"us history", "high_school_us_history", true},
		{"law", "professional_law", true},
		{"law", "jurisprudence", false},
		{"security", "computer_security", true},
		{"computer security", "security_studies", false},
		{"counting and probability", "Counting & Probability", true},
		{"algebra", "Prealgebra", false},
	} {
		assert.Equal(t, tc.want, matches(tc.keyword, tc.subject), "%q in %q", tc.keyword, tc.subject)
	}
}
