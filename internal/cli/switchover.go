package cli

import "github.com/spf13/cobra"

// newSwitchoverCmd is `tandem switchover` (being built).
func newSwitchoverCmd(g *Global) *cobra.Command {
	_ = g
	return &cobra.Command{Use: "switchover", Short: "(being built)", Hidden: true}
}
