package inmemory_test

import (
	"testing"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/inmemory"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		new  func() *inmemory.Router
	}{
		{"plain", func() *inmemory.Router {
			return inmemory.New(traffic.Weights{"app": {"blue": 100, "green": 0}, "api": {"blue": 100, "green": 0}})
		}},
		{"lagging, refuses all zero", func() *inmemory.Router {
			r := inmemory.New(traffic.Weights{"app": {"blue": 100, "green": 0}})
			r.Lag, r.NoAllZero = 3, true
			return r
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			routes := []string{"app"}
			providertest.Run(t, func(*testing.T) traffic.Router { return c.new() }, routes, []string{"blue", "green"})
		})
	}
}
