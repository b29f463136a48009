package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func metav1AddToGroupVersion(s *runtime.Scheme) { metav1.AddToGroupVersion(s, GroupVersion) }

// Condition types and reasons shared by the resources.
const (
	ConditionReachable  = "Reachable"  // ClusterPair: both clusters answer
	ConditionConsistent = "Consistent" // ClusterPair: the records agree on one active cluster
	ConditionReady      = "Ready"      // Mirror: copying, initial pass done; Switchover/Drill: finished well
	ConditionPaused     = "Paused"     // Mirror: held by a switchover
	ConditionValid      = "Valid"      // any: the spec and what it refers to make sense
)

// SecretKeyRef names a key of a Secret in the resource's namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key in the Secret; default "kubeconfig" for a kubeconfig.
	// +optional
	Key string `json:"key,omitempty"`
}

// Traffic is how a switchover moves traffic: the steps, pauses and gates of
// `tandem shift` and its shift file.
type Traffic struct {
	// Steps are the new active cluster's share at each step, in percent,
	// strictly increasing; default [0, 5, 25, 50, 100].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:Minimum=0
	// +kubebuilder:validation:items:Maximum=100
	// +kubebuilder:validation:XValidation:rule="self.isSorted()",message="steps must be increasing"
	Steps []int32 `json:"steps,omitempty"`
	// Pause is how long each step is held (and gated); default 30s.
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=64
	Pause string `json:"pause,omitempty"`
	// VerifyTimeout is how long a step may take to show in the router; default: the router's (2m for route53, whose changes take up to a minute to be INSYNC; 30s for the others).
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=64
	VerifyTimeout string `json:"verifyTimeout,omitempty"`
	// Smoke is checked once before any weight moves.
	// +optional
	Smoke *HTTPGate `json:"smoke,omitempty"`
	// Gates run again and again during each pause; a failed one rolls the
	// traffic back. The same as the gates of a shift file.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Gates []Gate `json:"gates,omitempty"`
}

// Gate is one gate: exactly one of http, prometheus, command.
// +kubebuilder:validation:XValidation:rule="[has(self.http), has(self.prometheus), has(self.command)].filter(x, x).size() == 1",message="a gate is exactly one of http, prometheus, command"
type Gate struct {
	// +optional
	HTTP *HTTPGate `json:"http,omitempty"`
	// +optional
	Prometheus *PrometheusGate `json:"prometheus,omitempty"`
	// Command is run by a shell in the controller's container; exit 0 passes.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Command string `json:"command,omitempty"`
}

// HTTPGate sends requests and judges the answers.
type HTTPGate struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host,omitempty"`
	// Status expected; default 200.
	// +optional
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=599
	Status int32 `json:"status,omitempty"`
	// Requests per check; default 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Requests int32 `json:"requests,omitempty"`
	// MaxFailures is the share of requests that may fail, 0 to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1
	MaxFailures float64 `json:"maxFailures,omitempty"`
	// +optional
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=64
	MaxP99 string `json:"maxP99,omitempty"`
}

// PrometheusGate runs a query and compares its value.
type PrometheusGate struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	URL string `json:"url"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
	// +optional
	// +kubebuilder:validation:Enum="<";"<=";">";">=";"=="
	Op string `json:"op,omitempty"`
	// Max is the bound the value is compared with (op, default "<=").
	Max float64 `json:"max"`
}

// PhaseStatus is one phase of a switchover as its journal records it.
type PhaseStatus struct {
	Name string `json:"name"`
	// +optional
	Started *metav1.Time `json:"started,omitempty"`
	// +optional
	Finished *metav1.Time `json:"finished,omitempty"`
	// Result is "running", "ok", "skipped: …", "failed: …" or "undone".
	Result string `json:"result"`
}
