package pair

import (
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/traffic"
)

func TestWeightWarnings(t *testing.T) {
	cases := []struct {
		w      traffic.Weights
		active string
		want   string // "" means no warning
	}{
		{traffic.Weights{"app": {"blue": 100, "green": 0}}, "blue", ""},
		{traffic.Weights{"app": {"blue": 50, "green": 50}}, "blue", ""},
		{traffic.Weights{"app": {"blue": 10, "green": 90}}, "blue", "sends it 10%"},
		{traffic.Weights{"app": {"green": 100}}, "blue", "has no cluster blue"},
		{traffic.Weights{"app": {"blue": 0, "green": 0}}, "blue", ""},
		{traffic.Weights{"app": {"blue": 0, "green": 100}}, "", ""},
	}
	for _, c := range cases {
		got := strings.Join(WeightWarnings(c.w, c.active), "\n")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("WeightWarnings(%s, %q) = %q, want %q", c.w, c.active, got, c.want)
		}
	}
}
