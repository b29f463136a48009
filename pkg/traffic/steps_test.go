package traffic

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSteps(t *testing.T) {
	cases := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"10,25,50,100", []int{10, 25, 50, 100}, false},
		{"0, 5%, 100", []int{0, 5, 100}, false},
		{"100", []int{100}, false},
		{"10,140", nil, true},
		{"-5,10", nil, true},
		{"50,25", nil, true},
		{"25,25", nil, true},
		{"10,,20", nil, true},
		{"ten", nil, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSteps(c.in)
			if c.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestWeightsValidate(t *testing.T) {
	cases := []struct {
		name    string
		w       Weights
		wantErr bool
	}{
		{"ok", Weights{"app": {"blue": 75, "green": 25}}, false},
		{"one cluster all", Weights{"app": {"blue": 0, "green": 100}}, false},
		{"over 100", Weights{"app": {"blue": 140, "green": 0}}, true},
		{"negative", Weights{"app": {"blue": -1, "green": 50}}, true},
		{"sum zero", Weights{"app": {"blue": 0, "green": 0}}, true},
		{"no routes", Weights{}, true},
		{"route without clusters", Weights{"app": {}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.w.Validate()
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("err %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestNewPlan(t *testing.T) {
	p, err := NewPlan([]string{"app"}, "blue", "green", []int{0, 25, 100})
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		Routes: []string{"app"}, From: "blue", To: "green",
		Start: Weights{"app": {"blue": 100, "green": 0}},
		Steps: []Step{
			{Index: 0, Percent: 0, Weights: Weights{"app": {"blue": 100, "green": 0}}},
			{Index: 1, Percent: 25, Weights: Weights{"app": {"blue": 75, "green": 25}}},
			{Index: 2, Percent: 100, Weights: Weights{"app": {"blue": 0, "green": 100}}},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	bad := []struct {
		name     string
		from, to string
		steps    []int
	}{
		{"same cluster", "blue", "blue", []int{100}},
		{"no from", "", "green", []int{100}},
		{"decreasing", "blue", "green", []int{50, 10}},
		{"no steps", "blue", "green", nil},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewPlan([]string{"app"}, c.from, c.to, c.steps); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestShare(t *testing.T) {
	cases := []struct {
		name          string
		before, after map[string]map[string]int64
		want          map[string]map[string]float64
	}{
		{"a quarter to green",
			map[string]map[string]int64{"app": {"blue": 100, "green": 10}},
			map[string]map[string]int64{"app": {"blue": 175, "green": 35}},
			map[string]map[string]float64{"app": {"blue": 75, "green": 25}}},
		{"nothing served", map[string]map[string]int64{"app": {"blue": 5}}, map[string]map[string]int64{"app": {"blue": 5}}, map[string]map[string]float64{}},
		{"counters reset", map[string]map[string]int64{"app": {"blue": 500, "green": 0}}, map[string]map[string]int64{"app": {"blue": 10, "green": 10}},
			map[string]map[string]float64{"app": {"blue": 50, "green": 50}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Share(c.before, c.after)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if c.name == "a quarter to green" && ShareString(got) != "app: blue=75.0% green=25.0%" {
				t.Errorf("ShareString = %q", ShareString(got))
			}
		})
	}
}

func TestParsePauses(t *testing.T) {
	cases := []struct {
		in      string
		steps   int
		want    []time.Duration
		wantErr bool
	}{
		{"30s", 3, []time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second}, false},
		{"1s, 2s", 2, []time.Duration{time.Second, 2 * time.Second}, false},
		{"0s", 1, []time.Duration{0}, false},
		{"1s,2s", 3, nil, true},
		{"-1s", 1, nil, true},
		{"soon", 1, nil, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParsePauses(c.in, c.steps)
			if c.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
