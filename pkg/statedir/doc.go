// Package statedir says where tandem keeps its state on this machine:
// ${XDG_STATE_HOME:-~/.local/state}/tandem, with the journals under
// journal/ and the lab under lab/.
package statedir

import (
	"os"
	"path/filepath"
)

// Root is ${XDG_STATE_HOME:-~/.local/state}/tandem.
func Root() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "tandem")
}

// Path is name under Root.
func Path(name ...string) string { return filepath.Join(append([]string{Root()}, name...)...) }
