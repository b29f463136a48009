package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Action is what sync does with one object.
type Action string

// The actions sync takes.
const (
	Create    Action = "create"    // absent in the target
	Update    Action = "update"    // present, and tandem writes it
	Unchanged Action = "unchanged" // present with the content tandem last wrote
	Skip      Action = "skip"      // not written; Step.Reason says why
)

// HashAnnotation holds the hash of what tandem last applied; equal hash = nothing to write.
const HashAnnotation = "tandem.io/source-hash"

// FieldManager is tandem's server-side-apply field manager.
const FieldManager = "tandem"

// CreateManager is the field manager of tandem's creates. An object the
// target does not have is written with a create, the apiserver's cheapest
// write; its fields are then owned by an Update entry of this name, which
// the next apply that changes the object first moves into FieldManager's
// apply entry (Step.Upgrade), so that a field the source drops is removed.
const CreateManager = "tandem-create"

// Item is one source object after sanitizing, with the target's current copy.
type Item struct {
	Resource   schema.GroupVersionResource // resource and version to write with
	Namespaced bool
	// Ref names the object and its owners; Build takes it from Desired when
	// it is left empty.
	Ref Ref
	// Desired is the sanitized object; nil when Stored is set (a large sync
	// keeps its objects on disk: Ref names it, DesiredHash is its hash).
	Desired  *unstructured.Unstructured
	Decision sanitize.Decision
	// Target is what a decision reads of the target's copy, nil when it has
	// none; Build takes it from Current when it is left nil.
	Target *Target
	// Current is the target's object whole, when the caller has it (a diff
	// prints it); nil when absent.
	Current *unstructured.Unstructured
	Why     string // why it was selected ("" = matched the selection itself)
	// Stored, when set, is where the desired object waits outside memory.
	Stored      Stored
	DesiredHash string
	// NamespaceDeleting says the object's namespace is being deleted in
	// the target (Terminating): whatever is written there goes with it.
	NamespaceDeleting bool
}

// Stored is a desired object kept outside memory.
type Stored interface {
	// Load reads the object back whole.
	Load() (*unstructured.Unstructured, error)
	// Body reads it back as an apply sends it: JSON, the HashAnnotation
	// already set to the object's hash. Only an object whose owner
	// references need no remapping can be sent as it is.
	Body() ([]byte, error)
}

// Full is the desired object whole, a copy the caller may change.
func (it Item) Full() (*unstructured.Unstructured, error) {
	if it.Stored != nil {
		return it.Stored.Load()
	}
	return it.Desired.DeepCopy(), nil
}

// Ref is what names an object and its owners: all a step holds of an
// object whose content waits on disk, and all the apply orders by.
type Ref struct {
	APIVersion, Kind, Namespace, Name string
	Owners                            []metav1.OwnerReference
}

// RefOf names o.
func RefOf(o *unstructured.Unstructured) Ref {
	return Ref{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Owners: o.GetOwnerReferences()}
}

// GroupVersionKind is the object's group, version and kind.
func (r Ref) GroupVersionKind() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(r.APIVersion, r.Kind)
}

