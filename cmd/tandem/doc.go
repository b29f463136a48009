// Command tandem moves a live Kubernetes cluster to a new one: plan, sync,
// shift, handoff, drain; or keeps a second cluster as a standby.
package main
