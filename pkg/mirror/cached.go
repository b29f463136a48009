package mirror

import (
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/share"
)

// cached is what the informers' cache keeps of an object (listwatch.go):
// its namespace (one shared copy per namespace), name and resourceVersion —
// a few dozen bytes where a PartialObjectMetadata takes about 400. It is a
// metav1.Object only so that the cache's key and namespace-index functions
// can read it: as that interface allows, every other field reads as empty
// and ignores what is set.
type cached struct {
	namespace, name, resourceVersion string
	// annotations are a bookmark's only (slimEvent): the reflector reads
	// the end of a watch-list's initial events there.
	annotations map[string]string
}

var (
	_ metav1.Object  = (*cached)(nil)
	_ runtime.Object = (*cached)(nil)
)

func newCached(o metav1.Object) *cached {
	return &cached{namespace: share.String(o.GetNamespace()), name: o.GetName(), resourceVersion: o.GetResourceVersion()}
}

func (c *cached) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (c *cached) DeepCopyObject() runtime.Object {
	cp := *c
	cp.annotations = maps.Clone(c.annotations)
	return &cp
}

func (c *cached) GetNamespace() string                                       { return c.namespace }
func (c *cached) SetNamespace(namespace string)                              { c.namespace = namespace }
func (c *cached) GetName() string                                            { return c.name }
func (c *cached) SetName(name string)                                        { c.name = name }
func (c *cached) GetResourceVersion() string                                 { return c.resourceVersion }
func (c *cached) SetResourceVersion(version string)                          { c.resourceVersion = version }
func (c *cached) GetGenerateName() string                                    { return "" }
func (c *cached) SetGenerateName(string)                                     {}
func (c *cached) GetUID() types.UID                                          { return "" }
func (c *cached) SetUID(types.UID)                                           {}
func (c *cached) GetGeneration() int64                                       { return 0 }
func (c *cached) SetGeneration(int64)                                        {}
func (c *cached) GetSelfLink() string                                        { return "" }
func (c *cached) SetSelfLink(string)                                         {}
func (c *cached) GetCreationTimestamp() metav1.Time                          { return metav1.Time{} }
func (c *cached) SetCreationTimestamp(metav1.Time)                           {}
func (c *cached) GetDeletionTimestamp() *metav1.Time                         { return nil }
func (c *cached) SetDeletionTimestamp(*metav1.Time)                          {}
func (c *cached) GetDeletionGracePeriodSeconds() *int64                      { return nil }
func (c *cached) SetDeletionGracePeriodSeconds(*int64)                       {}
func (c *cached) GetLabels() map[string]string                               { return nil }
func (c *cached) SetLabels(map[string]string)                                {}
func (c *cached) GetAnnotations() map[string]string                          { return c.annotations }
func (c *cached) SetAnnotations(map[string]string)                           {}
func (c *cached) GetFinalizers() []string                                    { return nil }
func (c *cached) SetFinalizers([]string)                                     {}
func (c *cached) GetOwnerReferences() []metav1.OwnerReference                { return nil }
func (c *cached) SetOwnerReferences([]metav1.OwnerReference)                 {}
func (c *cached) GetManagedFields() []metav1.ManagedFieldsEntry              { return nil }
func (c *cached) SetManagedFields(managedFields []metav1.ManagedFieldsEntry) {}
