package sanitize

import "k8s.io/apimachinery/pkg/runtime/schema"

// rules holds the kind-specific rules; kinds that are always skipped because
// the target generates them live in generatedKinds (generated.go).
var rules = map[schema.GroupKind]rule{
	{Group: "", Kind: "Service"}:               sanitizeService,
	{Group: "", Kind: "PersistentVolumeClaim"}: sanitizePVC,
	{Group: "", Kind: "PersistentVolume"}:      alwaysSkip("PersistentVolumes move with `tandem handoff`, never by sync"),
	{Group: "", Kind: "Pod"}:                   sanitizePod,
	{Group: "", Kind: "Secret"}:                sanitizeSecret,
	{Group: "", Kind: "ConfigMap"}:             sanitizeConfigMap,
	{Group: "", Kind: "ServiceAccount"}:        sanitizeServiceAccount,
	{Group: "", Kind: "Namespace"}:             sanitizeNamespace,
	{Group: "", Kind: "Endpoints"}:             sanitizeEndpoints,

	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}: sanitizeEndpointSlice,

	{Group: "batch", Kind: "Job"}: sanitizeJob,

	{Group: "apps", Kind: "Deployment"}: sanitizeDeployment,
	{Group: "apps", Kind: "DaemonSet"}:  sanitizeDaemonSet,

	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        sanitizeClusterRole,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: sanitizeRBAC,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               sanitizeRBAC,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        sanitizeRBAC,

	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                 sanitizeFlowControl,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}: sanitizeFlowControl,

	{Group: "apiregistration.k8s.io", Kind: "APIService"}: sanitizeAPIService,

	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: sanitizeWebhookConfiguration,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   sanitizeWebhookConfiguration,

	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}: sanitizePriorityClass,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:     sanitizeStorageClass,

	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}: sanitizeClusterTrustBundle,

	{Group: "elbv2.k8s.aws", Kind: "TargetGroupBinding"}: sanitizeTargetGroupBinding,
}

// ruleFor returns the rule for gk, or nil when only the generic rules apply.
func ruleFor(gk schema.GroupKind) rule {
	if r, ok := rules[gk]; ok {
		return r
	}
	if reason, ok := generatedKinds[gk]; ok {
		return alwaysSkip(reason)
	}
	if reason, ok := intentKinds[gk]; ok {
		return alwaysSkipIntent(reason)
	}
	return nil
}
