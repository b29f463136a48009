// Package traffic moves traffic between clusters in weighted, gated steps:
// the Router interface every provider implements, the step plan and its
// validation (pure), the Gates that judge each step, and the Shifter state
// machine that rolls back to the last safe weights when a gate fails and
// keeps its own journal, so an interrupted shift resumes at its step.
package traffic
