// Command tandem moves a live Kubernetes cluster to a new one: plan, sync,
// shift, handoff, drain; or keeps a second cluster as a standby.
package main

import (
	"os"

	"github.com/tandem-io/tandem/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
