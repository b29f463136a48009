// Package e2e runs tandem's scenarios against the real two-cluster lab: the
// suite builds bin/tandem-e2e (with the crash tests' fault hooks), starts one lab in its own directory (TestMain),
// drives everything through the tandem CLI, and stops the lab at the end.
package e2e
