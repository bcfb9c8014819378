package routing

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

// Role description features ψ(role): a bias, the kind one-hot, and the
// hashed words (unigrams) of the name, description, expertise and kind.
const (
	roleBuckets      = 64
	roleDense        = 5
	roleFeatureDim   = roleDense + roleBuckets
	roleFeaturesName = "role-v2/69+keyword-match"
)

// Model description features φ(model, domain, scope): a bias, log10 of the
// blended price per million tokens (input and output weighted 1:3, a typical
// chat ratio, plus one cent so free local models are finite), and the
// published skill for the query's scope (its benchmark), else for the domain
// (the mean of the listed skills when neither is listed, 0.5 when none is).
//
// Nothing else describes a model, on purpose: with the description's words,
// or input and output prices apart, a pool of a handful of models is
// linearly separable, and training learns each model's identity instead of
// what its price and skill are worth. With these two numbers a model added
// later that is cheaper and stronger than the ones the policy chose is
// scored above them with no retraining (MasRouter's inductive claim).
const (
	modelDense        = 3
	modelFeatureDim   = modelDense
	modelFeaturesName = "model-v4/3-monotone-scoped"
	// modelPriceFeature and modelSkillFeature index φ's dense part.
	modelPriceFeature = 1
	modelSkillFeature = 2
)

var roleKinds = [...]roles.Kind{roles.KindSolver, roles.KindPlanner, roles.KindCritic, roles.KindVerifier}

// RoleFeatures returns the description features ψ the controller embeds a
// role from. They depend only on the role's text and kind, so a role the
// controller was never trained with can still be scored.
func RoleFeatures(r roles.Role) Features {
	idx := []int{0}
	val := []float64{1}
	for k, kind := range roleKinds {
		if r.Kind == kind {
			idx = append(idx, 1+k)
			val = append(val, 1)
		}
	}
	text := r.Name + "\n" + r.Description + "\n" + strings.Join(r.Expertise, ", ") + "\n" + string(r.Kind)
	idx, val = appendHashed(idx, val, text, roleBuckets, roleDense)
	return Features{Dim: roleFeatureDim, Index: idx, Value: val}
}

// ModelFeatures returns the description features φ the controller embeds a
// model from for tasks of domain d and skill scope (a benchmark name, or
// empty): its price and skill, never the model's name or position in the
// pool.
func ModelFeatures(m *agents.Model, d tasks.Domain, scope string) Features {
	skill, has := m.Skills[scope]
	if !has || scope == "" {
		skill, has = m.Skills[string(d)]
	}
	if !has {
		// Sum in key order: map order would make the last bits vary by run.
		var sum float64
		for _, k := range slices.Sorted(maps.Keys(m.Skills)) {
			sum += m.Skills[k]
		}
		skill = 0.5
		if len(m.Skills) > 0 {
			skill = sum / float64(len(m.Skills))
		}
	}
	blended := (m.Price.InputPerMillion + 3*m.Price.OutputPerMillion) / 4
	dense := [modelDense]float64{1, math.Log10(blended + 0.01), skill}
	var idx []int
	var val []float64
	for k, v := range dense {
		if v != 0 {
			idx = append(idx, k)
			val = append(val, v)
		}
	}
	return Features{Dim: modelFeatureDim, Index: idx, Value: val}
}

func appendHashed(idx []int, val []float64, text string, buckets, offset int) ([]int, []float64) {
	hi, hv := hashWords(text, buckets, offset)
	return append(idx, hi...), append(val, hv...)
}

// domainTable caches what the controller scores for one domain.
type domainTable struct {
	domain    tasks.Domain
	roles     []roles.Role
	roleFeat  []Features
	roleIndex map[string]int
	// match finds the roles whose expertise keywords the query names.
	match keywordMatcher
	// modelFeat[m] is φ of the controller's m-th pool model for this domain,
	// and modelPrice[m], modelSkill[m] its log-price and skill entries.
	modelFeat              []Features
	modelPrice, modelSkill []float64
	// roleT and modelT transpose roleFeat and modelFeat for the gradients
	// of role_proj and model_proj.
	roleT, modelT sparseT
	// embed caches the role and model embeddings for one parameter version.
	embed atomic.Pointer[embedCache]
}

// embedCache holds ρ, role_histᵀψ and model_roleᵀψ for every role and μ for
// every model of a domain, computed from one version of the parameters.
type embedCache struct {
	version uint64
	rho     []float64 // role embeddings, rows of Hidden
	hist    []float64 // role history embeddings, rows of Hidden
	mrole   []float64 // roles as the model stage sees them, rows of Hidden
	mu      []float64 // model embeddings, rows of Hidden
}

func newDomainTable(d tasks.Domain, rs []roles.Role, models []*agents.Model) (*domainTable, error) {
	return newScopedTable(d, "", rs, models)
}

// newScopedTable is newDomainTable with the models' skills for scope.
func newScopedTable(d tasks.Domain, scope string, rs []roles.Role, models []*agents.Model) (*domainTable, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("domain %q has no roles", d)
	}
	dt := &domainTable{domain: d, roles: rs, roleIndex: make(map[string]int, len(rs))}
	expertise := make([][]string, len(rs))
	for i, r := range rs {
		dt.roleFeat = append(dt.roleFeat, RoleFeatures(r))
		dt.roleIndex[r.Name] = i
		expertise[i] = r.Expertise
	}
	dt.match = newKeywordMatcher(expertise)
	for _, m := range models {
		f := ModelFeatures(m, d, scope)
		dense := f.Dense(nil)
		dt.modelFeat = append(dt.modelFeat, f)
		dt.modelPrice = append(dt.modelPrice, dense[modelPriceFeature])
		dt.modelSkill = append(dt.modelSkill, dense[modelSkillFeature])
	}
	dt.roleT, dt.modelT = transpose(dt.roleFeat), transpose(dt.modelFeat)
	return dt, nil
}
