// Package labtest runs a test binary (the e2e suite, the benchmarks) against
// a lab of its own: it builds bin/tandem-e2e (build tag tandemfaults), takes the lab directory (a second
// run at the same time gets a directory of its own), brings the lab up, reads
// its environment, and takes the lab down afterwards — also after a failure,
// Ctrl-C or SIGTERM, and, for a run that was killed, at the start of the next.
package labtest
