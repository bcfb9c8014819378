package train

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/masrouter/masrouter/internal/safefile"
)

// NamedCurve is a call–performance curve with its legend label.
type NamedCurve struct {
	Label string
	Curve CallCurve
	// Dashed draws the curve dashed (for references such as the optimal router).
	Dashed bool
}

// PlotCallCurves draws call–performance curves as a PNG at path (8 x 5 in
// at 96 dpi), as RouteLLM plots them: strong-model calls in percent against
// quality in percent, one line with markers per curve, and the weak and
// strong models alone as dashed horizontal lines. The file is replaced
// atomically.
func PlotCallCurves(path, title string, curves []NamedCurve, weakLabel string, weak float64, strongLabel string, strong float64) error {
	if len(curves) == 0 {
		return fmt.Errorf("plot call curves %s: no curves", path)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "strong-model calls (%)"
	p.Y.Label.Text = "quality (%)"
	p.X.Min, p.X.Max = 0, 100
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	minY, maxY := math.Min(weak, strong), math.Max(weak, strong)
	for _, c := range curves {
		for _, pt := range c.Curve {
			if !isFinite(pt.Quality) || !isFinite(pt.StrongCalls) {
				return fmt.Errorf("plot call curves %s: %q has a non-finite point", path, c.Label)
			}
			minY, maxY = math.Min(minY, pt.Quality), math.Max(maxY, pt.Quality)
		}
	}
	if !isFinite(minY) || !isFinite(maxY) {
		return errors.New("plot call curves: weak or strong quality is not finite")
	}
	p.Y.Min = math.Max(0, math.Floor(100*minY/5)*5-5)
	p.Y.Max = math.Min(100, math.Ceil(100*maxY/5)*5+5)
	for _, ref := range []struct {
		label string
		q     float64
		c     color.Color
	}{{weakLabel + " alone", weak, singleColor}, {strongLabel + " alone", strong, staticColor}} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 100 * ref.q}, {X: 100, Y: 100 * ref.q}})
		if err != nil {
			return fmt.Errorf("plot call curves %s: %w", path, err)
		}
		l.Color = ref.c
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add(ref.label, l)
	}
	palette := append([]color.Color{routerColor}, otherColors...)
	palette = append(palette, frontColor)
	for i, c := range curves {
		xys := make(plotter.XYs, len(c.Curve))
		for j, pt := range c.Curve {
			xys[j] = plotter.XY{X: 100 * pt.StrongCalls, Y: 100 * pt.Quality}
		}
		line, scatter, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot call curves %s: %q: %w", path, c.Label, err)
		}
		col := palette[i%len(palette)]
		line.Color = col
		line.Width = vg.Points(1.5)
		if c.Dashed {
			line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		}
		scatter.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: otherGlyphs[i%len(otherGlyphs)]}
		p.Add(line, scatter)
		p.Legend.Add(c.Label, line, scatter)
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot call curves %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot call curves %s: render: %w", path, err)
	}
	return safefile.WriteFile(path, buf.Bytes(), 0o644)
}
