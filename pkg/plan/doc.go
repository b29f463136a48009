// Package plan decides what `tandem sync` does with every object, and in what
// order, without touching a cluster.
//
// Select picks the source objects to copy (the user's selection plus what it
// depends on: namespaces, referenced ConfigMaps and Secrets, RBAC bound to
// selected service accounts, classes, the CRDs of selected custom resources
// and the CRDs that RBAC grants those service accounts on — see GrantedCRDs).
// After sanitizing, Build compares each object with the target's copy and
// decides create, update, unchanged or skip, then groups the steps into waves
// (waves.go) that apply runs in order.
//
// The package is pure: plain values in, plain values out, no I/O, so every rule
// is a table test.
package plan
