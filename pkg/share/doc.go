// Package share keeps one copy of what many objects held in memory have
// alike: strings (apiVersion, kind, namespace, label keys and values, field
// managers) and the canonical form of a set of labels, by which a holder
// keeps one map for many objects. It serves what holds a large cluster's
// objects at once: a sync's sketches, a plan's objects, a mirror's cache.
package share
