package routing

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tmc/langchaingo/llms"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// gsm8kQuestion is GSM8K test question 0 (MIT licence), a real-length query.
const gsm8kQuestion = "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"

// idleLLM satisfies llms.Model; routing never calls a model.
type idleLLM struct{}

var errIdle = errors.New("idle model called")

func (idleLLM) GenerateContent(context.Context, []llms.MessageContent, ...llms.CallOption) (*llms.ContentResponse, error) {
	return nil, errIdle
}

func (idleLLM) Call(context.Context, string, ...llms.CallOption) (string, error) { return "", errIdle }

func testModel(name string, in, out float64, desc string, skills map[string]float64) *agents.Model {
	return &agents.Model{Name: name, Provider: "test", LLM: idleLLM{}, Price: agents.Price{InputPerMillion: in, OutputPerMillion: out}, Description: desc, Skills: skills}
}

func testModels() []*agents.Model {
	return []*agents.Model{
		testModel("gpt-4o", 2.5, 10, "OpenAI flagship multimodal model with strong reasoning.", map[string]float64{"math": 0.76, "commonsense": 0.88, "code": 0.90}),
		testModel("gpt-4o-mini", 0.15, 0.6, "Small, fast and cheap OpenAI model.", map[string]float64{"math": 0.70, "commonsense": 0.82, "code": 0.87}),
		testModel("claude-3.5-haiku", 0.8, 4, "Fast Anthropic model.", map[string]float64{"math": 0.69, "commonsense": 0.80, "code": 0.88}),
		testModel("llama-3.1-8b", 0.05, 0.08, "Open-weight 8B model served locally; weak at maths.", map[string]float64{"math": 0.52, "commonsense": 0.69}),
	}
}

func testPool(t testing.TB) *agents.Pool {
	t.Helper()
	p, err := agents.NewPool(testModels()...)
	require.NoError(t, err)
	return p
}

func testRole(d tasks.Domain, name string, kind roles.Kind, desc string, expertise ...string) roles.Role {
	return roles.Role{Name: name, Domain: d, Kind: kind, Description: desc, SystemPrompt: "You are " + name + ".", OutputFormat: "End with the final answer.", Expertise: expertise}
}

// testRegistry has six math roles, three code roles (no planner) and one
// commonsense role.
func testRegistry(t testing.TB) *roles.Registry {
	t.Helper()
	reg := &roles.Registry{}
	for _, r := range []roles.Role{
		testRole(tasks.DomainMath, "Math Solver", roles.KindSolver, "Solves the problem step by step.", "arithmetic"),
		testRole(tasks.DomainMath, "Math Planner", roles.KindPlanner, "Breaks a problem into sub-steps for others.", "planning"),
		testRole(tasks.DomainMath, "Algebra Expert", roles.KindSolver, "Sets up and solves equations.", "algebra", "equations"),
		testRole(tasks.DomainMath, "Math Critic", roles.KindCritic, "Finds mistakes in other agents' work.", "error analysis"),
		testRole(tasks.DomainMath, "Geometry Expert", roles.KindSolver, "Solves geometry problems.", "geometry"),
		testRole(tasks.DomainMath, "Math Verifier", roles.KindVerifier, "Checks the final answer by substitution.", "verification"),
		testRole(tasks.DomainCode, "Programmer", roles.KindSolver, "Writes a correct Python function.", "python"),
		testRole(tasks.DomainCode, "Code Reviewer", roles.KindCritic, "Reviews code for bugs.", "debugging"),
		testRole(tasks.DomainCode, "Test Writer", roles.KindVerifier, "Writes unit tests and checks the code against them.", "testing"),
		testRole(tasks.DomainCommonsense, "Knowledgeable Expert", roles.KindSolver, "Answers with broad general knowledge.", "facts"),
	} {
		require.NoError(t, reg.Add(r))
	}
	return reg
}

func testTask(d tasks.Domain, query string) *tasks.Task {
	return &tasks.Task{ID: "test/" + string(d) + "/" + query, Benchmark: "test", Domain: d, Query: query}
}

func testController(t testing.TB, mod func(*ControllerConfig)) *Controller {
	t.Helper()
	cfg := ControllerConfig{Pool: testPool(t), Roles: testRegistry(t), Seed: 7}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewController(cfg)
	require.NoError(t, err)
	return c
}

func encode(t testing.TB, c *Controller, query string) Features {
	t.Helper()
	f, err := c.Encode(context.Background(), testTask(tasks.DomainMath, query))
	require.NoError(t, err)
	return f
}
