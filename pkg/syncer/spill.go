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
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
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

func (s *spill) read(ref spillRef) ([]byte, error) {
	b := make([]byte, ref.n)
	if _, err := s.f.ReadAt(b, ref.off); err != nil {
		return nil, fmt.Errorf("spill: read back: %w", err)
	}
	return b, nil
}

func (s *spill) get(ref spillRef) (*unstructured.Unstructured, error) {
	b, err := s.read(ref)
	if err != nil {
		return nil, err
	}
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("spill: read back: %w", err)
	}
	return o, nil
}

// stored is a sanitized object in the spill, its hash stamped in its
// annotations (plan.Stored): the apply sends its bytes as they are.
type stored struct {
	sp  *spill
	ref spillRef
}

func (s stored) Body() ([]byte, error) { return s.sp.read(s.ref) }

// Load is the object without the hash stamped: what Desired would be.
func (s stored) Load() (*unstructured.Unstructured, error) {
	o, err := s.sp.get(s.ref)
	if err != nil {
		return nil, err
	}
	ann := o.GetAnnotations()
	delete(ann, plan.HashAnnotation)
	if len(ann) == 0 {
		unstructured.RemoveNestedField(o.Object, "metadata", "annotations")
	} else {
		o.SetAnnotations(ann)
	}
	return o, nil
}

// putStamped spills a sanitized object with its hash stamped, as the apply
// sends it; o's annotations are changed.
func (s *spill) putStamped(o *unstructured.Unstructured, hash string) (stored, error) {
	plan.StampHash(o, hash)
	ref, err := s.put(o)
	return stored{sp: s, ref: ref}, err
}

func (s *spill) Close() error {
	if s == nil {
		return nil
	}
	return s.f.Close()
}

// sketched is what a sync holds of a source object whose content waits in
// the spill: what the selection reads (plan.Object) and where the object
// is. Its strings and labels are shared through the interner.
type sketched struct {
	apiVersion, kind, namespace, name string
	labels                            map[string]string
	owners                            []metav1.OwnerReference
	// essential is what the selection and the sanitizers' context read of
	// the object (plan.Essential) as JSON, for the kinds whose specs name
	// other objects (plan.ReadsContent) and that no controller owns, and
	// for the kinds the sanitizers' context reads (contextReads), owned or
	// not (an operator's Service has a selector, so its Endpoints are the
	// target's endpoints controller's); nil for every other. JSON, not maps: a Deployment's essential fields take
	// ≈ 300 bytes as JSON and ≈ 3 KB as decoded maps (100k mixed objects:
	// 90 MB of 139 MB in use), and they are read a few times per object.
	essential []byte
	ref       spillRef
}

func (s *sketched) GroupVersionKind() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(s.apiVersion, s.kind)
}
func (s *sketched) GetNamespace() string                        { return s.namespace }
func (s *sketched) GetName() string                             { return s.name }
func (s *sketched) GetLabels() map[string]string                { return s.labels }
func (s *sketched) GetOwnerReferences() []metav1.OwnerReference { return s.owners }

// Content is what the selection may read of the object's spec
// (plan.Content), decoded anew at each call; nil when none is kept.
func (s *sketched) Content() *unstructured.Unstructured {
	if s.essential == nil {
		return nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(s.essential); err != nil {
		return nil // it was encoded from such an object: never
	}
	return u
}

// sketch is the sketched form of a listed object spilled at ref; o is left whole.
func sketch(o *unstructured.Unstructured, in *interner, ref spillRef) *sketched {
	md, _ := o.Object["metadata"].(map[string]any)
	l, _ := md["labels"].(map[string]any)
	s := &sketched{apiVersion: intern(o.GetAPIVersion()), kind: intern(o.GetKind()), namespace: intern(o.GetNamespace()),
		name: o.GetName(), labels: in.stringMap(l), owners: o.GetOwnerReferences(), ref: ref}
	if len(s.owners) == 0 {
		s.owners = nil
	}
	gk := o.GroupVersionKind().GroupKind()
	keep, forContext := contextReads[gk]
	if !forContext && (!plan.ReadsContent(gk) || metav1.GetControllerOfNoCopy(o) != nil) {
		return s
	}
	// What the selection's dependency rules (plan.Essential) and the
	// sanitizers' context read of the rest.
	e := plan.Essential(o, keep...).Object
	if md, _ := e["metadata"].(map[string]any); len(e) == 3 && len(md) <= 2 {
		return s // its name alone (a custom resource that names nothing, an opaque Secret): nothing to keep
	}
	if b, err := json.Marshal(e); err == nil {
		s.essential = b
	}
	return s
}

// The fields of a Service the sanitizers' context reads (sanitizeContext,
// sourceClusterIPs).
var (
	serviceSelector  = []string{"spec", "selector"}
	serviceClusterIP = []string{"spec", "clusterIP"}
)

// contextReads are the kinds whose fields the sanitizers' context reads
// (beside what the selection reads, plan.ReadsContent), and those fields:
// a sketch keeps them too.
var contextReads = map[schema.GroupKind][][]string{
	{Kind: "Service"}: {serviceSelector, serviceClusterIP},
}

// refOf is what the plan keeps of a spilled desired object: what names it
// and its owners (the apply orders by them), its repeated strings shared.
func refOf(o *unstructured.Unstructured) plan.Ref {
	r := plan.RefOf(o)
	r.APIVersion, r.Kind, r.Namespace = intern(r.APIVersion), intern(r.Kind), intern(r.Namespace)
	return r
}

// compareRefs orders objects by group, kind, namespace, name.
func compareRefs(a, b plan.Ref) int {
	ka, kb := a.Key(), b.Key()
	return cmp.Or(strings.Compare(ka.Group, kb.Group), strings.Compare(ka.Kind, kb.Kind),
		strings.Compare(ka.Namespace, kb.Namespace), strings.Compare(ka.Name, kb.Name))
}
