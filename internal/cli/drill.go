package cli

import "github.com/spf13/cobra"

// newDrillCmd is `tandem drill` (being built).
func newDrillCmd(g *Global) *cobra.Command {
	_ = g
	return &cobra.Command{Use: "drill", Short: "(being built)", Hidden: true}
}
