package sanitize

// builtInGroups are the API groups of Kubernetes' own kinds. (Gateway
// API's, the snapshot controller's and many operators' groups end in
// k8s.io too, but are extensions.)
var builtInGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "policy": true, "autoscaling": true, "extensions": true,
	"networking.k8s.io": true, "rbac.authorization.k8s.io": true, "storage.k8s.io": true,
	"apiextensions.k8s.io": true, "admissionregistration.k8s.io": true, "apiregistration.k8s.io": true,
	"scheduling.k8s.io": true, "node.k8s.io": true, "coordination.k8s.io": true, "discovery.k8s.io": true,
	"events.k8s.io": true, "flowcontrol.apiserver.k8s.io": true, "certificates.k8s.io": true,
	"resource.k8s.io": true, "internal.apiserver.k8s.io": true, "storagemigration.k8s.io": true,
	"authentication.k8s.io": true, "authorization.k8s.io": true,
}

// BuiltInGroup says whether group is one of Kubernetes' own API groups,
// not an extension's (a CRD's or an aggregated API's).
func BuiltInGroup(group string) bool { return builtInGroups[group] }
