// Package cli holds tandem's commands: one file per verb, each an Options
// struct with Complete, Validate and Run. The work itself lives in pkg/.
package cli
