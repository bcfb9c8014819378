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
	roleFeaturesName = "role-v1/69"
)

// Model description features φ(model, domain): a bias, log10 input and
// output price per million tokens (plus one cent, so free local models are
// finite), the skill for the domain (the mean skill when absent, 0.5 when
// the model lists none), the mean skill, whether the domain's skill is
// listed, and the hashed words (unigrams) of the description.
const (
	modelBuckets      = 32
	modelDense        = 6
	modelFeatureDim   = modelDense + modelBuckets
	modelFeaturesName = "model-v1/38"
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
// model from for tasks of domain d: prices, skills and description words,
// never the model's name or position in the pool.
func ModelFeatures(m *agents.Model, d tasks.Domain) Features {
	// Sum in key order: map order would make the last bits vary by run.
	var sum float64
	for _, k := range slices.Sorted(maps.Keys(m.Skills)) {
		sum += m.Skills[k]
	}
	mean := 0.5
	if len(m.Skills) > 0 {
		mean = sum / float64(len(m.Skills))
	}
	skill, has := m.Skills[string(d)]
	if !has {
		skill = mean
	}
	dense := [modelDense]float64{
		1,
		math.Log10(m.Price.InputPerMillion + 0.01),
		math.Log10(m.Price.OutputPerMillion + 0.01),
		skill,
		mean,
		0,
	}
	if has {
		dense[5] = 1
	}
	var idx []int
	var val []float64
	for k, v := range dense {
		if v != 0 {
			idx = append(idx, k)
			val = append(val, v)
		}
	}
	idx, val = appendHashed(idx, val, m.Description, modelBuckets, modelDense)
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
	// modelFeat[m] is φ of the controller's m-th pool model for this domain.
	modelFeat []Features
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
	if len(rs) == 0 {
		return nil, fmt.Errorf("domain %q has no roles", d)
	}
	dt := &domainTable{domain: d, roles: rs, roleIndex: make(map[string]int, len(rs))}
	for i, r := range rs {
		dt.roleFeat = append(dt.roleFeat, RoleFeatures(r))
		dt.roleIndex[r.Name] = i
	}
	for _, m := range models {
		dt.modelFeat = append(dt.modelFeat, ModelFeatures(m, d))
	}
	dt.roleT, dt.modelT = transpose(dt.roleFeat), transpose(dt.modelFeat)
	return dt, nil
}
