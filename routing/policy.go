package routing

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"
)

// decideKind says how forward picks each choice.
type decideKind int

const (
	decideSample decideKind = iota // draw from the softmax
	decideGreedy                   // take the most probable choice
	decideFixed                    // keep the choice already in the workspace
)

// workspace holds the activations of one forward pass and the scratch of its
// backward pass, so neither allocates.
type workspace struct {
	h []float64 // query vector, H

	modePos            int // position in Controller.allowed
	modeLogp, modeProb []float64
	modeEnt            float64

	n                    int // agent count
	countLogp, countProb []float64
	countEnt             float64

	rho, mu            []float64 // role and model embeddings, rows of H (from the cache)
	roleBase           []float64 // role context terms shared by every slot, H
	modelBase          []float64 // model context terms shared by every slot, H
	roleIdx, modelIdx  []int     // choices per slot
	c, k               []float64 // role and model contexts: rows of H per slot
	hist               []float64 // running sum of earlier slots' history embeddings, H
	roleLogp, roleProb []float64 // slot i uses [i*R, (i+1)*R)
	roleEnt            []float64
	modelLogp          []float64 // slot i uses [i*P, (i+1)*P)
	modelProb          []float64
	modelEnt           []float64
	// modelU holds, per slot, the pre-activations u of the price and skill
	// coefficients (2 per slot).
	modelU []float64

	gh, dpre, sumR, sumM, suffix []float64 // backward scratch, H
	g                            []float64 // logit gradients
}

func (c *Controller) newWorkspace() *workspace {
	H, A := c.cfg.Hidden, c.cfg.MaxAgents
	R, P, M := c.maxRoles, len(c.models), len(allModes)
	vec := func(n int) []float64 { return make([]float64, n) }
	return &workspace{
		h:        vec(H),
		modeLogp: vec(M), modeProb: vec(M),
		countLogp: vec(A), countProb: vec(A),
		roleBase: vec(H), modelBase: vec(H),
		roleIdx: make([]int, A), modelIdx: make([]int, A),
		c: vec(A * H), k: vec(A * H), hist: vec(H),
		roleLogp: vec(A * R), roleProb: vec(A * R), roleEnt: vec(A),
		modelLogp: vec(A * P), modelProb: vec(A * P), modelEnt: vec(A), modelU: vec(2 * A),
		gh: vec(H), dpre: vec(H), sumR: vec(H), sumM: vec(H), suffix: vec(H),
		g: vec(max(M, A, R, P)),
	}
}

// reset prepares ws for a new pass.
func (ws *workspace) reset() {
	ws.modePos, ws.n = 0, 0
	ws.countEnt, ws.modeEnt = 0, 0
}

// choose turns the logits s into log-probabilities in place and their
// probabilities into prob, picks a choice and returns it with the entropy.
func choose(s, prob []float64, kind decideKind, rng *rand.Rand, fixed int) (int, float64) {
	mx := s[0]
	for _, v := range s[1:] {
		mx = max(mx, v)
	}
	var z float64
	for i, v := range s {
		e := math.Exp(v - mx)
		prob[i] = e
		z += e
	}
	lse := mx + math.Log(z)
	inv := 1 / z
	var ent float64
	for i := range s {
		s[i] -= lse
		prob[i] *= inv
		if prob[i] > 0 {
			ent -= prob[i] * s[i]
		}
	}
	switch kind {
	case decideGreedy:
		best := 0
		for i, v := range s {
			if v > s[best] {
				best = i
			}
		}
		return best, ent
	case decideSample:
		u := rng.Float64()
		last := 0
		for i, p := range prob {
			if p == 0 {
				continue
			}
			last = i
			u -= p
			if u < 0 {
				return i, ent
			}
		}
		return last, ent
	default:
		return fixed, ent
	}
}

// logitGrad writes into g the gradient, with respect to the logits, of
// a·log p[chosen] + b·H(p), given the log-probabilities, probabilities and
// entropy of one categorical.
func logitGrad(g, logp, prob []float64, chosen int, ent, a, b float64) {
	for j, p := range prob {
		v := -a * p
		if p > 0 {
			v -= b * p * (logp[j] + ent)
		}
		g[j] = v
	}
	g[chosen] += a
}

