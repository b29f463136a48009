// Package cli holds tandem's commands: one file per verb, each an Options
// struct whose Run does the verb (with Complete and Validate where flags
// need resolving or checking before anything is read). The work itself
// lives in pkg/: a verb parses, connects, calls a package and prints.
package cli
