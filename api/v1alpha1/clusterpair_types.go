package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PairCluster is one cluster of a pair.
type PairCluster struct {
	// Name of the cluster: in records, router URLs and Mirror/Switchover
	// specs (as a context name is for the CLI).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// KubeconfigSecretRef is a Secret in the pair's namespace whose key
	// (default "kubeconfig") holds a kubeconfig; its current context reaches
	// the cluster.
	KubeconfigSecretRef SecretKeyRef `json:"kubeconfigSecretRef"`
}

// ClusterPairSpec is two clusters and the router in front of them.
type ClusterPairSpec struct {
	// Clusters are exactly two, with different names.
	// +kubebuilder:validation:MinItems=2
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:XValidation:rule="self.size() != 2 || self[0].name != self[1].name",message="the two clusters need different names"
	Clusters []PairCluster `json:"clusters"`
	// Router is a router URL as `tandem shift --router` takes it, its
	// cluster names being the names above; "" uses the one the records remember.
	// +optional
	Router string `json:"router,omitempty"`
	// RouterCredentialsSecretRef is a Secret in the pair's namespace whose
	// keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are
	// the AWS routers' credentials (the region is the URL's); none: the
	// controller's own (its pod's role).
	// +optional
	RouterCredentialsSecretRef *SecretKeyRef `json:"routerCredentialsSecretRef,omitempty"`
}

// ClusterStatus is one cluster as `tandem status` shows it.
type ClusterStatus struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	// +optional
	Error string `json:"error,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// Role is active, standby or unknown.
	Role string `json:"role"`
	// +optional
	Epoch int64 `json:"epoch,omitempty"`
	// StandbyMarker says the standby policy is on.
	StandbyMarker bool `json:"standbyMarker"`
	// +optional
	RecordedBy string `json:"recordedBy,omitempty"`
	// Workloads are "ready/all" Deployments and StatefulSets.
	// +optional
	Workloads string `json:"workloads,omitempty"`
	// Mirror into this cluster, as its lease says.
	// +optional
	Mirror string `json:"mirror,omitempty"`
	// LastDrill is "TIME RESULT".
	// +optional
	LastDrill string `json:"lastDrill,omitempty"`
}

// RouteWeights are one route's weights per cluster, in percent.
type RouteWeights struct {
	Route   string           `json:"route"`
	Weights map[string]int32 `json:"weights"`
}

// ClusterPairStatus is what `tandem status` reports, kept current.
type ClusterPairStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Active is the cluster the records make active ("" when unknown).
	// +optional
	Active string `json:"active,omitempty"`
	// +optional
	Epoch int64 `json:"epoch,omitempty"`
	// +optional
	Clusters []ClusterStatus `json:"clusters,omitempty"`
	// +optional
	Router string `json:"router,omitempty"`
	// +optional
	Weights []RouteWeights `json:"weights,omitempty"`
	// +optional
	Warnings []string `json:"warnings,omitempty"`
	// LastSwitchover names the last Switchover of this pair and its phase.
	// +optional
	LastSwitchover string `json:"lastSwitchover,omitempty"`
	// +optional
	LastChecked *metav1.MicroTime `json:"lastChecked,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterPair is two clusters that take turns being active.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pair;pairs,categories=tandem
// +kubebuilder:printcolumn:name="Active",type=string,JSONPath=`.status.active`
// +kubebuilder:printcolumn:name="Epoch",type=integer,JSONPath=`.status.epoch`
// +kubebuilder:printcolumn:name="Reachable",type=string,JSONPath=`.status.conditions[?(@.type=="Reachable")].status`
// +kubebuilder:printcolumn:name="Consistent",type=string,JSONPath=`.status.conditions[?(@.type=="Consistent")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterPair struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ClusterPairSpec `json:"spec"`
	// +optional
	Status ClusterPairStatus `json:"status,omitempty"`
}

// ClusterPairList is a list of ClusterPairs.
//
// +kubebuilder:object:root=true
type ClusterPairList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterPair `json:"items"`
}
