package sanitize

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
)

// serverMetadata are the metadata fields the source apiserver wrote; the target
// writes its own. generateName goes too: the object already has its real name,
// and applying by that name is what makes a re-run idempotent.
var serverMetadata = []string{
	"uid",
	"resourceVersion",
	"generation",
	"creationTimestamp",
	"deletionGracePeriodSeconds",
	"managedFields",
	"selfLink",
	"generateName",
}

// metaSkip applies the skips that hold for every kind.
func metaSkip(obj *unstructured.Unstructured) Decision {
	if ts, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "metadata", "deletionTimestamp"); ts != nil {
		return skip("being deleted in the source")
	}
	if OwnState(obj) {
		return skip("tandem's own state (role record, standby marker, locks, standby policy): each cluster keeps its own")
	}
	if obj.GroupVersionKind().Group == tandemv1.GroupVersion.Group {
		// Wherever a user keeps them: in tandem-system OwnState says so too.
		return skipIntent(fmt.Sprintf("tandem's own %s: the controller of the cluster that has it acts on it; a copy would run the pair's mirror twice, or a switchover or drill again", obj.GetKind()))
	}
	if made := gatewayInfra(obj); made != "" {
		return skip(made + ": the target's implementation makes its own")
	}
	for _, ref := range obj.GetOwnerReferences() {
		// Controller or not: what belongs to an object of a kind never
		// copied (a Node, a Workflow's step results) is left with it.
		owner := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind).GroupKind()
		switch {
		case owner == schema.GroupKind{Kind: "Node"}:
			return skip(fmt.Sprintf("belongs to the source's node %s: the target's nodes have their own", ref.Name))
		case Generated(owner):
			d := skip(fmt.Sprintf("belongs to %s %s, which is not copied", ref.Kind, ref.Name))
			_, d.Intent = intentKinds[owner]
			return d
		}
		if ref.Controller != nil && *ref.Controller {
			if MadeCRD(obj.GroupVersionKind().GroupKind(), obj.GetOwnerReferences()) != "" {
				// Copied where the target lacks it (plan.decide): the
				// custom resources sync copies need it before that
				// controller runs there, and a standby's never does.
				continue
			}
			// Non-controller references are kept; RemapOwners fixes their UIDs later.
			return skip(fmt.Sprintf("owned by %s/%s: its controller recreates it in the target", ref.Kind, ref.Name))
		}
	}
	return Decision{}
}

// MadeCRD names the controller owner of a CustomResourceDefinition that
// an operator makes from another object ("ConstraintTemplate/k8srequiredlabels":
// Gatekeeper makes a constraint kind from each ConstraintTemplate,
// Crossplane a composite kind from each CompositeResourceDefinition and a
// provider's kinds from its ProviderRevision), "" for anything else. Unlike
// what else a controller makes, such a CRD is copied, where the target
// lacks it: the custom resources of it that sync copies (constraints,
// composite resources) cannot be written before it, the target's operator
// may start after the sync or, in a standby, not at all, and the operator
// adopts the copy it finds (apply writes it without owner references).
// Where the target has one that tandem did not write, its operator made it
// and it is left to it.
func MadeCRD(gk schema.GroupKind, owners []metav1.OwnerReference) string {
	if gk != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
		return ""
	}
	for _, ref := range owners {
		if ref.Controller != nil && *ref.Controller {
			return ref.Kind + "/" + ref.Name
		}
	}
	return ""
}

// DropMadeOwners removes the owner references of obj when it is a CRD an
// operator makes (MadeCRD): they are kept through the plan, which decides
// by them, and the write leaves them out (the target's operator sets its
// own when it adopts it). Whatever shows or tries the write does the same
// (apply, a diff, plan's dry run). It reports whether it removed them.
func DropMadeOwners(obj *unstructured.Unstructured) bool {
	if MadeCRD(obj.GroupVersionKind().GroupKind(), obj.GetOwnerReferences()) == "" {
		return false
	}
	unstructured.RemoveNestedField(obj.Object, "metadata", "ownerReferences")
	return true
}

// StateNamespace is where tandem keeps each cluster's own state.
const StateNamespace = "tandem-system"

// OwnState reports whether obj is tandem's per-cluster state: anything in
// StateNamespace (the namespace itself included) and objects tandem installs
// for itself (labelled app.kubernetes.io/managed-by=tandem, e.g. the standby
// policy). Copying them would overwrite the target's own role and locks.
func OwnState(obj *unstructured.Unstructured) bool {
	if obj.GetNamespace() == StateNamespace || (obj.GetKind() == "Namespace" && obj.GetName() == StateNamespace) {
		return true
	}
	return obj.GetLabels()["app.kubernetes.io/managed-by"] == "tandem"
}

// stripMeta removes what the source cluster generated for every object. Labels,
// annotations (last-applied-configuration included) and the finalizers left
// by dropControllerFinalizers stay: users own them.
func stripMeta(obj *unstructured.Unstructured) {
	for _, f := range serverMetadata {
		unstructured.RemoveNestedField(obj.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(obj.Object, "status")
}

// deleteKeys removes keys from the string map at path, and the map itself once
// it is empty, so applying leaves no empty field behind.
func deleteKeys(obj map[string]any, path []string, keys ...string) {
	m, ok, _ := unstructured.NestedFieldNoCopy(obj, path...)
	mm, isMap := m.(map[string]any)
	if !ok || !isMap {
		return
	}
	for _, k := range keys {
		delete(mm, k)
	}
	if len(mm) == 0 {
		unstructured.RemoveNestedField(obj, path...)
	}
}

// removeAnnotations removes annotations the source cluster's controllers wrote.
func removeAnnotations(obj *unstructured.Unstructured, keys ...string) {
	deleteKeys(obj.Object, []string{"metadata", "annotations"}, keys...)
}

// int64Of reads a JSON number whichever way it was decoded (int64 from the
// apiserver's decoder, float64 from encoding/json, int from Go literals).
func int64Of(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}
