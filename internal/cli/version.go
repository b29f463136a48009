package cli

import (
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

func newVersionCmd(g *Global) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tandem's version and the git commit it was built from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo{Version: version, Commit: commit, Go: runtime.Version()}
			return g.printObject(v, func(w io.Writer) {
				tw := newTable(w, "VERSION", "COMMIT", "GO")
				row(tw, v.Version, v.Commit, v.Go)
				tw.Flush()
			})
		},
	}
}
