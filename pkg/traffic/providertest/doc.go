// Package providertest is the conformance suite every traffic.Router must
// pass: set/observe/verify round-trips, out-of-range weights refused, and
// the never-all-zero rule for routers that declare it.
package providertest