// embeddings returns what the controller derives from dt's description
// features under the current parameters: the role embeddings ρ = role_projᵀψ,
// the model embeddings μ = model_projᵀφ, and each role's history and
// model-stage terms role_histᵀψ and model_roleᵀψ. It computes them only
// when the parameters have changed since the last call.
func (c *Controller) embeddings(dt *domainTable) *embedCache {
	v := c.params.version.Load()
	if ec := dt.embed.Load(); ec != nil && ec.version == v {
		return ec
	}
	H := c.cfg.Hidden
	p := &c.params.raw
	R, P := len(dt.roles), len(dt.modelFeat)
	buf := make([]float64, (3*R+P)*H)
	ec := &embedCache{
		version: v,
		rho:     buf[:R*H],
		hist:    buf[R*H : 2*R*H],
		mrole:   buf[2*R*H : 3*R*H],
		mu:      buf[3*R*H:],
	}
	for r, f := range dt.roleFeat {
		embedAdd(ec.rho[r*H:(r+1)*H], f, p.roleProj)
		embedAdd(ec.hist[r*H:(r+1)*H], f, p.roleHist)
		embedAdd(ec.mrole[r*H:(r+1)*H], f, p.modelRole)
	}
	for m, f := range dt.modelFeat {
		embedAdd(ec.mu[m*H:(m+1)*H], f, p.modelProj)
	}
	dt.embed.Store(ec)
	return ec
}

