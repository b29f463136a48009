package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// No lab in the product: no flag outside `tandem lab` defaults to a lab
// cluster name or the lab ingress's header.
func TestNoLabDefaultsOutsideTheLab(t *testing.T) {
	t.Setenv("TANDEM_SOURCE", "") // defaults that come from the environment are the user's
	t.Setenv("TANDEM_TARGET", "")
	root := NewRoot(&Global{}, "tandem")
	lab := []string{"blue", "green", "X-Tandem-Cluster"}
	var walk func(c *cobra.Command)
	checked := 0
	walk = func(c *cobra.Command) {
		if c.Name() == "lab" && c.Parent() == root {
			return
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			checked++
			for _, name := range lab {
				if strings.Contains(f.DefValue, name) {
					t.Errorf("tandem %s --%s defaults to %q", c.CommandPath(), f.Name, f.DefValue)
				}
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if checked < 100 {
		t.Fatalf("only %d flags seen: the walk missed commands", checked)
	}
}
