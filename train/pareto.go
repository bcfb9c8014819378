package train

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/masrouter/masrouter/internal/safefile"
)

// The point kinds PlotPareto and MarkdownTable know; any other kind is drawn
// as a further baseline.
const (
	KindRouter = "router"
	KindStatic = "static"
	KindSingle = "single"
	KindRandom = "random"
)

// Point is one method's place on the accuracy–cost plane.
type Point struct {
	// Label names the point, e.g. "masrouter λ=100" or "gpt-4o-mini".
	Label string
	// Kind is "router" (a trained policy at some λ), "static", "single",
	// "random" or another baseline's name.
	Kind string
	// Lambda is the cost weight a router point was trained with.
	Lambda float64
	// Accuracy is the mean score in [0, 1].
	Accuracy        float64
	DollarsPerQuery float64
}

// ParetoFront returns the points no other point dominates (at least as
// accurate and at most as costly, and better in one), sorted by cost, then
// by accuracy descending and label. Identical points are all kept; points
// with a NaN coordinate are never on the front.
func ParetoFront(ps []Point) []Point {
	mask := onFront(ps)
	var out []Point
	for i, p := range ps {
		if mask[i] {
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, byCost)
	return out
}

// onFront reports for each point whether it is on the Pareto front.
func onFront(ps []Point) []bool {
	idx := make([]int, 0, len(ps))
	for i, p := range ps {
		if !math.IsNaN(p.Accuracy) && !math.IsNaN(p.DollarsPerQuery) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return byCost(ps[a], ps[b]) })
	mask := make([]bool, len(ps))
	best := math.Inf(-1)
	var last Point
	for _, i := range idx {
		p := ps[i]
		switch {
		case p.Accuracy > best:
			best, last = p.Accuracy, p
			mask[i] = true
		case p.Accuracy == last.Accuracy && p.DollarsPerQuery == last.DollarsPerQuery:
			mask[i] = true // a tie with the last front point
		}
	}
	return mask
}

// byCost orders points by cost, then accuracy descending, then label.
func byCost(a, b Point) int {
	if c := cmp.Compare(a.DollarsPerQuery, b.DollarsPerQuery); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Accuracy, a.Accuracy); c != 0 {
		return c
	}
	return strings.Compare(a.Label, b.Label)
}

// kindRank orders kinds in tables and legends: router, static, single,
// random, then any other kind by name.
func kindRank(k string) int {
	switch k {
	case KindRouter:
		return 0
	case KindStatic:
		return 1
	case KindSingle:
		return 2
	case KindRandom:
		return 3
	default:
		return 4
	}
}

func byKind(a, b string) int {
	if c := cmp.Compare(kindRank(a), kindRank(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// MarkdownTable renders the points as a Markdown table (point, kind, λ,
// accuracy %, dollars per 1,000 queries, whether on the Pareto front),
// sorted by kind (router, static, single, random, then others by name) and
// then by cost.
func MarkdownTable(ps []Point) string {
	mask := onFront(ps)
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := byKind(ps[a].Kind, ps[b].Kind); c != 0 {
			return c
		}
		return byCost(ps[a], ps[b])
	})
	var b strings.Builder
	b.WriteString("| point | kind | λ | accuracy % | $/1k queries | on front? |\n")
	b.WriteString("|---|---|---:|---:|---:|:---:|\n")
	for _, i := range idx {
		p := ps[i]
		lambda := "—"
		if p.Kind == KindRouter || p.Lambda != 0 {
			lambda = strconv.FormatFloat(p.Lambda, 'g', -1, 64)
		}
		front := "no"
		if mask[i] {
			front = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s |\n",
			cell(p.Label), cell(p.Kind), lambda, 100*p.Accuracy, formatDollars(1000*p.DollarsPerQuery), front)
	}
	return b.String()
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// formatDollars prints an amount with about three significant digits.
func formatDollars(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return strconv.FormatFloat(x, 'g', -1, 64)
	case math.Abs(x) >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64)
	default:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
}

// PlotPareto draws the points as a PNG at path (8 x 5 in at 96 dpi):
// dollars per 1,000 queries on a log-scale x axis against accuracy in
// percent. Router points are joined in λ order and labelled with their λ,
// static delegation is a large red square, single models are small labelled
// grey dots, other baselines get their own glyphs, and the Pareto front is a
// dashed line. The file is replaced
// atomically. Every point needs a finite accuracy in [0, 1] and a positive
// finite cost.
func PlotPareto(path, title string, ps []Point) error {
	if err := checkPoints(ps); err != nil {
		return fmt.Errorf("plot pareto %s: %w", path, err)
	}
	p, err := paretoPlot(title, ps)
	if err != nil {
		return fmt.Errorf("plot pareto %s: %w", path, err)
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plot pareto %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot pareto %s: render: %w", path, err)
	}
	return safefile.WriteFile(path, buf.Bytes(), 0o644)
}

func checkPoints(ps []Point) error {
	if len(ps) == 0 {
		return errors.New("no points")
	}
	for i, p := range ps {
		switch {
		case math.IsNaN(p.Accuracy) || p.Accuracy < 0 || p.Accuracy > 1:
			return fmt.Errorf("point %d (%q): accuracy %g is outside [0, 1]", i, p.Label, p.Accuracy)
		case math.IsNaN(p.DollarsPerQuery) || math.IsInf(p.DollarsPerQuery, 0) || p.DollarsPerQuery <= 0:
			return fmt.Errorf("point %d (%q): dollars per query %g must be positive and finite for a log-scale axis", i, p.Label, p.DollarsPerQuery)
		case math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0):
			return fmt.Errorf("point %d (%q): lambda %g is not finite", i, p.Label, p.Lambda)
		}
	}
	return nil
}