// forward runs the cascade on x for domain table dt, picking each choice as
// kind says (decideFixed keeps the path already in ws), and returns the log-
// probability of the path and the sum of the entropies along it.
func (c *Controller) forward(ws *workspace, x Features, dt *domainTable, kind decideKind, rng *rand.Rand) (lp, ent float64) {
	p := &c.params.raw
	H := c.cfg.Hidden
	R, P := len(dt.roles), len(c.models)
	scale := 1 / math.Sqrt(float64(H))

	ec := c.embeddings(dt)
	ws.rho, ws.mu = ec.rho, ec.mu

	// Query: h = tanh(queryᵀx + query_bias), touching only x's nonzero rows.
	h := ws.h
	copy(h, p.queryBias)
	embedAdd(h, x, p.query)
	tanhInPlace(h)

	// Stage 1: mode.
	A := len(c.allowed)
	ml := ws.modeLogp[:A]
	for a, m := range c.allowed {
		ml[a] = dot(p.modeScore[m*H:(m+1)*H], h) + p.modeBias[m]
	}
	ws.modePos, ws.modeEnt = choose(ml, ws.modeProb[:A], kind, rng, ws.modePos)
	lp += ml[ws.modePos]
	ent += ws.modeEnt
	mode := c.allowed[ws.modePos]

	// Stage 2: agent count from h and the mode.
	if allModes[mode].SingleAgent() {
		ws.n = 1
	} else {
		K := c.cfg.MaxAgents - 1
		cl := ws.countLogp[:K]
		matVec(cl, p.countWeight, h, p.countMode[mode*K:(mode+1)*K])
		pick, en := choose(cl, ws.countProb[:K], kind, rng, ws.n-2)
		ws.n, ws.countEnt = pick+2, en
		lp += cl[pick]
		ent += en
	}

	// Stage 2: roles, slot by slot. The context of slot i is
	// c_i = tanh(role_ctx·h + role_mode[mode] + slot_i + mean of the history
	// embeddings of the roles of slots < i); role r scores c_i·ρ_r / √H.
	matVec(ws.roleBase, p.roleCtx, h, p.roleMode[mode*H:(mode+1)*H])
	// A role whose expertise keyword the query names gains role_match[mode].
	match := roleMatchFor(x, dt)
	hist := ws.hist
	clear(hist)
	for i := 0; i < ws.n; i++ {
		ci := ws.c[i*H : (i+1)*H]
		slot := p.slotEmbed[i*H : (i+1)*H][:len(ci)]
		base := ws.roleBase[:len(ci)]
		if i == 0 {
			for j := range ci {
				ci[j] = base[j] + slot[j]
			}
		} else {
			r := ws.roleIdx[i-1]
			axpy(1, ec.hist[r*H:(r+1)*H], hist)
			inv := 1 / float64(i)
			hist := hist[:len(ci)]
			for j := range ci {
				ci[j] = base[j] + slot[j] + inv*hist[j]
			}
		}
		tanhInPlace(ci)
		rl := ws.roleLogp[i*R : (i+1)*R]
		blasImpl.Dgemv(blas.NoTrans, R, H, scale, ws.rho, H, ci, 1, 0, rl, 1)
		if match != nil {
			axpy(p.roleMatch[mode], match, rl)
		}
		pick, en := choose(rl, ws.roleProb[i*R:(i+1)*R], kind, rng, ws.roleIdx[i])
		ws.roleIdx[i], ws.roleEnt[i] = pick, en
		lp += rl[pick]
		ent += en
	}

	// Stage 3: a model per slot. The context of slot i is
	// k_i = tanh(model_ctx·h + model_mode[mode] + model_roleᵀψ(role_i)).
	// It sets how much price and skill weigh for this slot, with signs fixed
	// by economics: with u_f = k_i·model_proj[f]/√H, model m scores
	//   −softplus(u_price)·log-price(m) + softplus(u_skill)·skill(m),
	// so a cheaper or more skilled model never scores lower, and a model
	// added later is placed by its price and skill alone.
	matVec(ws.modelBase, p.modelCtx, h, p.modelMode[mode*H:(mode+1)*H])
	wPrice := p.modelProj[modelPriceFeature*H : (modelPriceFeature+1)*H]
	wSkill := p.modelProj[modelSkillFeature*H : (modelSkillFeature+1)*H]
	for i := 0; i < ws.n; i++ {
		ki := ws.k[i*H : (i+1)*H]
		r := ws.roleIdx[i]
		floats.AddTo(ki, ws.modelBase, ec.mrole[r*H:(r+1)*H])
		tanhInPlace(ki)
		uP, uS := scale*dot(ki, wPrice), scale*dot(ki, wSkill)
		ws.modelU[2*i], ws.modelU[2*i+1] = uP, uS
		aP, aS := -softplus(uP), softplus(uS)
		sl := ws.modelLogp[i*P : (i+1)*P]
		for m := range sl {
			sl[m] = aP*dt.modelPrice[m] + aS*dt.modelSkill[m]
		}
		pick, en := choose(sl, ws.modelProb[i*P:(i+1)*P], kind, rng, ws.modelIdx[i])
		ws.modelIdx[i], ws.modelEnt[i] = pick, en
		lp += sl[pick]
		ent += en
	}
	return lp, ent
}

