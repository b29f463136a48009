package cli

import (
	"bytes"
	"testing"
)

// A command given arguments it does not take is bad input (exit 2), as a
// wrong flag is, not a failure.
func TestWrongArgumentsAreBadInput(t *testing.T) {
	for _, args := range [][]string{{"plan", "extra"}, {"mirror", "status", "x"}, {"version", "x"}} {
		g := &Global{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}
		root := NewRoot(g, "tandem")
		root.SetArgs(args)
		if code := exitCode(root.Execute()); code != ExitBadInput {
			t.Errorf("tandem %v: exit %d, want %d", args, code, ExitBadInput)
		}
	}
}
