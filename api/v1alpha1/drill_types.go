package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Probe is the load a drill sends throughout, to count what users would see.
type Probe struct {
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`
	// +optional
	Host string `json:"host,omitempty"`
	// Rate in requests per second; default 50.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Rate int32 `json:"rate,omitempty"`
	// ClusterHeader names the answer's header saying which cluster served it.
	// +optional
	ClusterHeader string `json:"clusterHeader,omitempty"`
}

// DrillSpec is a rehearsal, as `tandem drill`: a switchover to the standby
// and back. The spec cannot change once created.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a Drill's spec cannot change; create another"
type DrillSpec struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Pair    string `json:"pair"`
	Traffic `json:",inline"`
	// +optional
	Probe *Probe `json:"probe,omitempty"`
	// Sync runs a last sync pass before each leg; default true.
	// +optional
	Sync *bool `json:"sync,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Namespaces []string `json:"namespaces,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=64
	Timeout string `json:"timeout,omitempty"`
}

// DrillStatus is the drill's report.
type DrillStatus struct {
	// Phase is Pending, Running, Succeeded (passed) or Failed.
	// +optional
	Phase string `json:"phase,omitempty"`
	// +optional
	Active string `json:"active,omitempty"`
	// +optional
	Standby string `json:"standby,omitempty"`
	// Result is "passed" or "failed: …".
	// +optional
	Result string `json:"result,omitempty"`
	// +optional
	Seconds string `json:"seconds,omitempty"`
	// +optional
	RequestsSent int64 `json:"requestsSent,omitempty"`
	// +optional
	RequestsFailed int64 `json:"requestsFailed,omitempty"`
	// Legs are the two switchovers' phases.
	// +optional
	Legs []DrillLeg `json:"legs,omitempty"`
	// ReportConfigMap holds the report as markdown (key report.md) and JSON.
	// +optional
	ReportConfigMap string `json:"reportConfigMap,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DrillLeg is one switchover of a drill.
type DrillLeg struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Result is "completed", "rolled back: …" or "failed: …".
	Result string        `json:"result"`
	Phases []PhaseStatus `json:"phases,omitempty"`
}

// Drill rehearses a switchover of a pair: to the standby and back.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=tandem
// +kubebuilder:printcolumn:name="Pair",type=string,JSONPath=`.spec.pair`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Drill struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DrillSpec `json:"spec"`
	// +optional
	Status DrillStatus `json:"status,omitempty"`
}

// DrillList is a list of Drills.
//
// +kubebuilder:object:root=true
type DrillList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Drill `json:"items"`
}
