//go:build !tandemfaults

package cli

import (
	"io"

	"github.com/tandem-io/tandem/pkg/volume"
)

// installFaults does nothing in the shipped binary (see faults.go).
func installFaults(io.Writer, *volume.Handoff) {}
