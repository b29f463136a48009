//go:build tandemfaults

package cli

// Fault injection for the e2e crash tests, compiled only with the build tag
// tandemfaults (internal/labtest builds the binary under test with it): the
// shipped binary has no crash hook.

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tandem-io/tandem/pkg/volume"
)

// crashAfterEnv names a step after which the process exits 137 as if killed
// (kill -9): the e2e crash tests use it to stop a handoff between two steps
// ("retain": after its done record) or inside one ("retain:acted": after it
// acted, before its done record).
const crashAfterEnv = "TANDEM_HANDOFF_CRASH_AFTER"

// installFaults arms the crash hook of h when the test asks for it.
func installFaults(stderr io.Writer, h *volume.Handoff) {
	env := os.Getenv(crashAfterEnv)
	if env == "" {
		return
	}
	step, acted := strings.CutSuffix(env, ":acted")
	crash := func(_, s string) {
		if s == step {
			fmt.Fprintf(stderr, "%s=%s: exiting 137\n", crashAfterEnv, env)
			os.Exit(137)
		}
	}
	if acted {
		h.BeforeDone = crash
	} else {
		h.AfterStep = crash
	}
}
