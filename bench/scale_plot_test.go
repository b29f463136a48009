package bench

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestPlotScale draws the scale plot from made-up points (no lab), out of
// order as a merged run may hold them, and checks it is a PNG of the size
// asked for. TANDEM_PLOT_FROM=$PWD/bench/scale.json TANDEM_PLOT_OUT=$PWD/bench/scale.png
// draws a benchmark's saved numbers again.
func TestPlotScale(t *testing.T) {
	var points []scalePoint
	for _, set := range []string{setCheap, setMixed} {
		for i, n := range []int{100000, 10000, 30000} {
			points = append(points, scalePoint{Set: set, Objects: n, PeakRSSMB: float64(150 + 20*i), NoopRSSMB: float64(170 + 20*i), ObjPerS: 300, RawObjPerS: 320})
		}
	}
	if from := os.Getenv("TANDEM_PLOT_FROM"); from != "" {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		points = nil
		if err := json.Unmarshal(data, &points); err != nil || len(points) == 0 {
			t.Fatalf("%s: %d points, %v", from, len(points), err)
		}
	}
	path := filepath.Join(t.TempDir(), "scale.png")
	if p := os.Getenv("TANDEM_PLOT_OUT"); p != "" {
		path = p
	}
	if err := plotScale(points, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if cfg.Width != 1280 || cfg.Height != 533 {
		t.Errorf("plot is %dx%d, want 1280x533 (960×400 points at 96 dpi)", cfg.Width, cfg.Height)
	}
}
