package sanitize

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestGeneratedKinds(t *testing.T) {
	runObjectCases(t, []objectCase{
		{
			name: "core Event",
			in: `
apiVersion: v1
kind: Event
metadata: {name: web.17a, namespace: app}
reason: Scheduled
`,
			dec: Decision{Skip: true, Reason: "events are the source's history; the target records its own"},
		},
		{
			name: "Lease",
			in: `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kube-controller-manager, namespace: kube-system}
spec: {holderIdentity: blue}
`,
			dec: Decision{Skip: true, Reason: "leases are held by the source's components; the target's take their own"},
		},
		{
			name: "Calico's IPAM block of a source node",
			in: `
apiVersion: crd.projectcalico.org/v1
kind: IPAMBlock
metadata: {name: 10-244-1-0-26}
spec: {cidr: 10.244.1.0/26, affinity: "host:blue-worker-1", allocations: [0, null]}
`,
			dec: Decision{Skip: true, Reason: "Calico's IP allocations for the source's nodes; the target's Calico allocates its own"},
		},
		{
			// Owned by its NodePool, but not through a controller
			// reference: the generic rule alone would copy it.
			name: "Karpenter's NodeClaim",
			in: `
apiVersion: karpenter.sh/v1
kind: NodeClaim
metadata:
  name: default-x7k2p
  ownerReferences:
  - {apiVersion: karpenter.sh/v1, kind: NodePool, name: default, uid: u1, blockOwnerDeletion: true}
spec:
  nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
  requirements: [{key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}]
`,
			dec: Decision{Skip: true, Reason: "an instance Karpenter launched for the source; copied, the target's Karpenter would launch another (its NodePools are copied and launch what the target needs)"},
		},
		{
			name: "a Karpenter NodePool is the user's: copied",
			in: `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec: {template: {spec: {nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}}}
`,
		},
		{
			name: "an AWS Load Balancer Controller TargetGroupBinding names the source's target group",
			in: `
apiVersion: elbv2.k8s.aws/v1beta1
kind: TargetGroupBinding
metadata: {name: web, namespace: shop}
spec:
  targetGroupARN: arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09
  serviceRef: {name: web, port: 80}
`,
			dec: Decision{Skip: true, Reason: "binds the source's AWS target group arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/6d0ecf831eec9f09: copied, the target's pods would join it and each cluster's controller would deregister the other's; the target needs a target group and TargetGroupBinding of its own", Intent: true},
		},
		{
			name: "a TargetGroupBinding sharing its group between clusters, named by name",
			in: `
apiVersion: elbv2.k8s.aws/v1beta1
kind: TargetGroupBinding
metadata: {name: web, namespace: shop}
spec:
  targetGroupName: web-shared
  multiClusterTargetGroup: true
  serviceRef: {name: web, port: 80}
`,
			dec: Decision{Skip: true, Reason: "binds the source's AWS target group named web-shared, shared between clusters: copied, the target's pods would take part of its traffic at once; bind the target when it is ready to serve", Intent: true},
		},
		{
			name: "a Velero Restore that ran in the source",
			in: `
apiVersion: velero.io/v1
kind: Restore
metadata: {name: nightly-20261201, namespace: velero}
spec: {backupName: nightly-20261201}
status: {phase: Completed}
`,
			dec: Decision{Skip: true, Reason: "a run of the source's Velero; copied without its status, the target's Velero would take it as new and run it again", Intent: true},
		},
		{
			name: "a Velero Schedule is the user's: copied",
			in: `
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: nightly, namespace: velero}
spec: {schedule: "0 1 * * *", template: {ttl: 720h0m0s}}
`,
		},
		{
			name: "a pre-provisioned VolumeSnapshotContent",
			in: `
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: snapcontent-db}
spec:
  deletionPolicy: Delete
  driver: ebs.csi.aws.com
  source: {snapshotHandle: snap-0123456789abcdef0}
  volumeSnapshotRef: {name: db, namespace: shop, uid: 0c5e0000-0000-0000-0000-000000000001}
`,
			dec: Decision{Skip: true, Reason: "the source's record of a snapshot on the storage system; copied, the target's snapshot controller would manage that snapshot too, and could delete it", Intent: true},
		},
		{
			name: "a Calico network policy is the user's: copied",
			in: `
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {selector: all(), types: [Ingress]}
`,
			want: `
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: app}
spec: {selector: all(), types: [Ingress]}
`,
		},
	})

	// Every kind in the table is skipped with its own reason, whatever its version.
	for gk, reason := range generatedKinds {
		t.Run(gk.String(), func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{}}
			obj.SetGroupVersionKind(gk.WithVersion("v1"))
			obj.SetName("x")
			got := Object(obj, Context{})
			if !got.Skip || got.Reason != reason || reason == "" {
				t.Errorf("Object() = %+v, want skip with reason %q", got, reason)
			}
		})
	}
}

func TestRegistryHasNoDuplicates(t *testing.T) {
	// A kind in both tables would silently lose its rule to one of them.
	for gk := range generatedKinds {
		if _, ok := rules[gk]; ok {
			t.Errorf("%s is in both rules and generatedKinds", gk)
		}
	}
	if ruleFor(schema.GroupKind{Group: "example.com", Kind: "Widget"}) != nil {
		t.Error("an unknown kind has a rule; want only the generic ones")
	}
}
