// Package workload says how far a Deployment, StatefulSet, ReplicaSet or
// DaemonSet is from what its spec asks, from the status its controller
// writes. It is the one definition of "ready" that standby activation, the
// volume handoff, the lab seed and `tandem status` share. Pure: no I/O.
package workload
