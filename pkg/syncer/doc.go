// Package syncer composes tandem's pipeline once: inventory (read the source
// at versions both clusters serve) → select → sanitize → compare with the
// target → plan. `sync`, `export` and `import` run it; `mirror` reuses it per
// event.
package syncer
