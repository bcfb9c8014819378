package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/masrouter/masrouter/agents"
	"github.com/masrouter/masrouter/internal/safefile"
	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/routing"
	"github.com/masrouter/masrouter/topology"
)

// PolicyFormat and PolicyVersion identify checkpoint files.
const (
	PolicyFormat  = "masrouter-policy"
	PolicyVersion = 1
)

// ErrPoolChanged is returned when a checkpoint's pool differs from the pool
// it is loaded into and LoadOptions.AllowPoolChange is false.
var ErrPoolChanged = errors.New("the pool differs from the checkpoint's")

// PoolModel records one model of the pool a policy was trained with.
type PoolModel struct {
	Name             string             `json:"name"`
	InputPerMillion  float64            `json:"input_per_million"`
	OutputPerMillion float64            `json:"output_per_million"`
	Skills           map[string]float64 `json:"skills,omitempty"`
}

// TrainingInfo records how a policy was trained, so eval can rebuild the
// held-out split.
type TrainingInfo struct {
	// Mode is "online" or "offline".
	Mode string `json:"mode"`
	// Task is the benchmark (or tasks file) trained on.
	Task  string `json:"task"`
	Split string `json:"split"`
	// TestFraction and SplitSeed define tasks.SplitByID's held-out part.
	TestFraction float64 `json:"test_fraction"`
	SplitSeed    int64   `json:"split_seed"`
	// TrainTasks is the number of training tasks (or trajectories offline).
	TrainTasks int           `json:"train_tasks"`
	Lambda     float64       `json:"lambda"`
	Epochs     int           `json:"epochs"`
	Seed       int64         `json:"seed"`
	Config     Config        `json:"config"`
	History    []EpochStats  `json:"history,omitempty"`
	Duration   time.Duration `json:"duration_ns"`
	// Trajectories names the log an offline policy was trained from.
	Trajectories string `json:"trajectories,omitempty"`
	// Restarts records every run of a multi-start training; Seed is then the
	// kept run's seed.
	Restarts []RestartResult `json:"restarts,omitempty"`
}

// Checkpoint is a saved policy: the controller's parameters with everything
// needed to refuse loading it where it does not fit.
type Checkpoint struct {
	Format          string              `json:"format"`
	Version         int                 `json:"version"`
	Created         time.Time           `json:"created"`
	FeaturesVersion string              `json:"features_version"`
	Hidden          int                 `json:"hidden"`
	MaxAgents       int                 `json:"max_agents"`
	Modes           []string            `json:"modes"`
	Pool            []PoolModel         `json:"pool"`
	Roles           map[string][]string `json:"roles"`
	Training        TrainingInfo        `json:"training"`
	Params          json.RawMessage     `json:"params"`
}

// NewCheckpoint captures ctrl's parameters and configuration.
func NewCheckpoint(ctrl *routing.Controller, info TrainingInfo) (*Checkpoint, error) {
	cfg := ctrl.Config()
	var buf bytes.Buffer
	if err := ctrl.SaveParams(&buf); err != nil {
		return nil, err
	}
	cp := &Checkpoint{
		Format: PolicyFormat, Version: PolicyVersion, Created: time.Now().UTC(),
		FeaturesVersion: ctrl.FeaturesVersion(), Hidden: cfg.Hidden, MaxAgents: cfg.MaxAgents,
		Roles: map[string][]string{}, Training: info, Params: json.RawMessage(bytes.TrimSpace(buf.Bytes())),
	}
	for _, m := range cfg.Modes {
		cp.Modes = append(cp.Modes, string(m))
	}
	for _, m := range cfg.Pool.Models() {
		cp.Pool = append(cp.Pool, PoolModel{Name: m.Name, InputPerMillion: m.Price.InputPerMillion, OutputPerMillion: m.Price.OutputPerMillion, Skills: m.Skills})
	}
	for _, d := range cfg.Roles.Domains() {
		cp.Roles[string(d)] = cfg.Roles.Names(d)
	}
	return cp, nil
}

// Save writes the checkpoint to path atomically (temp file, then rename).
func (cp *Checkpoint) Save(path string) error {
	data, err := json.MarshalIndent(cp, "", " ")
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return safefile.WriteFile(path, append(data, '\n'), 0o644)
}

// ReadCheckpoint parses a checkpoint file without loading it into a controller.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	defer f.Close()
	cp, err := DecodeCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// DecodeCheckpoint parses a checkpoint, refusing unknown fields, another
