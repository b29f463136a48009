package plan

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Target is what a decision reads of the target's copy of an object: its
// UID, the content hash tandem last wrote, the marks of a GitOps pipeline
// and of DNS routing (labels, annotations), and who manages its fields. A
// large sync holds this, not the object, for each object the target has.
type Target struct {
	UID       types.UID
	Namespace string
	// Hash is the HashAnnotation's value; Hashed says the annotation is there.
	Hash   string
	Hashed bool
	// Controlled says a controller owns it (a controller owner reference).
	Controlled bool
	// Labels, Annotations (without the hash and kubectl's last-applied
	// copy) and Managers (manager and subresource of each managedFields
	// entry) may be shared between objects: never modify them.
	Labels      map[string]string
	Annotations map[string]string
	Managers    []ManagedEntry
	// Deleting says it is being deleted (its deletionTimestamp is set; a
	// finalizer, or its namespace's objects', hold it until they finish).
	Deleting bool
}

// Copied says whether o, an object of the target, is a copy tandem wrote:
// it carries HashAnnotation, tandem's field managers own fields of it, and
// no controller owns it. An annotation alone says nothing: a controller may
// pass its owner's annotations on (a Deployment's ReplicaSets carry the
// Deployment's, the hash among them; a DaemonSet's revisions, a Tekton
// PipelineRun's TaskRuns), and its objects keep them when orphaned. Sync
// copies no controller's object but a CRD an operator makes
// (sanitize.MadeCRD), and writes that one without owner references: once
// the target's operator adopted it, it is the operator's. Pruning one of
// those would delete the target's own (a ReplicaSet, and its pods with it).
func Copied(o metav1.Object) bool {
	_, hashed := o.GetAnnotations()[HashAnnotation]
	return hashed && metav1.GetControllerOfNoCopy(o) == nil && ManagedByTandem(o)
}

// WrittenByTandem says o carries tandem's hash or fields of its field
// managers: a copy of a source's object, or one being made (a create's
// fields before its hash), not an object of the target's own that happens
// to have the name. Unlike Copied it does not ask who controls o.
func WrittenByTandem(o metav1.Object) bool {
	_, hashed := o.GetAnnotations()[HashAnnotation]
	return hashed || ManagedByTandem(o)
}

// ManagedByTandem says tandem's field managers own fields of o.
func ManagedByTandem(o metav1.Object) bool {
	for _, mf := range o.GetManagedFields() {
		if Ours(mf.Manager) {
			return true
		}
	}
	return false
}

// ManagedEntry is one managedFields entry as a decision reads it.
type ManagedEntry struct {
	Manager, Subresource string
	// NoContent: the entry owns nothing a copy carries, only finalizers
	// and status — a controller in the target adding its finalizer to a
	// copy (sync does not copy a controller's), or writing the status of a
	// kind without a status subresource. It makes no one else's object.
	NoContent bool
}

// LastAppliedAnnotation is kubectl's copy of what it applied: often an
// object's largest annotation, and nothing a decision reads.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// TargetOf is what a decision reads of o, the target's copy of an object.
func TargetOf(o *unstructured.Unstructured) *Target {
	t := &Target{UID: o.GetUID(), Namespace: o.GetNamespace(), Labels: o.GetLabels(), Managers: ManagersOf(o), Controlled: metav1.GetControllerOfNoCopy(o) != nil,
		Deleting: o.GetDeletionTimestamp() != nil}
	for k, v := range o.GetAnnotations() {
		switch k {
		case HashAnnotation:
			t.Hash, t.Hashed = v, true
		case LastAppliedAnnotation:
		default:
			if t.Annotations == nil {
				t.Annotations = map[string]string{}
			}
			t.Annotations[k] = v
		}
	}
	return t
}

// ManagersOf lists the manager and subresource of each managedFields entry of o.
func ManagersOf(o *unstructured.Unstructured) []ManagedEntry {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, "metadata", "managedFields") // read only: the field sets are not copied
	entries, _ := v.([]any)
	out := make([]ManagedEntry, 0, len(entries))
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		mgr, _ := m["manager"].(string)
		sub, _ := m["subresource"].(string)
		fields, _ := m["fieldsV1"].(map[string]any)
		out = append(out, ManagedEntry{Manager: mgr, Subresource: sub, NoContent: noContent(fields)})
	}
	return out
}

// noContent says whether a managedFields entry's field set holds only
// finalizers and status. An entry without a field set is not judged so.
func noContent(fields map[string]any) bool {
	if len(fields) == 0 {
		return false
	}
	for k, v := range fields {
		switch k {
		case "f:status":
		case "f:metadata":
			meta, _ := v.(map[string]any)
			for mk := range meta {
				if mk != "f:finalizers" && mk != "." {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}