// Key is the object's ObjectKey.
func (r Ref) Key() ObjectKey {
	return ObjectKey{Group: r.GroupVersionKind().Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// Step is the planned action for one Item.
type Step struct {
	Item
	Action  Action
	Reason  string   // for Skip; or a short explanation for Update ("differs from what tandem last wrote", "not yet written by tandem")
	Hash    string   // hash of Desired (set for every step sanitize did not skip)
	Foreign []string // field managers other than tandem and the cluster's own controllers that own fields of Current (sorted); apply checks these for conflicts
	GitOps  string   // "Helm release X", "Argo CD", "Flux" when Current is managed by one of them and was never written by tandem
	// TargetUID is the UID of the target's copy ("" when it has none): a
	// plan keeps no more of Target and Current.
	TargetUID types.UID
	// Upgrade says the target's copy has fields tandem created
	// (CreateManager): an apply first makes them FieldManager's.
	Upgrade bool
	// OwnersDropped is the target's hash when it says the copy was
	// written without some owner references (OwnersDroppedHash), "" else:
	// apply leaves the copy be when it would leave out the same ones.
	OwnersDropped string
	// TargetDeleting says the target's copy, or its namespace there, is
	// being deleted: a write would go with it once its finalizers finish,
	// so apply fails the step (one that can pass: a next run creates it
	// once it is gone).
	TargetDeleting bool
}

// Wave is a group of steps applied together; waves run in order.
type Wave struct {
	Index int // position in the wave table (WaveCRDs …), kept when earlier waves are empty
	Name  string
	Steps []Step
}

// Plan is the ordered list of waves (empty waves omitted).
type Plan struct{ Waves []Wave }

// Options change how steps are decided.
type Options struct {
	Force bool // take over fields of other managers and objects of GitOps pipelines
}

// Build decides each item's action and groups steps into waves, sorted within a wave by resource, namespace, name.
func Build(items []Item, o Options) Plan {
	b := NewBuilder(o)
	for _, it := range items {
		b.Add(it)
	}
	return b.Plan()
}

// Builder builds a plan one item at a time, so that a caller need not hold
// its items and the plan's steps at once. It is not safe for concurrent use.
type Builder struct {
	o        Options
	byWave   [NumWaves][]Step
	expected [NumWaves]int
}

// Expect says one more item of kind gk is coming: a wave's steps are then
// allocated once, at their size, instead of grown (which holds the old
// array and the new one at once, and leaves up to a quarter unused).
func (b *Builder) Expect(gk schema.GroupKind) {
	i, _ := WaveOf(gk)
	b.expected[i]++
}

// NewBuilder starts an empty plan.
func NewBuilder(o Options) *Builder { return &Builder{o: o} }

// Add decides one item's action and puts its step in its wave.
func (b *Builder) Add(it Item) {
	s, i := Decide(it, b.o)
	if b.byWave[i] == nil && b.expected[i] > 0 {
		b.byWave[i] = make([]Step, 0, b.expected[i])
	}
	b.byWave[i] = append(b.byWave[i], s)
}

// Decide is one item's step, as Build makes it, and the index of its wave:
// for a caller that writes each step as it is decided (apply.Stream)
// instead of building the whole plan first.
func Decide(it Item, o Options) (Step, int) {
	if it.Ref.Kind == "" {
		it.Ref = RefOf(it.Desired)
	}
	i, _ := WaveOf(it.Ref.GroupVersionKind().GroupKind())
	s := decide(it, o)
	// The step keeps the copy's UID only: the plan's memory does not grow
	// with the target's metadata.
	s.Current, s.Target = nil, nil
	return s, i
}

// Plan is the plan of the items added; the Builder is empty afterwards.
func (b *Builder) Plan() Plan {
	var p Plan
	for i, steps := range b.byWave {
		if len(steps) == 0 {
			continue
		}
		sort.SliceStable(steps, func(a, b int) bool { return stepLess(steps[a], steps[b]) })
		p.Waves = append(p.Waves, Wave{Index: i, Name: waves[i].name, Steps: slices.Clip(steps)})
		b.byWave[i] = nil
	}
	return p
}

// Len is the number of steps.
func (p Plan) Len() int {
	n := 0
	for _, w := range p.Waves {
		n += len(w.Steps)
	}
	return n
}

// Counts tallies steps per action.
func (p Plan) Counts() map[Action]int {
	n := map[Action]int{}
	for _, w := range p.Waves {
		for _, s := range w.Steps {
			n[s.Action]++
		}
	}
	return n
}

// LeftInTarget is the note on a skipped object whose copy an earlier
// tandem made is in the target.
const LeftInTarget = "a copy an earlier tandem made is in the target: delete it there"

// DeletingReason is the reason of a step whose copy in the target is
// being deleted.
const DeletingReason = "its copy in the target is being deleted (deletionTimestamp set, finalizers pending): written now, it would go with that copy"

// NamespaceDeletingReason is the reason of a step whose namespace is being
// deleted in the target.
const NamespaceDeletingReason = "its namespace is being deleted in the target (Terminating): written now, it would go with it"

// decide is the action for one item; see Build.
func decide(it Item, o Options) Step {
	t := it.Target
	if t == nil && it.Current != nil {
		t = TargetOf(it.Current)
	}
	s := decideAction(it, t, o)
	switch {
	case s.Action == Skip:
	case t != nil && t.Deleting:
		s.TargetDeleting, s.Reason = true, DeletingReason
	case it.NamespaceDeleting:
		s.TargetDeleting, s.Reason = true, NamespaceDeletingReason
	}
	return s
}

// decideAction is the action for one item whose target copy is t (nil:
// none); see Build.
func decideAction(it Item, t *Target, o Options) Step {
	s := Step{Item: it}
	if t != nil {
		s.TargetUID = t.UID
	}
	if it.Decision.Skip {
		s.Action, s.Reason = Skip, it.Decision.Reason
		if it.Decision.Intent && t != nil && t.Hashed && t.managedByTandem() {
			// Copied by an earlier tandem, before it left such objects
			// behind: the copy acts in the target as the reason says. (The
			// hash alone says nothing: a controller may pass its owner's
			// annotations on to what it makes — see Copied.)
			s.Decision.Notes = append(slices.Clip(s.Decision.Notes), LeftInTarget)
		}
		return s
	}
	// A CRD an operator makes: copied only where the target lacks it, and
	// kept in step only until the target's operator adopts the copy; one
	// a GitOps pipeline manages in the target is that pipeline's (below).
	made := sanitize.MadeCRD(it.Ref.GroupVersionKind().GroupKind(), it.Ref.Owners)
	if made != "" && t != nil {
		switch ours := t.managedByTandem(); {
		case ours && t.Controlled:
			s.Action, s.Reason = Skip, fmt.Sprintf("adopted in the target by the controller of its owner %s, as in the source: left to it", made)
			return s
		case !ours && gitOps(t) == "":
			s.Action, s.Reason = Skip, fmt.Sprintf("made in the target by the controller of its owner %s, as in the source", made)
			return s
		}
	}
	s.Hash = it.DesiredHash
	if s.Hash == "" {
		s.Hash = Hash(it.Desired)
	}
	if t == nil {
		s.Action = Create
		if made != "" {
			s.Decision.Notes = append(slices.Clip(s.Decision.Notes), fmt.Sprintf(
				"made by the controller of its owner %s: copied as the target lacks it, without its owner reference, so its custom resources can come across before that controller runs there, which adopts it", made))
		}
		return s
	}
	s.Foreign = foreignManagers(t.Managers)
	s.Upgrade = createdByTandem(t.Managers)
	if !t.managedByTandem() {
		s.GitOps = gitOps(t)
	}
	last, annotated := t.Hash, t.Hashed
	switch {
	case s.GitOps != "" && !o.Force:
		s.Action = Skip
		s.Reason = fmt.Sprintf("managed by %s in the target: let that pipeline deploy it (--force copies anyway)", s.GitOps)
	case s.GitOps != "":
		s.Action, s.Reason = Update, fmt.Sprintf("managed by %s in the target, copied anyway (--force)", s.GitOps)
	case annotated && s.Hash != "" && last == s.Hash:
		s.Action = Unchanged
		// A write through the scale subresource (kubectl scale, an
		// autoscaler of its own) set spec.replicas: said, not a conflict
		// (an autoscaler would make one of every run); --force takes the
		// replicas back.
		scaled := foreignManagers(t.Managers, "scale")
		switch {
		case o.Force && len(s.Foreign)+len(scaled) > 0:
			s.Action = Update
			s.Reason = fmt.Sprintf("taking over fields from %s (--force)", strings.Join(slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(s.Foreign), scaled...)))), ", "))
		case len(scaled) > 0:
			s.Decision.Notes = append(slices.Clip(s.Decision.Notes), fmt.Sprintf("its replicas were last set in the target through /scale by %s: left as they are (--force sets the source's)", strings.Join(scaled, ", ")))
		}
	case annotated && ownersDroppedFrom(last, s.Hash):
		s.Action, s.Reason = Update, "written without owner references whose owners were not in the target then: written again with those that are there now"
		s.OwnersDropped = last
	case annotated:
		s.Action, s.Reason = Update, "differs from what tandem last wrote"
	case t.managedByTandem():
		// activate and deactivate drop the hash of what they change:
		// after a switch, the copy is written again as the source has it.
		s.Action, s.Reason = Update, "no hash of tandem's on it, though tandem has written to it (activate and deactivate drop the hash of what they change)"
	default:
		s.Action, s.Reason = Update, "not yet written by tandem"
	}
	return s
}

// CompareSteps orders steps as a plan's wave holds them: by resource,
// namespace, name (for slices.SortFunc).
func CompareSteps(a, b Step) int {
	switch {
	case stepLess(a, b):
		return -1
	case stepLess(b, a):
		return 1
	}
	return 0
}

// stepLess orders steps by resource, namespace, name.
func stepLess(a, b Step) bool {
	ra, rb := a.Resource, b.Resource
	if ra.Group != rb.Group {
		return ra.Group < rb.Group
	}
	if ra.Resource != rb.Resource {
		return ra.Resource < rb.Resource
	}
	if na, nb := a.Ref.Namespace, b.Ref.Namespace; na != nb {
		return na < nb
	}
	if na, nb := a.Ref.Name, b.Ref.Name; na != nb {
		return na < nb
	}
	return ra.Version < rb.Version
}
