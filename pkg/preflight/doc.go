// Package preflight reads a source and a target cluster and reports, before
// anything moves, what will break, what will block and what must be done by
// hand: one Check per concern, each returning Findings with a fix.
package preflight
