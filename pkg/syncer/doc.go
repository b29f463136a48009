// Package syncer composes tandem's pipeline once: inventory (read the source
// at versions both clusters serve) → select → sanitize → compare with the
// target → plan. `sync`, `export` and `import` run it; `mirror` reuses it per
// event. Run writes a plan into the target through pkg/apply with the sync's
// journal: the run's lifecycle (start, per-object records, end) lives here,
// not in the CLI.
package syncer
