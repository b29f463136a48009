package cli

import "github.com/spf13/cobra"

// newStatusCmd is `tandem status` (being built).
func newStatusCmd(g *Global) *cobra.Command {
	_ = g
	return &cobra.Command{Use: "status", Short: "(being built)", Hidden: true}
}