// xy maps a point to plot coordinates.
func xy(p Point) plotter.XY { return plotter.XY{X: 1000 * p.DollarsPerQuery, Y: 100 * p.Accuracy} }

var (
	routerColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	staticColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	singleColor = color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff}
	frontColor  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	// otherColors and otherGlyphs style the random and further baselines in turn.
	otherColors = []color.Color{
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
		color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff},
		color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
	}
	otherGlyphs = []draw.GlyphDrawer{draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}
)

func paretoPlot(title string, ps []Point) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "dollars per 1,000 queries (log scale)"
	p.Y.Label.Text = "accuracy (%)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	// Accuracy rises with cost, so the lower right is usually empty.
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Add(plotter.NewGrid())

	// Axis ranges: whole decades of cost; accuracy with a margin.
	minX, maxX := math.Inf(1), math.Inf(-1)
	minY, maxY := math.Inf(1), math.Inf(-1)
	for _, pt := range ps {
		c := xy(pt)
		minX, maxX = math.Min(minX, c.X), math.Max(maxX, c.X)
		minY, maxY = math.Min(minY, c.Y), math.Max(maxY, c.Y)
	}
	p.X.Min = math.Pow(10, math.Floor(math.Log10(minX)))
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(maxX)))
	if p.X.Max <= p.X.Min {
		p.X.Max = p.X.Min * 10
	}
	p.Y.Min = math.Max(0, math.Floor(minY/5)*5-5)
	p.Y.Max = math.Min(100, math.Ceil(maxY/5)*5+5)

	// The front first, so markers draw over it.
	if front := ParetoFront(ps); len(front) > 1 {
		xys := make(plotter.XYs, len(front))
		for i, pt := range front {
			xys[i] = xy(pt)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("front: %w", err)
		}
		l.Color = frontColor
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add("Pareto front", l)
	}

	kinds := map[string][]Point{}
	var names []string
	for _, pt := range ps {
		if _, ok := kinds[pt.Kind]; !ok {
			names = append(names, pt.Kind)
		}
		kinds[pt.Kind] = append(kinds[pt.Kind], pt)
	}
	slices.SortFunc(names, byKind)
	other := 0
	for _, kind := range names {
		pts := kinds[kind]
		var err error
		switch kind {
		case KindRouter:
			err = addRouter(p, pts)
		case KindStatic:
			err = addMarkers(p, "static delegation", pts, draw.GlyphStyle{Color: staticColor, Radius: vg.Points(6), Shape: draw.BoxGlyph{}}, false)
		case KindSingle:
			err = addMarkers(p, "single model", pts, draw.GlyphStyle{Color: singleColor, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}, true)
		default:
			style := draw.GlyphStyle{
				Color:  otherColors[other%len(otherColors)],
				Radius: vg.Points(4),
				Shape:  otherGlyphs[other%len(otherGlyphs)],
			}
			other++
			err = addMarkers(p, kind, pts, style, false)
		}
		if err != nil {
			return nil, fmt.Errorf("%s points: %w", kind, err)
		}
	}
	return p, nil
}

// addRouter draws router points joined in λ order, each labelled with its λ.
func addRouter(p *plot.Plot, pts []Point) error {
	pts = slices.Clone(pts)
	slices.SortStableFunc(pts, func(a, b Point) int { return cmp.Compare(a.Lambda, b.Lambda) })
	xys := make(plotter.XYs, len(pts))
	labels := make([]string, len(pts))
	for i, pt := range pts {
		xys[i] = xy(pt)
		labels[i] = "λ=" + strconv.FormatFloat(pt.Lambda, 'g', 3, 64)
	}
	line, scatter, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	line.Color = routerColor
	line.Width = vg.Points(1.5)
	scatter.GlyphStyle = draw.GlyphStyle{Color: routerColor, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	styleLabels(lb, routerColor)
	p.Add(line, scatter, lb)
	p.Legend.Add("MasRouter (λ)", line, scatter)
	return nil
}

// addMarkers draws one kind's points with one glyph style, optionally labelled.
func addMarkers(p *plot.Plot, legend string, pts []Point, style draw.GlyphStyle, label bool) error {
	xys := make(plotter.XYs, len(pts))
	labels := make([]string, len(pts))
	for i, pt := range pts {
		xys[i] = xy(pt)
		labels[i] = pt.Label
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	s.GlyphStyle = style
	p.Add(s)
	p.Legend.Add(legend, s)
	if label {
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return err
		}
		styleLabels(lb, style.Color)
		p.Add(lb)
	}
	return nil
}

func styleLabels(lb *plotter.Labels, c color.Color) {
	for i := range lb.TextStyle {
		lb.TextStyle[i].Color = c
		lb.TextStyle[i].Font.Size = vg.Points(8)
	}
	lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
}

// logTicks marks a log-scale axis at 1, 2 and 5 times each power of ten
// (labelled) and the other integer multiples (unlabelled). plot.LogTicks is
// not used because it loses the ticks below 1, where per-query costs live.
type logTicks struct{}

// Ticks returns the ticks between min and max.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(min))); e <= int(math.Ceil(math.Log10(max))); e++ {
		for m := 1; m < 10; m++ {
			v, err := strconv.ParseFloat(strconv.Itoa(m)+"e"+strconv.Itoa(e), 64) // exact decimal, unlike m*10^e
			if err != nil || v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
