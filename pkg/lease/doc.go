// Package lease is tandem's one lock: a coordination.k8s.io Lease that one
// process at a time holds, renews in the background and gives up.
//
// It follows client-go's tools/leaderelection where it matters: a lease held
// by someone else is judged stale by when this process last saw its record
// change (its observed time, on this machine's monotonic clock), never by
// comparing this machine's clock with the holder's renewTime; and a holder
// that cannot renew within its deadline, or finds the lease taken, is fenced:
// Done is closed and Err says why, so it stops before its next write.
//
// Holders name themselves with an Identity unique per process (user@host,
// boot id, pid, process start time), which also lets a lease left by a
// crashed process on this machine be taken over at once (GoneHere). Callers
// keep their own data in the lease's annotations (Spec.Annotations on taking
// it, Spec.Publish on every renewal).
package lease
