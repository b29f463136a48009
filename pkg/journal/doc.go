// Package journal is the append-only log that makes tandem's mutating verbs
// resumable.
//
// A verb writes an "intent" record before it changes anything and a "done" or
// "failed" record after; every record is fsync'd before Append returns, so
// after a crash the journal says exactly which steps finished. Records whose
// loss costs only a report (a sync's per-object records: its re-run is
// idempotent) may be written with AppendBuffered, which does not wait for
// the disk; the next Append or Close makes them durable. Re-running the
// same command reads the last run (LastRun) and skips what is Done.
//
// The file holds one JSON record per line. A crash mid-write can leave a torn
// last line; Open drops it (and cuts it off the file, so the next record starts
// on a line of its own) instead of failing.
package journal
