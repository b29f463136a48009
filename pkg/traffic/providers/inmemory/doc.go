// Package inmemory is a traffic.Router that keeps weights in memory, for
// unit tests of the shifter and of the CLI's wiring.
package inmemory
