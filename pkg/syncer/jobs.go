package syncer

// The picked objects to prepare, one job each, in the order they are
// written: taken from the end, the first wave's objects come first, and
// within a wave by key (compareJobs). The target's copies are found in
// them by key as the target is listed (findJob, a binary search in that
// order), and Prepare takes them from the end as it plans.

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// prepareJob is one picked object to prepare: its key, why it was picked,
// where it is, and the target's copy.
type prepareJob struct {
	key     plan.ObjectKey
	why     string
	o       *unstructured.Unstructured // the object; nil when spilled (ref)
	ref     spillRef
	current *targetCopy // nil when the target has none
}

// picker says which objects the selection picks, and why.
type picker struct {
	s plan.Selector
	// sel is Pick's answer; nil when the selection narrows nothing,
	// where each object is asked by itself (Selector.Allowed) and no map
	// of every object is held (at 100k objects it took 14 MB).
	sel *plan.Selection
	// granted (sel nil) are the Roles of system namespaces that apps'
	// grants there bind (plan.GrantedRoles): a handful, not one per object.
	granted map[plan.ObjectKey]string
}

// pick is the selection s makes of objs.
func pick(objs []plan.Object, s plan.Selector) picker {
	if !s.Narrows() {
		return picker{s: s, granted: plan.GrantedRoles(objs, s)}
	}
	sel := plan.Pick(objs, s)
	return picker{s: s, sel: &sel}
}

// picked says whether o (whose key is key) is picked, and why.
func (p picker) picked(o plan.Object, key plan.ObjectKey) (string, bool) {
	if p.sel == nil {
		if why, ok := p.granted[key]; ok {
			return why, true
		}
		return "", p.s.Allowed(o)
	}
	return p.sel.Picked(key)
}

// newJobs makes a job of each object of objs that p picks and skip has
// not, in compareJobs' order, one per key. Whole objects are taken as
// they are, sketched ones by their place in the spill; with release, objs'
// entries are let go of as they are taken.
func newJobs(objs []plan.Object, p picker, skip map[plan.ObjectKey]bool, release bool) []prepareJob {
	n := 0
	for _, o := range objs {
		key := plan.KeyOf(o)
		if _, ok := p.picked(o, key); ok && !skip[key] {
			n++
		}
	}
	jobs := make([]prepareJob, 0, n)
	for i, o := range objs {
		if release {
			objs[i] = nil // what is done with is not held
		}
		key := plan.KeyOf(o)
		why, ok := p.picked(o, key)
		if !ok || skip[key] {
			continue
		}
		j := prepareJob{key: key, why: why}
		switch o := o.(type) {
		case *sketched:
			j.ref = o.ref
		case *unstructured.Unstructured:
			j.o = o
		}
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b prepareJob) int { return compareJobs(a.key, b.key) })
	// The same object served under two resources is prepared once.
	return slices.CompactFunc(jobs, func(a, b prepareJob) bool { return a.key == b.key })
}

// findJob is the index of key's job in jobs (in compareJobs' order), if it
// has one.
func findJob(jobs []prepareJob, key plan.ObjectKey) (int, bool) {
	return slices.BinarySearchFunc(jobs, key, func(j prepareJob, k plan.ObjectKey) int { return compareJobs(j.key, k) })
}

// compareJobs orders jobs as they are taken from the end to be written:
// the later wave first (plan.WaveOf), then by group, kind, namespace and
// name. The jobs are made in this order at once, rather than sorted by key
// and copied into wave order afterwards: at 100k objects that copy was
// 11 MB beside the jobs themselves.
func compareJobs(a, b plan.ObjectKey) int {
	if a.Group != b.Group || a.Kind != b.Kind {
		wa, _ := plan.WaveOf(schema.GroupKind{Group: a.Group, Kind: a.Kind})
		wb, _ := plan.WaveOf(schema.GroupKind{Group: b.Group, Kind: b.Kind})
		if wa != wb {
			return wb - wa
		}
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Kind, b.Kind)
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// shrinkJobsAt: the jobs left are copied into an array their size once
// their array is this many jobs (and half) too large.
const shrinkJobsAt = 4096
