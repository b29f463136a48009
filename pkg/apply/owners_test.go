package apply

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/plan"
)

func object(apiVersion, kind, namespace, name, uid string, owners ...map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	if namespace != "" {
		o.SetNamespace(namespace)
	}
	if uid != "" {
		o.SetUID(types.UID(uid))
	}
	if len(owners) > 0 {
		refs := make([]any, len(owners))
		for i, r := range owners {
			refs[i] = r
		}
		o.Object["metadata"].(map[string]any)["ownerReferences"] = refs
	}
	return o
}

// The owner index keeps the namespaced owners the plan's steps name and
// every cluster-scoped object, not every object written; and a namespaced
// owner is never found for a dependent in another namespace.
func TestOwnerIndexKeepsOnlyOwnersAndStaysInItsNamespace(t *testing.T) {
	dep := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "source-uid"}
	node := map[string]any{"apiVersion": "example.io/v1", "kind": "Cluster", "name": "main", "uid": "source-uid-2"}
	p := plan.Build([]plan.Item{
		{Desired: object("v1", "ConfigMap", "a", "web-config", "", dep, node)},
		{Desired: object("apps/v1", "Deployment", "a", "web", ""), Current: object("apps/v1", "Deployment", "a", "web", "uid-a")},
		{Desired: object("v1", "ConfigMap", "a", "other", ""), Current: object("v1", "ConfigMap", "a", "other", "uid-other")},
	}, plan.Options{})
	ix := newOwnerIndex()
	ix.seed(p)
	if uid, ok := ix.lookup("apps/v1", "Deployment", "a", "web"); !ok || uid != "uid-a" {
		t.Errorf("the owner named by a step: %q %v, want uid-a", uid, ok)
	}
	if len(ix.uids) != 1 {
		t.Errorf("the index holds %d entries (%v), want only the one owner", len(ix.uids), ix.uids)
	}
	// A Deployment "web" written in namespace b is nobody's owner here.
	ix.remember(object("apps/v1", "Deployment", "b", "web", "uid-b"))
	if uid, ok := ix.lookup("apps/v1", "Deployment", "c", "web"); ok {
		t.Errorf("a dependent in namespace c found the owner %q of another namespace", uid)
	}
	// Cluster-scoped objects are kept whatever, and found from any namespace.
	ix.remember(object("example.io/v1", "Cluster", "", "main", "uid-main"))
	if uid, ok := ix.lookup("example.io/v1", "Cluster", "a", "main"); !ok || uid != "uid-main" {
		t.Errorf("cluster-scoped owner: %q %v, want uid-main", uid, ok)
	}
}