// backward adds to acc the gradient of a·log π + b·H for the path forward
// left in ws. The gradients of role_proj, role_hist, model_role and
// model_proj go to acc's pending sums for dt (see pendingGrad).
func (c *Controller) backward(ws *workspace, x Features, dt *domainTable, a, b float64, acc *Params) {
	p, g := &c.params.raw, &acc.raw
	H := c.cfg.Hidden
	R, P := len(dt.roles), len(c.models)
	scale := 1 / math.Sqrt(float64(H))
	h := ws.h
	mode := c.allowed[ws.modePos]
	gh, dpre := ws.gh, ws.dpre
	clear(gh)
	pg := acc.pendingFor(dt)

	// Stage 3.
	sumM := ws.sumM
	clear(sumM)
	wPrice := p.modelProj[modelPriceFeature*H : (modelPriceFeature+1)*H]
	wSkill := p.modelProj[modelSkillFeature*H : (modelSkillFeature+1)*H]
	gPrice := g.modelProj[modelPriceFeature*H : (modelPriceFeature+1)*H]
	gSkill := g.modelProj[modelSkillFeature*H : (modelSkillFeature+1)*H]
	for i := 0; i < ws.n; i++ {
		gl := ws.g[:P]
		logitGrad(gl, ws.modelLogp[i*P:(i+1)*P], ws.modelProb[i*P:(i+1)*P], ws.modelIdx[i], ws.modelEnt[i], a, b)
		var daP, daS float64
		for m, v := range gl {
			daP += v * dt.modelPrice[m]
			daS += v * dt.modelSkill[m]
		}
		uP, uS := ws.modelU[2*i], ws.modelU[2*i+1]
		duP := -daP * sigmoid(uP) * scale // d(−softplus(u))/du = −σ(u)
		duS := daS * sigmoid(uS) * scale
		ki := ws.k[i*H : (i+1)*H]
		clear(dpre)
		axpy(duP, wPrice, dpre) // before g changes, in case g is p
		axpy(duS, wSkill, dpre)
		axpy(duP, ki, gPrice)
		axpy(duS, ki, gSkill)
		for j, v := range ki {
			dpre[j] *= 1 - v*v
		}
		axpy(1, dpre, sumM)
		r := ws.roleIdx[i]
		axpy(1, dpre, pg.mrole[r*H:(r+1)*H])
	}
	matTVecGrad(gh, g.modelCtx, p.modelCtx, h, sumM)
	axpy(1, sumM, g.modelMode[mode*H:(mode+1)*H])

	// Stage 2: roles, last slot first so the history gradient is a suffix sum.
	match := roleMatchFor(x, dt)
	sumR, suffix := ws.sumR, ws.suffix
	clear(sumR)
	clear(suffix)
	for i := ws.n - 1; i >= 0; i-- {
		gl := ws.g[:R]
		logitGrad(gl, ws.roleLogp[i*R:(i+1)*R], ws.roleProb[i*R:(i+1)*R], ws.roleIdx[i], ws.roleEnt[i], a, b)
		if match != nil {
			g.roleMatch[mode] += dot(gl, match)
		}
		ci := ws.c[i*H : (i+1)*H]
		floats.Scale(scale, gl)
		clear(dpre)
		matTVecGrad(dpre, pg.rho, ws.rho[:R*H], ci, gl)
		for j, v := range ci {
			dpre[j] *= 1 - v*v
		}
		axpy(1, dpre, sumR)
		axpy(1, dpre, g.slotEmbed[i*H:(i+1)*H])
		if i > 0 {
			// Slot i's context holds (1/i)·Σ_{t<i} hist(role_t): role i-1's
			// history embedding feeds every later slot j with weight 1/j.
			axpy(1/float64(i), dpre, suffix)
			r := ws.roleIdx[i-1]
			axpy(1, suffix, pg.hist[r*H:(r+1)*H])
		}
	}
	matTVecGrad(gh, g.roleCtx, p.roleCtx, h, sumR)
	axpy(1, sumR, g.roleMode[mode*H:(mode+1)*H])

	// Stage 2: count.
	if !allModes[mode].SingleAgent() {
		K := c.cfg.MaxAgents - 1
		gl := ws.g[:K]
		logitGrad(gl, ws.countLogp[:K], ws.countProb[:K], ws.n-2, ws.countEnt, a, b)
		matTVecGrad(gh, g.countWeight, p.countWeight, h, gl)
		axpy(1, gl, g.countMode[mode*K:(mode+1)*K])
	}

	// Stage 1: mode.
	A := len(c.allowed)
	gl := ws.g[:A]
	logitGrad(gl, ws.modeLogp[:A], ws.modeProb[:A], ws.modePos, ws.modeEnt, a, b)
	for k, m := range c.allowed {
		axpy(gl[k], p.modeScore[m*H:(m+1)*H], gh) // before g changes, in case g is p
		axpy(gl[k], h, g.modeScore[m*H:(m+1)*H])
		g.modeBias[m] += gl[k]
	}

	// Query layer.
	for j, v := range h {
		gh[j] *= 1 - v*v
	}
	axpy(1, gh, g.queryBias)
	embedGrad(g.query, x, gh)
}

// softplus is log(1 + e^x), computed without overflow.
func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// roleMatchFor returns x's keyword matches for dt's roles, or nil when x
// was not encoded by Controller.Encode for dt's domain.
func roleMatchFor(x Features, dt *domainTable) []float64 {
	if x.matchDomain != string(dt.domain) || len(x.roleMatch) != len(dt.roles) {
		return nil
	}
	return x.roleMatch
}
