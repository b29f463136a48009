package preflight

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/pkg/cluster"
)

func TestSelect(t *testing.T) {
	cases := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{"none means all", nil, Names(), false},
		{"some, deduplicated, in the order given", []string{"pdb", " apis", "pdb"}, []string{"pdb", "apis"}, false},
		{"unknown", []string{"apis", "nope"}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Select(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			var names []string
			for _, ch := range got {
				names = append(names, ch.Name())
			}
			if d := cmp.Diff(c.want, names); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

type fakeCheck struct {
	name string
	fs   []Finding
	err  error
}

func (f fakeCheck) Name() string                                 { return f.name }
func (f fakeCheck) Run(context.Context, *Env) ([]Finding, error) { return f.fs, f.err }

func TestRunCountsAndSorts(t *testing.T) {
	env := NewEnv(&cluster.Conn{Context: "blue"}, &cluster.Conn{Context: "green"}, nil, nil, NewServed())
	rep := Run(context.Background(), env, []Check{
		fakeCheck{name: "b", fs: []Finding{{Severity: Info, Object: "x"}, {Severity: Error, Object: "y"}}},
		fakeCheck{name: "a", fs: []Finding{{Severity: Warning, Object: "z"}}},
		fakeCheck{name: "c", err: errors.New("forbidden")},
	})
	var order []string
	for _, f := range rep.Findings {
		order = append(order, string(f.Severity)+" "+f.Check+" "+f.Object)
	}
	if d := cmp.Diff([]string{"error b y", "warning a z", "info b x"}, order); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if rep.Errors() != 2 {
		t.Errorf("Errors() = %d, want 2 (one finding, one failed check)", rep.Errors())
	}
	want := []CheckResult{{Name: "b", Errors: 1, Infos: 1}, {Name: "a", Warnings: 1}, {Name: "c", Failed: "forbidden"}}
	if d := cmp.Diff(want, rep.Checks); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
}
