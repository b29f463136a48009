// Package mirror keeps a target cluster in step with a source from watches:
// an informer per resource, then each change through the same pipeline as
// sync (pkg/syncer.Changed → pkg/apply), deletions only with Prune and only
// of objects tandem created. The target's "tandem-mirror" Lease says a mirror
// is running, carries its counts, and is how a switchover pauses it.
package mirror
