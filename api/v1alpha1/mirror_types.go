package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MirrorSpec is a continuous copy between the clusters of a pair.
//
// +kubebuilder:validation:XValidation:rule="has(self.followActive) && self.followActive ? !has(self.from) && !has(self.to) : has(self.from) && has(self.to) && self.from != self.to",message="either followActive, or from and to naming the two clusters"
type MirrorSpec struct {
	// Pair is the ClusterPair in this namespace.
	// +kubebuilder:validation:MinLength=1
	Pair string `json:"pair"`
	// From and To name the pair's clusters; or FollowActive.
	// +optional
	From string `json:"from,omitempty"`
	// +optional
	To string `json:"to,omitempty"`
	// FollowActive copies from whichever cluster is active into the other,
	// turning around by itself after a switchover.
	// +optional
	FollowActive bool `json:"followActive,omitempty"`
	// Namespaces to copy; none: every namespace but the system ones.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Prune deletes in the target what tandem made there and the source no longer has.
	// +optional
	Prune bool `json:"prune,omitempty"`
	// Standby copies in standby form (workloads parked at 0 replicas).
	// +optional
	Standby bool `json:"standby,omitempty"`
	// Suspend stops the copy without deleting the Mirror.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// MirrorStatus is where the copy stands.
type MirrorStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// From and To are the direction it copies now.
	// +optional
	From string `json:"from,omitempty"`
	// +optional
	To string `json:"to,omitempty"`
	// LagSeconds is the p99 of the time from a change in the source to its
	// copy in the target, over the last minute.
	// +optional
	LagSeconds string `json:"lagSeconds,omitempty"`
	// +optional
	Events int64 `json:"events,omitempty"`
	// +optional
	Applied int64 `json:"applied,omitempty"`
	// +optional
	Deleted int64 `json:"deleted,omitempty"`
	// +optional
	Failed int64 `json:"failed,omitempty"`
	// OutOfStep are the objects whose last attempt failed or waits to be
	// tried again: the target does not hold them as the source does.
	// +optional
	OutOfStep int64 `json:"outOfStep,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Mirror keeps one cluster of a pair a copy of the other.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=tandem
// +kubebuilder:printcolumn:name="Pair",type=string,JSONPath=`.spec.pair`
// +kubebuilder:printcolumn:name="From",type=string,JSONPath=`.status.from`
// +kubebuilder:printcolumn:name="To",type=string,JSONPath=`.status.to`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Paused",type=string,JSONPath=`.status.conditions[?(@.type=="Paused")].status`
// +kubebuilder:printcolumn:name="Lag",type=string,JSONPath=`.status.lagSeconds`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Mirror struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec MirrorSpec `json:"spec"`
	// +optional
	Status MirrorStatus `json:"status,omitempty"`
}

// MirrorList is a list of Mirrors.
//
// +kubebuilder:object:root=true
type MirrorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Mirror `json:"items"`
}
