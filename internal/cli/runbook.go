package cli

import "github.com/spf13/cobra"

// newRunbookCmd is `tandem runbook` (being built).
func newRunbookCmd(g *Global) *cobra.Command {
	_ = g
	return &cobra.Command{Use: "runbook", Short: "(being built)", Hidden: true}
}
