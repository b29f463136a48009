// Package sanitize turns an object read from the source cluster into what tandem
// server-side-applies into the target.
//
// A cluster writes much of what it serves: identities, status, allocated IPs and
// node ports, controller labels, whole objects that controllers keep up to date.
// Copied as is, these would collide with what the target allocates or fight its
// controllers, so this package removes them, and skips objects the target
// regenerates on its own. It is pure: it sees only the object and a Context, and
// does no I/O, so every rule is a plain table test.
//
// There is one small file per kind and one registry (registry.go) keyed by
// GroupKind. Owner references are remapped separately by RemapOwners, once the
// owners exist in the target.
package sanitize
