package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// generatedKinds are kinds a cluster writes for itself: copying them would
// describe the source's nodes, allocations or history, not the target's.
var generatedKinds = map[schema.GroupKind]string{
	{Group: "", Kind: "Event"}:                                        "events are the source's history; the target records its own",
	{Group: "events.k8s.io", Kind: "Event"}:                           "events are the source's history; the target records its own",
	{Group: "", Kind: "Node"}:                                         "nodes register themselves with the target",
	{Group: "", Kind: "ComponentStatus"}:                              "component status is computed by the target's apiserver",
	{Group: "coordination.k8s.io", Kind: "Lease"}:                     "leases are held by the source's components; the target's take their own",
	{Group: "coordination.k8s.io", Kind: "LeaseCandidate"}:            "lease candidates are written by the target's own components",
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: "a CSR is signed by the cluster it was sent to",
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:               "volume attachments are made by the target's attach/detach controller",
	{Group: "storage.k8s.io", Kind: "CSINode"}:                        "CSINode is written by each node's kubelet",
	{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}:             "storage capacity is published by the target's CSI drivers",
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                   "Service IPs are allocated by the target's apiserver",
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                 "Service CIDRs belong to the target's apiserver configuration",
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                 "resource slices are published by the target's DRA drivers",
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:      "storage versions are recorded by the target's apiservers",

	// A network add-on's record of the cluster it runs in: its IP
	// allocations, identities and view of nodes and pods. Copied, they
	// would describe the source's nodes to the target's add-on (Calico's
	// IPAM would hold blocks for nodes that do not exist there; Cilium's
	// copied identity numbers would collide with those it allocates).
	{Group: "crd.projectcalico.org", Kind: "IPAMBlock"}:          "Calico's IP allocations for the source's nodes; the target's Calico allocates its own",
	{Group: "crd.projectcalico.org", Kind: "BlockAffinity"}:      "Calico's IP allocations for the source's nodes; the target's Calico allocates its own",
	{Group: "crd.projectcalico.org", Kind: "IPAMHandle"}:         "Calico's IP allocations for the source's nodes; the target's Calico allocates its own",
	{Group: "crd.projectcalico.org", Kind: "ClusterInformation"}: "Calico's record of the cluster it runs in (its GUID, version, datastore state); the target's Calico writes its own",
	{Group: "cilium.io", Kind: "CiliumIdentity"}:                 "security identities the source's Cilium allocated; the target's allocates its own (copied numbers would collide)",
	{Group: "cilium.io", Kind: "CiliumEndpoint"}:                 "the source's pods as its Cilium sees them; the target's Cilium writes its own",
	{Group: "cilium.io", Kind: "CiliumEndpointSlice"}:            "the source's pods as its Cilium sees them; the target's Cilium writes its own",
	{Group: "cilium.io", Kind: "CiliumNode"}:                     "the source's nodes as its Cilium sees them; the target's nodes register their own",
	{Group: "vpcresources.k8s.aws", Kind: "CNINode"}:             "the source's nodes as the Amazon VPC CNI sees them; the target's nodes register their own",

	// A node autoscaler's record of the machines it launched. A NodeClaim
	// is owned by its NodePool without being a controller reference, so
	// the generic rule would copy it; copied, the target's Karpenter would
	// launch an instance for each one.
	{Group: "karpenter.sh", Kind: "NodeClaim"}: "an instance Karpenter launched for the source; copied, the target's Karpenter would launch another (its NodePools are copied and launch what the target needs)",
	{Group: "karpenter.sh", Kind: "Machine"}:   "an instance Karpenter launched for the source; copied, the target's Karpenter would launch another (its Provisioners are copied and launch what the target needs)",
}

// Generated reports whether every object of a kind is one a cluster (or
// its network add-on) writes for itself: never copied, so not worth
// watching either.
func Generated(gk schema.GroupKind) bool {
	_, ok := generatedKinds[gk]
	return ok
}

// alwaysSkip is the rule for a kind that is never copied.
func alwaysSkip(reason string) rule {
	return func(*unstructured.Unstructured, Context) Decision { return skip(reason) }
}