// format or another version.
func DecodeCheckpoint(r io.Reader) (*Checkpoint, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var cp Checkpoint
	if err := dec.Decode(&cp); err != nil {
		return nil, err
	}
	switch {
	case cp.Format != PolicyFormat:
		return nil, fmt.Errorf("field format: %q is not a masrouter policy (want %q)", cp.Format, PolicyFormat)
	case cp.Version != PolicyVersion:
		return nil, fmt.Errorf("field version: %d is not supported (this build reads version %d)", cp.Version, PolicyVersion)
	case len(cp.Params) == 0:
		return nil, errors.New("field params: missing")
	}
	return &cp, nil
}

// LoadOptions tunes Load.
type LoadOptions struct {
	// AllowPoolChange accepts a pool that adds or drops models relative to
	// the checkpoint's: the controller scores models by their description
	// features, so new models get traffic without retraining. Off by
	// default, so that a wrong pool is a clear error rather than a surprise.
	AllowPoolChange bool
	// Greedy makes the loaded controller decode greedily (for evaluation).
	Greedy bool
	// Seed seeds the loaded controller's sampler.
	Seed int64
}

// PoolDiff lists the models added to and removed from a checkpoint's pool.
type PoolDiff struct {
	Added, Removed, Repriced []string
}

// Empty reports whether the pools match.
func (d PoolDiff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Repriced) == 0 }

func (d PoolDiff) String() string {
	var parts []string
	if len(d.Added) > 0 {
		parts = append(parts, "added "+strings.Join(d.Added, ", "))
	}
	if len(d.Removed) > 0 {
		parts = append(parts, "removed "+strings.Join(d.Removed, ", "))
	}
	if len(d.Repriced) > 0 {
		parts = append(parts, "repriced "+strings.Join(d.Repriced, ", "))
	}
	return strings.Join(parts, "; ")
}

// DiffPool compares the checkpoint's pool with pool.
func (cp *Checkpoint) DiffPool(pool *agents.Pool) PoolDiff {
	var d PoolDiff
	old := map[string]PoolModel{}
	for _, m := range cp.Pool {
		old[m.Name] = m
	}
	for _, m := range pool.Models() {
		o, ok := old[m.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, m.Name)
		case o.InputPerMillion != m.Price.InputPerMillion || o.OutputPerMillion != m.Price.OutputPerMillion:
			d.Repriced = append(d.Repriced, m.Name)
		}
		delete(old, m.Name)
	}
	for name := range old {
		d.Removed = append(d.Removed, name)
	}
	sort.Strings(d.Removed)
	return d
}

// Controller builds a controller for pool and reg with the checkpoint's
// parameters. A different features version, shape or mode set is an error
// naming the field; a different pool is an error wrapping ErrPoolChanged
// unless opt.AllowPoolChange.
func (cp *Checkpoint) Controller(pool *agents.Pool, reg *roles.Registry, opt LoadOptions) (*routing.Controller, PoolDiff, error) {
	diff := cp.DiffPool(pool)
	if !diff.Empty() && !opt.AllowPoolChange {
		return nil, diff, fmt.Errorf("load policy: %w: %s (retrain, or allow the change to let the router score new models from their descriptions)", ErrPoolChanged, diff)
	}
	var modes []topology.Mode
	for _, s := range cp.Modes {
		m, err := topology.ParseMode(s)
		if err != nil {
			return nil, diff, fmt.Errorf("load policy: field modes: %w", err)
		}
		modes = append(modes, m)
	}
	ctrl, err := routing.NewController(routing.ControllerConfig{
		Pool: pool, Roles: reg, Hidden: cp.Hidden, MaxAgents: cp.MaxAgents, Modes: modes, Seed: opt.Seed, Greedy: opt.Greedy,
	})
	if err != nil {
		return nil, diff, fmt.Errorf("load policy: %w", err)
	}
	if ctrl.FeaturesVersion() != cp.FeaturesVersion {
		return nil, diff, fmt.Errorf("load policy: field features_version: checkpoint has %q, this build encodes queries as %q; retrain the policy", cp.FeaturesVersion, ctrl.FeaturesVersion())
	}
	if err := ctrl.LoadParams(bytes.NewReader(cp.Params)); err != nil {
		return nil, diff, fmt.Errorf("load policy: %w", err)
	}
	return ctrl, diff, nil
}

// LoadPolicy reads a checkpoint file and builds its controller for pool and reg.
func LoadPolicy(path string, pool *agents.Pool, reg *roles.Registry, opt LoadOptions) (*routing.Controller, *Checkpoint, error) {
	cp, err := ReadCheckpoint(path)
	if err != nil {
		return nil, nil, err
	}
	ctrl, _, err := cp.Controller(pool, reg, opt)
	if err != nil {
		return nil, cp, fmt.Errorf("%s: %w", path, err)
	}
	return ctrl, cp, nil
}
