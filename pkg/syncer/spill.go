package syncer

// A sync holds what it read on disk, not in memory: each namespaced object
// is written to a spill file as it is listed and read back one at a time
// when its turn comes (sanitized, hashed, applied). What stays in memory is
// an index — a sketch of each object for the selection (its references,
// without data or status) and, in the plan, the object's name, owners and
// content hash — so memory grows with the number of objects, not with
// their bytes. Cluster-scoped objects (CRDs, webhooks, roles, classes) are
// few and stay whole: the waits between waves read them.

import (
	"fmt"
	"os"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// spill is an unlinked temporary file of JSON objects: gone when closed or
// when the process ends, however it ends.
type spill struct {
	mu   sync.Mutex
	f    *os.File
	size int64
}

// spillRef is where one object is in the spill.
type spillRef struct {
	off int64
	n   int32
}

func newSpill() (*spill, error) {
	f, err := os.CreateTemp("", "tandem-sync-*.spill")
	if err != nil {
		return nil, fmt.Errorf("spill file: %w", err)
	}
	_ = os.Remove(f.Name()) // unlinked: the open file is all there is
	return &spill{f: f}, nil
}

func (s *spill) put(o *unstructured.Unstructured) (spillRef, error) {
	b, err := o.MarshalJSON()
	if err != nil {
		return spillRef{}, fmt.Errorf("spill %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.WriteAt(b, s.size); err != nil {
		return spillRef{}, fmt.Errorf("spill: %w", err)
	}
	ref := spillRef{off: s.size, n: int32(len(b))}
	s.size += int64(len(b))
	return ref, nil
}

func (s *spill) get(ref spillRef) (*unstructured.Unstructured, error) {
	b := make([]byte, ref.n)
	if _, err := s.f.ReadAt(b, ref.off); err != nil {
		return nil, fmt.Errorf("spill: read back: %w", err)
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("spill: read back: %w", err)
	}
	return o, nil
}

func (s *spill) Close() error {
	if s == nil {
		return nil
	}
	return s.f.Close()
}

// lastApplied is kubectl's copy of what it applied: often an object's
// largest annotation, and nothing the selection reads.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// sketch is what the selection reads of a listed object: for the kinds
// whose specs name other objects (workloads' pod templates, claims,
// Ingresses, Services' selectors and clusterIPs, RBAC), the object without
// status, managedFields or kubectl's last-applied copy; for every other kind,
// and for an object a controller owns (whose references come through its
// controller), only what names it, its labels and its owners. It is a new
// object; o is left whole. Its strings and labels are shared through in.
func sketch(o *unstructured.Unstructured, in *interner) *unstructured.Unstructured {
	md, _ := o.Object["metadata"].(map[string]any)
	if !referencing(o.GroupVersionKind().GroupKind()) || metav1.GetControllerOfNoCopy(o) != nil {
		keep := map[string]any{"name": md["name"]}
		if ns, ok := md["namespace"].(string); ok {
			keep["namespace"] = intern(ns)
		}
		if l, ok := md["labels"].(map[string]any); ok {
			keep["labels"] = in.set(l)
		}
		if v, ok := md["ownerReferences"]; ok {
			keep["ownerReferences"] = v
		}
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": intern(o.GetAPIVersion()), "kind": intern(o.GetKind()), "metadata": keep}}
	}
	out := &unstructured.Unstructured{Object: make(map[string]any, len(o.Object))}
	for k, v := range o.Object {
		switch k {
		case "status":
		case "metadata":
			cp := make(map[string]any, len(md))
			for mk, mv := range md {
				if mk != "managedFields" {
					cp[mk] = mv
				}
			}
			if ann, ok := md["annotations"].(map[string]any); ok {
				if _, has := ann[lastApplied]; has {
					a := make(map[string]any, len(ann))
					for ak, av := range ann {
						if ak != lastApplied {
							a[ak] = av
						}
					}
					cp["annotations"] = a
				}
			}
			out.Object[k] = cp
		default:
			out.Object[k] = v
		}
	}
	return out
}

// referencing are the namespaced kinds whose specs the selection (plan's
// deps.go, grants.go) or the sanitizers' context read.
func referencing(gk schema.GroupKind) bool {
	switch gk {
	case schema.GroupKind{Kind: "Pod"}, schema.GroupKind{Kind: "ReplicationController"},
		schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "StatefulSet"},
		schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"},
		schema.GroupKind{Group: "batch", Kind: "Job"}, schema.GroupKind{Group: "batch", Kind: "CronJob"},
		schema.GroupKind{Kind: "PersistentVolumeClaim"}, schema.GroupKind{Kind: "Service"},
		schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:
		return true
	}
	return false
}

// stub is what the plan keeps of a spilled desired object: what names it
// and its owners (the apply orders by them).
func stub(o *unstructured.Unstructured) *unstructured.Unstructured {
	out := identityOnly(o)
	if refs, ok, _ := unstructured.NestedSlice(o.Object, "metadata", "ownerReferences"); ok {
		_ = unstructured.SetNestedSlice(out.Object, refs, "metadata", "ownerReferences")
	}
	return out
}
