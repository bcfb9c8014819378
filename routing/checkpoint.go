package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// CheckpointFormat names the JSON layout SaveParams writes.
const CheckpointFormat = "masrouter-routing-params/v1"

// checkpoint is the JSON document of SaveParams.
type checkpoint struct {
	Format          string         `json:"format"`
	FeaturesVersion string         `json:"features_version"`
	RoleFeatures    string         `json:"role_features"`
	ModelFeatures   string         `json:"model_features"`
	Modes           []string       `json:"modes"`
	Shape           Shape          `json:"shape"`
	Tensors         []tensorRecord `json:"tensors"`
}

type tensorRecord struct {
	Name string    `json:"name"`
	Rows int       `json:"rows"`
	Cols int       `json:"cols"`
	Data []float64 `json:"data"`
}

// SaveParams writes the controller's parameters as JSON together with the
// features version, the role and model feature schemes, the modes and every
// tensor's shape, so LoadParams can refuse a checkpoint of another shape.
func (c *Controller) SaveParams(w io.Writer) error {
	cp := checkpoint{
		Format:          CheckpointFormat,
		FeaturesVersion: c.version,
		RoleFeatures:    roleFeaturesName,
		ModelFeatures:   modelFeaturesName,
		Shape:           c.params.shape,
	}
	for _, m := range allModes {
		cp.Modes = append(cp.Modes, string(m))
	}
	for _, t := range c.params.tensors {
		r, cols := t.Value.Dims()
		var data []float64
		switch v := t.Value.(type) {
		case *mat.Dense:
			data = v.RawMatrix().Data
		case *mat.VecDense:
			data = v.RawVector().Data
		}
		for i, x := range data {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("routing: save params: tensor %s element %d is %g", t.Name, i, x)
			}
		}
		cp.Tensors = append(cp.Tensors, tensorRecord{Name: t.Name, Rows: r, Cols: cols, Data: data})
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(cp); err != nil {
		return fmt.Errorf("routing: save params: %w", err)
	}
	return nil
}

// LoadParams replaces the controller's parameters with a checkpoint written
// by SaveParams. A checkpoint of another format, encoder, feature scheme or
// shape is refused with an error naming the field; nothing changes then.
func (c *Controller) LoadParams(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var cp checkpoint
	if err := dec.Decode(&cp); err != nil {
		return fmt.Errorf("routing: load params: %w", err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return errors.New("routing: load params: trailing data after the checkpoint object")
	}
	want := c.params.shape
	var modes []string
	for _, m := range allModes {
		modes = append(modes, string(m))
	}
	switch {
	case cp.Format != CheckpointFormat:
		return fmt.Errorf("routing: load params: field format: %q, want %q", cp.Format, CheckpointFormat)
	case cp.FeaturesVersion != c.version:
		return fmt.Errorf("routing: load params: field features_version: checkpoint %q, controller encoder %q", cp.FeaturesVersion, c.version)
	case cp.RoleFeatures != roleFeaturesName:
		return fmt.Errorf("routing: load params: field role_features: checkpoint %q, controller %q", cp.RoleFeatures, roleFeaturesName)
	case cp.ModelFeatures != modelFeaturesName:
		return fmt.Errorf("routing: load params: field model_features: checkpoint %q, controller %q", cp.ModelFeatures, modelFeaturesName)
	case strings.Join(cp.Modes, ",") != strings.Join(modes, ","):
		return fmt.Errorf("routing: load params: field modes: checkpoint %v, controller %v", cp.Modes, modes)
	}
	for _, f := range []struct {
		name      string
		got, want int
	}{
		{"input_dim", cp.Shape.InputDim, want.InputDim},
		{"hidden", cp.Shape.Hidden, want.Hidden},
		{"max_agents", cp.Shape.MaxAgents, want.MaxAgents},
		{"modes", cp.Shape.Modes, want.Modes},
		{"role_features", cp.Shape.RoleFeatures, want.RoleFeatures},
		{"model_features", cp.Shape.ModelFeatures, want.ModelFeatures},
	} {
		if f.got != f.want {
			return fmt.Errorf("routing: load params: field shape.%s: checkpoint %d, controller %d", f.name, f.got, f.want)
		}
	}
	spec := want.tensorSpec()
	if len(cp.Tensors) != len(spec) {
		return fmt.Errorf("routing: load params: field tensors: %d tensors, want %d", len(cp.Tensors), len(spec))
	}
	staged := make([]float64, 0, len(c.params.data))
	for i, s := range spec {
		t := cp.Tensors[i]
		switch {
		case t.Name != s.name:
			return fmt.Errorf("routing: load params: field tensors[%d].name: %q, want %q", i, t.Name, s.name)
		case t.Rows != s.rows || t.Cols != s.cols:
			return fmt.Errorf("routing: load params: tensor %s: shape %d×%d, want %d×%d", s.name, t.Rows, t.Cols, s.rows, s.cols)
		case len(t.Data) != s.rows*s.cols:
			return fmt.Errorf("routing: load params: tensor %s: field data has %d values, want %d", s.name, len(t.Data), s.rows*s.cols)
		}
		staged = append(staged, t.Data...)
	}
	copy(c.params.data, staged)
	c.params.changed()
	return nil
}
