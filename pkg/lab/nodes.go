package lab

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// PoolLabel names the node pool a lab node belongs to.
const PoolLabel = "tandem.io/pool"

var zones = []string{"zone-a", "zone-b", "zone-c"}

// fakeNode is a Node that kwok manages (annotation kwok.x-k8s.io/node=fake).
func fakeNode(cluster, pool string, i int) *corev1.Node {
	name := fmt.Sprintf("%s-%s-%d", cluster, pool, i)
	// As a kubelet reports them; ephemeral-storage too (the node's disk):
	// without it a pod with an ephemeral-storage request or limit (Argo
	// Rollouts' controller has one) is unschedulable.
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("32"),
		corev1.ResourceMemory:           resource.MustParse("256Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("200Gi"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname":      name,
				"kubernetes.io/os":            "linux",
				"kubernetes.io/arch":          "amd64",
				"type":                        "kwok",
				PoolLabel:                     pool,
				"topology.kubernetes.io/zone": zones[i%len(zones)],
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// AddNodes creates count fake nodes of a pool (idempotent by name) and waits until they are Ready.
func AddNodes(ctx context.Context, cs kubernetes.Interface, cluster, pool string, count int) ([]string, error) {
	existing, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: PoolLabel + "=" + pool})
	if err != nil {
		return nil, err
	}
	next := len(existing.Items)
	var names []string
	for i := 0; i < count; i++ {
		n := fakeNode(cluster, pool, next+i)
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create node %s: %w", n.Name, err)
		}
		names = append(names, n.Name)
	}
	return names, waitNodesReady(ctx, cs, names)
}

// ensureNodes makes sure the default pool has count nodes and that they are Ready.
func ensureNodes(ctx context.Context, cs kubernetes.Interface, cluster string, count int) error {
	var names []string
	for i := 0; i < count; i++ {
		n := fakeNode(cluster, "default", i)
		names = append(names, n.Name)
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	return waitNodesReady(ctx, cs, names)
}

func waitNodesReady(ctx context.Context, cs kubernetes.Interface, names []string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return poll(ctx, 200*time.Millisecond, func() error {
		for _, name := range names {
			n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(n) {
				return fmt.Errorf("node %s not Ready", name)
			}
		}
		return nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
