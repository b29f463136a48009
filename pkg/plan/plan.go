package plan

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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

// Item is one source object after sanitizing, with the target's current copy.
type Item struct {
	Resource   schema.GroupVersionResource // resource and version to write with
	Namespaced bool
	Desired    *unstructured.Unstructured // sanitized; nil never
	Decision   sanitize.Decision
	Current    *unstructured.Unstructured // the target's object, nil when absent
	Why        string                     // why it was selected ("" = matched the selection itself)
	// Load, when set, reads the desired object back whole: Desired then
	// holds only what names it and its owners (a large sync keeps its
	// objects on disk), and DesiredHash is the whole object's hash.
	Load        func() (*unstructured.Unstructured, error)
	DesiredHash string
}

// Full is the desired object whole, a copy the caller may change.
func (it Item) Full() (*unstructured.Unstructured, error) {
	if it.Load != nil {
		return it.Load()
	}
	return it.Desired.DeepCopy(), nil
}

// Step is the planned action for one Item.
type Step struct {
	Item
	Action  Action
	Reason  string   // for Skip; or a short explanation for Update ("changed in the source", "not yet written by tandem")
	Hash    string   // hash of Desired (set for every step sanitize did not skip)
	Foreign []string // field managers other than tandem and the cluster's own controllers that own fields of Current (sorted); apply checks these for conflicts
	GitOps  string   // "Helm release X", "Argo CD", "Flux" when Current is managed by one of them and was never written by tandem
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
	var byWave [len(waves)][]Step
	for _, it := range items {
		i, _ := WaveOf(it.Desired.GroupVersionKind().GroupKind())
		byWave[i] = append(byWave[i], decide(it, o))
	}
	var p Plan
	for i, steps := range byWave {
		if len(steps) == 0 {
			continue
		}
		sort.SliceStable(steps, func(a, b int) bool { return stepLess(steps[a], steps[b]) })
		p.Waves = append(p.Waves, Wave{Index: i, Name: waves[i].name, Steps: steps})
	}
	return p
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

// decide is the action for one item; see Build.
func decide(it Item, o Options) Step {
	s := Step{Item: it}
	if it.Decision.Skip {
		s.Action, s.Reason = Skip, it.Decision.Reason
		return s
	}
	s.Hash = it.DesiredHash
	if s.Hash == "" {
		s.Hash = Hash(it.Desired)
	}
	if it.Current == nil {
		s.Action = Create
		return s
	}
	s.Foreign = foreignManagers(it.Current)
	if !writtenByTandem(it.Current) {
		s.GitOps = gitOps(it.Current)
	}
	last, annotated := it.Current.GetAnnotations()[HashAnnotation]
	switch {
	case s.GitOps != "" && !o.Force:
		s.Action = Skip
		s.Reason = fmt.Sprintf("managed by %s in the target: let that pipeline deploy it (--force copies anyway)", s.GitOps)
	case s.GitOps != "":
		s.Action, s.Reason = Update, fmt.Sprintf("managed by %s in the target, copied anyway (--force)", s.GitOps)
	case annotated && s.Hash != "" && last == s.Hash:
		s.Action = Unchanged
		if o.Force && len(s.Foreign) > 0 {
			s.Action = Update
			s.Reason = fmt.Sprintf("taking over fields from %s (--force)", strings.Join(s.Foreign, ", "))
		}
	case annotated:
		s.Action, s.Reason = Update, "changed in the source"
	default:
		s.Action, s.Reason = Update, "not yet written by tandem"
	}
	return s
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
	if na, nb := a.Desired.GetNamespace(), b.Desired.GetNamespace(); na != nb {
		return na < nb
	}
	if na, nb := a.Desired.GetName(), b.Desired.GetName(); na != nb {
		return na < nb
	}
	return ra.Version < rb.Version
}
