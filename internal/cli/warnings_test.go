package cli

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/pkg/cluster"
)

func TestPrintWarnings(t *testing.T) {
	ws := []cluster.Warning{
		{Context: "blue", Text: "v1 ComponentStatus is deprecated in v1.19+", Count: 2},
		{Context: "green", Text: "policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+", Count: 3, Write: true},
		{Context: "green", Text: `unknown field "spec.foo"`, Count: 1, Write: true},
	}
	tests := []struct {
		name    string
		verbose int
		want    string
	}{
		{"writes only by default", 0, `warning (green): policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+ (3 times)
warning (green): unknown field "spec.foo"
`},
		{"reads too with -v", 1, `warning (blue): v1 ComponentStatus is deprecated in v1.19+ (2 times)
warning (green): policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+ (3 times)
warning (green): unknown field "spec.foo"
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			printWarnings(&buf, ws, tt.verbose)
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintWarningsBounded(t *testing.T) {
	var ws []cluster.Warning
	for i := range maxWarnings + 3 {
		ws = append(ws, cluster.Warning{Context: "green", Text: fmt.Sprintf("w%d", i), Count: 1, Write: true})
	}
	var quiet, all bytes.Buffer
	printWarnings(&quiet, ws, 0)
	printWarnings(&all, ws, 1)
	if got, want := bytes.Count(quiet.Bytes(), []byte("\n")), maxWarnings+1; got != want {
		t.Errorf("default: %d lines, want %d", got, want)
	}
	if !bytes.HasSuffix(quiet.Bytes(), []byte("warning (green): 3 more distinct warnings not shown (-v shows all)\n")) {
		t.Errorf("default output does not end with the count of hidden warnings:\n%s", quiet.String())
	}
	if got := bytes.Count(all.Bytes(), []byte("\n")); got != maxWarnings+3 {
		t.Errorf("-v: %d lines, want %d", got, maxWarnings+3)
	}
}

// A context opened twice shares one collector: each warning shows once.
func TestWarningSetOneCollectorPerContext(t *testing.T) {
	var s warningSet
	a, b := s.forContext("blue", nil), s.forContext("blue", nil)
	a.HandleWarningHeader(299, "-", "same")
	b.HandleWarningHeader(299, "-", "same")
	s.forContext("green", nil).HandleWarningHeader(299, "-", "same")
	want := []cluster.Warning{{Context: "blue", Text: "same", Count: 2}, {Context: "green", Text: "same", Count: 1}}
	if diff := cmp.Diff(want, s.all()); diff != "" {
		t.Errorf("all() (-want +got):\n%s", diff)
	}
}
