package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Switchover phases (status.phase).
const (
	PhasePending    = "Pending"
	PhaseRunning    = "Running"
	PhaseSucceeded  = "Succeeded"
	PhaseFailed     = "Failed"
	PhaseRolledBack = "RolledBack"
)

// SwitchoverSpec is one move of the active role, as `tandem switchover`.
// The spec cannot change once created.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Switchover's spec cannot change; create another"
type SwitchoverSpec struct {
	// Pair is the ClusterPair in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pair string `json:"pair"`
	// To is the cluster of the pair to make active (the standby).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	To string `json:"to"`
	// Traffic: steps, pause, gates.
	Traffic `json:",inline"`
	// Sync runs a last sync pass into the standby first; default true.
	// +optional
	Sync *bool `json:"sync,omitempty"`
	// Namespaces of the last sync pass; none: all but the system ones.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`
	// SourceUnreachable is an emergency failover: every phase that needs the
	// active cluster is skipped.
	// +optional
	SourceUnreachable bool `json:"sourceUnreachable,omitempty"`
	// Timeout for activation and the mirror's pause; default 5m.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=64
	Timeout string `json:"timeout,omitempty"`
}

// SwitchoverStatus is the run: its phase, and each phase's start, end and
// result — the journal, in the cluster.
type SwitchoverStatus struct {
	// Phase is Pending, Running, Succeeded, Failed or RolledBack.
	// +optional
	Phase string `json:"phase,omitempty"`
	// +optional
	From string `json:"from,omitempty"`
	// +optional
	Epoch int64 `json:"epoch,omitempty"`
	// +optional
	Run string `json:"run,omitempty"`
	// +optional
	Phases []PhaseStatus `json:"phases,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Switchover moves the active role of a pair to its standby, once.
// Deleting a running Switchover rolls it back.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=tandem
// +kubebuilder:printcolumn:name="Pair",type=string,JSONPath=`.spec.pair`
// +kubebuilder:printcolumn:name="To",type=string,JSONPath=`.spec.to`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Epoch",type=integer,JSONPath=`.status.epoch`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Switchover struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SwitchoverSpec `json:"spec"`
	// +optional
	Status SwitchoverStatus `json:"status,omitempty"`
}

// SwitchoverList is a list of Switchovers.
//
// +kubebuilder:object:root=true
type SwitchoverList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Switchover `json:"items"`
}
