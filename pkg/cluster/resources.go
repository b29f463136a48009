package cluster

import "k8s.io/apimachinery/pkg/runtime/schema"

// CRDs is the resource of CustomResourceDefinitions, which several parts
// read directly (wait Established, compare versions, find the kinds a sync
// brings) rather than through discovery.
var CRDs = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// APIServices is the resource of the aggregation layer's APIServices,
// which a standby holds back and plan and the mirror read directly.
var APIServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// ValidatingWebhookConfigurations and MutatingWebhookConfigurations are
// the resources of admission webhook configurations, which a standby
// parks and restores, the mirror follows, and sync reads back.
var (
	ValidatingWebhookConfigurations = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}
	MutatingWebhookConfigurations   = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}
)
