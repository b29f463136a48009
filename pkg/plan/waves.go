package plan

import "k8s.io/apimachinery/pkg/runtime/schema"

// Wave indexes, in apply order. Each is the position of the wave in the table below.
const (
	WaveCRDs            = iota // CustomResourceDefinitions; apply waits for Established after it
	WaveNamespaces             // Namespaces
	WaveClusterClasses         // storage, ingress, priority, runtime, gateway and snapshot classes
	WaveClusterRBAC            // ClusterRoles and ClusterRoleBindings
	WaveNamespacePolicy        // Roles, RoleBindings, ResourceQuotas, LimitRanges
	WaveServiceAccounts        // ServiceAccounts
	WaveConfig                 // Secrets and ConfigMaps
	WaveStorage                // PersistentVolumes and PersistentVolumeClaims
	WaveServices               // Services, Endpoints, EndpointSlices
	WaveWorkloads              // Deployments, StatefulSets, DaemonSets, Jobs, Pods …
	WaveWorkloadPolicy         // HPAs, PDBs, NetworkPolicies
	WaveRoutes                 // Ingresses and Gateway API routes
	WaveCustomResources        // every kind not listed elsewhere
	WaveAdmission              // webhooks and admission policies; apply waits for webhook backends before it
	WaveAPIServices            // aggregated APIServices; apply waits for their backends before it, and for them to be Available after
)

// waves is the one table of apply order: a webhook or an aggregated API created
// early could reject or shadow everything after it, so they come last.
var waves = [...]struct {
	name  string
	kinds []schema.GroupKind
}{
	WaveCRDs:       {"crds", gks("apiextensions.k8s.io", "CustomResourceDefinition")},
	WaveNamespaces: {"namespaces", gks("", "Namespace")},
	WaveClusterClasses: {"cluster classes", concat(
		gks("storage.k8s.io", "StorageClass", "CSIDriver"),
		gks("networking.k8s.io", "IngressClass"),
		gks("scheduling.k8s.io", "PriorityClass"),
		gks("node.k8s.io", "RuntimeClass"),
		gks("gateway.networking.k8s.io", "GatewayClass"),
		gks("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
	)},
	WaveClusterRBAC: {"cluster rbac", gks("rbac.authorization.k8s.io", "ClusterRole", "ClusterRoleBinding")},
	WaveNamespacePolicy: {"namespace policy", concat(
		gks("rbac.authorization.k8s.io", "Role", "RoleBinding"),
		gks("", "ResourceQuota", "LimitRange"),
	)},
	WaveServiceAccounts: {"service accounts", gks("", "ServiceAccount")},
	WaveConfig:          {"config", gks("", "Secret", "ConfigMap")},
	WaveStorage:         {"storage", gks("", "PersistentVolume", "PersistentVolumeClaim")},
	WaveServices: {"services", concat(
		gks("", "Service", "Endpoints"),
		gks("discovery.k8s.io", "EndpointSlice"),
	)},
	WaveWorkloads: {"workloads", concat(
		gks("apps", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"),
		gks("batch", "Job", "CronJob"),
		gks("", "Pod", "ReplicationController"),
	)},
	WaveWorkloadPolicy: {"workload policy", concat(
		gks("autoscaling", "HorizontalPodAutoscaler"),
		gks("policy", "PodDisruptionBudget"),
		gks("networking.k8s.io", "NetworkPolicy"),
	)},
	WaveRoutes: {"routes", concat(
		gks("networking.k8s.io", "Ingress"),
		gks("gateway.networking.k8s.io", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "ReferenceGrant"),
	)},
	WaveCustomResources: {"custom resources", nil},
	WaveAdmission: {"admission", gks("admissionregistration.k8s.io",
		"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
		"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding")},
	WaveAPIServices: {"api services", gks("apiregistration.k8s.io", "APIService")},
}

// waveByKind indexes the table; kinds not in it belong to WaveCustomResources.
var waveByKind = func() map[schema.GroupKind]int {
	m := map[schema.GroupKind]int{}
	for i, w := range waves {
		for _, gk := range w.kinds {
			m[gk] = i
		}
	}
	return m
}()

// NumWaves is the number of waves in the table: indexes run from WaveCRDs to NumWaves-1.
const NumWaves = len(waves)

// WaveName is the name of the wave at index i.
func WaveName(i int) string { return waves[i].name }

// WaveOf returns the wave index and name for a GroupKind (unknown kinds go to the "custom resources" wave).
func WaveOf(gk schema.GroupKind) (int, string) {
	i, ok := waveByKind[gk]
	if !ok {
		i = WaveCustomResources
	}
	return i, waves[i].name
}

// gks lists kinds of one group.
func gks(group string, kinds ...string) []schema.GroupKind {
	out := make([]schema.GroupKind, len(kinds))
	for i, k := range kinds {
		out[i] = schema.GroupKind{Group: group, Kind: k}
	}
	return out
}

// concat joins kind lists.
func concat(lists ...[]schema.GroupKind) []schema.GroupKind {
	var out []schema.GroupKind
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
