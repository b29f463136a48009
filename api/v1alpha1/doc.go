// Package v1alpha1 is the tandem.io/v1alpha1 API: the resources `tandem
// controller` reconciles — ClusterPair (two clusters and their router),
// Mirror (a continuous copy between them), Switchover (one move of the active
// role, its journal in status) and Drill (a switchover there and back, its
// report in status). The CRDs in charts/tandem/crds are generated from these
// types (make generate).
//
// +kubebuilder:object:generate=true
// +groupName=tandem.io
package v1alpha1
