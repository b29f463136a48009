package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// generatedKinds are kinds a cluster writes for itself, or that record
// what happened in it: copying them would describe the source's nodes,
// allocations or history to the target, or have the target do again what
// the source did.
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

// intentKinds are kinds someone makes on purpose whose copy would act in
// the target as if made there (Decision.Intent): records of a snapshot,
// and runs and one-shot requests that ran in the source.
var intentKinds = map[schema.GroupKind]string{
	// Snapshots. A VolumeSnapshotContent is the source's record of a
	// snapshot on the storage system, as a PersistentVolume is of a
	// volume (handoff moves volumes; their snapshots stay the source's).
	// Copied, the target's snapshot controller would manage that same
	// snapshot, and could delete it once it finds no VolumeSnapshot of its
	// own bound to it. A VolumeSnapshot copied without its status would
	// have the target take a new snapshot of its claim of that name.
	{Group: "snapshot.storage.k8s.io", Kind: "VolumeSnapshotContent"}:           snapshotContent,
	{Group: "snapshot.storage.k8s.io", Kind: "VolumeSnapshot"}:                  snapshotTaken,
	{Group: "groupsnapshot.storage.k8s.io", Kind: "VolumeGroupSnapshotContent"}: snapshotContent,
	{Group: "groupsnapshot.storage.k8s.io", Kind: "VolumeGroupSnapshot"}:        snapshotTaken,

	// Runs and one-shot requests: their status says they ran. Copied
	// without it, the target's controller takes them as new and runs them
	// again — a Velero restore restoring old data, a deletion request
	// deleting a backup from the shared bucket, a pipeline deploying
	// again. Velero lists the backups of a storage location by itself
	// (its backup sync), so they are not copied either.
	{Group: "velero.io", Kind: "Backup"}:              "a backup of the source; the target's Velero lists it from the storage location (backup sync), while a copy without its status would be taken again",
	{Group: "velero.io", Kind: "Restore"}:             veleroRun,
	{Group: "velero.io", Kind: "DeleteBackupRequest"}: veleroRun,
	{Group: "velero.io", Kind: "DownloadRequest"}:     veleroRun,
	{Group: "velero.io", Kind: "ServerStatusRequest"}: veleroRun,
	{Group: "velero.io", Kind: "PodVolumeBackup"}:     veleroRun,
	{Group: "velero.io", Kind: "PodVolumeRestore"}:    veleroRun,
	{Group: "velero.io", Kind: "DataUpload"}:          veleroRun,
	{Group: "velero.io", Kind: "DataDownload"}:        veleroRun,
	{Group: "velero.io", Kind: "BackupRepository"}:    "the source's Velero's connection to a backup repository; the target's makes its own",
	{Group: "velero.io", Kind: "ResticRepository"}:    "the source's Velero's connection to a backup repository; the target's makes its own",
	{Group: "argoproj.io", Kind: "Workflow"}:          "a run of the source's Argo Workflows; copied without its status, the target would run it again",
	{Group: "tekton.dev", Kind: "PipelineRun"}:        tektonRun,
	{Group: "tekton.dev", Kind: "TaskRun"}:            tektonRun,
	{Group: "tekton.dev", Kind: "CustomRun"}:          tektonRun,
	{Group: "tekton.dev", Kind: "Run"}:                tektonRun,
}

// The reasons several kinds share.
const (
	snapshotContent = "the source's record of a snapshot on the storage system; copied, the target's snapshot controller would manage that snapshot too, and could delete it"
	snapshotTaken   = "a snapshot taken in the source; copied without its status, the target would take a new one of its claim of that name (or wait for a snapshot content that is not copied)"
	veleroRun       = "a run of the source's Velero; copied without its status, the target's Velero would take it as new and run it again"
	tektonRun       = "a run of the source's Tekton pipelines; copied without its status, the target would run it again"
)

// Generated reports whether every object of a kind is one a cluster (or
// one of its add-ons) writes for itself or a record of what ran in it:
// never copied, so not worth watching either.
func Generated(gk schema.GroupKind) bool {
	_, intent := intentKinds[gk]
	return ClusterWritten(gk) || intent
}

// ClusterWritten reports whether every object of a kind is one a cluster
// (or one of its add-ons) writes for itself: in the target, the target's
// own, nobody's intent.
func ClusterWritten(gk schema.GroupKind) bool {
	_, ok := generatedKinds[gk]
	return ok
}

// alwaysSkip is the rule for a kind that is never copied.
func alwaysSkip(reason string) rule {
	return func(*unstructured.Unstructured, Context) Decision { return skip(reason) }
}

// alwaysSkipIntent is the rule for a kind of intentKinds.
func alwaysSkipIntent(reason string) rule {
	return func(*unstructured.Unstructured, Context) Decision { return skipIntent(reason) }
}
