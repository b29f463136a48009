// Package switchover knows which cluster of a pair is active and moves that
// role: each cluster's record (role, epoch, peer; the higher epoch wins), a
// Lease lock so one switchover runs at a time, the switchover itself (pause
// the mirror → last sync → activate the standby → shift traffic → deactivate
// the old → records), drills with a load probe and their report, and the
// runbook of a pair.
package switchover
