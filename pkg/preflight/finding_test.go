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

func TestUncheckedMakesTheReportIncompleteNotBlocking(t *testing.T) {
	env := NewEnv(&cluster.Conn{Context: "blue"}, &cluster.Conn{Context: "green"}, nil, nil, NewServed())
	if rep := Run(context.Background(), env, nil); rep.Incomplete() {
		t.Fatal("nothing unchecked, no check failed: complete")
	}
	env.Unchecked = []Unchecked{{Resource: "Widget.e2e.example.com", Reason: "the server could not find the requested resource"}}
	rep := Run(context.Background(), env, nil)
	if !rep.Incomplete() {
		t.Error("a resource unchecked: the report must be incomplete")
	}
	if n := rep.Blocking(Info); n != 0 {
		t.Errorf("Blocking(info) = %d: what could not be read is not a finding about the move", n)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Check != CheckUnchecked || rep.Findings[0].Object != "Widget.e2e.example.com" {
		t.Errorf("findings %+v, want one unchecked finding naming the resource", rep.Findings)
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"error": Error, "Warning": Warning, " info": Info} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSeverity("fatal"); err == nil {
		t.Error("ParseSeverity(fatal): want an error")
	}
}

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
	if rep.Errors() != 1 {
		t.Errorf("Errors() = %d, want 1 (a failed check is not a finding)", rep.Errors())
	}
	if rep.Blocking(Warning) != 2 || rep.Blocking(Info) != 3 {
		t.Errorf("Blocking(warning, info) = %d, %d; want 2, 3", rep.Blocking(Warning), rep.Blocking(Info))
	}
	if !rep.Incomplete() {
		t.Error("a failed check: the report must say it is incomplete")
	}
	want := []CheckResult{{Name: "b", Errors: 1, Infos: 1}, {Name: "a", Warnings: 1}, {Name: "c", Failed: "forbidden"}}
	if d := cmp.Diff(want, rep.Checks); d != "" {
		t.Errorf("checks (-want +got):\n%s", d)
	}
}
