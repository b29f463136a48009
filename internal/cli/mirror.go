package cli

import "github.com/spf13/cobra"

// newMirrorCmd is `tandem mirror` (being built).
func newMirrorCmd(g *Global) *cobra.Command {
	_ = g
	return &cobra.Command{Use: "mirror", Short: "(being built)", Hidden: true}
}
