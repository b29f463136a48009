package cli

import (
	"errors"
	"fmt"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// Exit codes scripts can rely on.
const (
	ExitOK       = 0
	ExitFailed   = 1 // some objects or steps failed; the rest was done
	ExitBadInput = 2 // the command was not run as asked
	// ExitIncomplete: the command ran but could not look at everything (plan:
	// a resource it could not read, a check that could not run; sync and
	// export: a resource of the source that could not be listed).
	ExitIncomplete = 3
	// ExitInterrupted: stopped by SIGINT or SIGTERM (128 + SIGINT, as a
	// shell says); a journaled verb resumes when run again.
	ExitInterrupted = 130
)

// badInput is an error the user can fix by changing the command.
func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: %s", cluster.ErrBadInput, fmt.Sprintf(format, args...))
}

// errPartial marks a run that finished with some failed items, already reported.
var errPartial = errors.New("some items failed")

// errIncomplete marks a report that is complete in what it says but could
// not look at everything (plan), or a copy that could not read all of the
// source (sync, export); the report or the warnings say what was missed.
var errIncomplete = errors.New("incomplete")

// errNotInStep marks a mirror that stopped (as asked: a signal or
// --duration is how it ends, not an interruption) with objects the target
// is not in step with: exit 1, with one line.
var errNotInStep = errors.New("not in step")

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, cluster.ErrBadInput):
		return ExitBadInput
	case errors.Is(err, errIncomplete):
		return ExitIncomplete
	default:
		return ExitFailed
	}
}

// message strips the sentinel's prefix: the user sees one line about their input.
func message(err error) string {
	msg := err.Error()
	prefix := cluster.ErrBadInput.Error() + ": "
	for len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	return msg
}
