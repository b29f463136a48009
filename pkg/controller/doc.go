// Package controller is `tandem controller`: the tandem.io/v1alpha1
// resources (ClusterPair, Mirror, Switchover, Drill) reconciled with
// controller-runtime, each through the same pkg/ code the CLI runs —
// pkg/pair for status, pkg/mirror for the copy, pkg/switchover for the
// phases. A Switchover's journal, and its traffic shift's, are ConfigMaps
// beside it, so the replica that takes the leader Lease after a crash
// resumes where the last one stopped.
//
// The RBAC the controller needs in its management cluster, for controller-gen:
//
// +kubebuilder:rbac:groups=tandem.io,resources=clusterpairs;mirrors;switchovers;drills,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=tandem.io,resources=clusterpairs/status;mirrors/status;switchovers/status;drills/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=tandem.io,resources=switchovers/finalizers;drills/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch
package controller
