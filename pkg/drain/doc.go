// Package drain retires a node pool: it taints and cordons every selected
// node first (so nothing lands back on them), evicts the "first" pods (the
// ingress and gateway controllers: by default every one found through the
// cluster's IngressClasses and GatewayClasses and the common controllers'
// labels, see Controllers) through the Eviction API, then drains the nodes N
// at a time with k8s.io/kubectl/pkg/drain, respecting PodDisruptionBudgets.
// When a budget blocks until the timeout, it names the budget and its pods.
package drain
