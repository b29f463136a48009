package mirror

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/inventory"
)

// The kinds watched follow the source's API: a kind new to it is watched,
// one watched stays at its version while both clusters still exchange it,
// moves when the source no longer serves that version, and stops when the
// source no longer serves the kind — unless its group did not answer
// discovery, which says nothing of it.
func TestKindsFollowTheSourcesAPI(t *testing.T) {
	res := func(group, version, resource, kind string, source, target []string) inventory.Resource {
		return inventory.Resource{Group: group, Version: version, Resource: resource, Kind: kind, Namespaced: true, Source: source, Target: target}
	}
	configMaps := res("", "v1", "configmaps", "ConfigMap", []string{"v1"}, []string{"v1"})
	gizmoV1 := res("example.com", "v1", "gizmos", "Gizmo", []string{"v1", "v1beta1"}, []string{"v1", "v1beta1"})
	gizmoBeta := res("example.com", "v1beta1", "gizmos", "Gizmo", []string{"v1beta1"}, []string{"v1beta1"})
	gadget := res("example.com", "v1", "gadgets", "Gadget", []string{"v1"}, []string{"v1"})
	doohickey := res("agg.example.com", "v1", "doohickeys", "Doohickey", []string{"v1"}, []string{"v1"})
	widget := res("example.com", "v1", "widgets", "Widget", []string{"v1"}, nil)
	widget.Pending = true

	cur := &kindSet{byGVR: watchedFrom([]inventory.Resource{configMaps, gizmoBeta, gadget, doohickey})}
	cur.resources = []inventory.Resource{configMaps, gizmoBeta, gadget, doohickey}
	// Now: Gizmo served at v1 too (preferred), Gadget gone, Doohickey's
	// group not answering, Widget new (its CRD not in the target yet).
	failed := map[schema.GroupVersion]error{{Group: "agg.example.com", Version: "v1"}: errors.New("503")}
	ch := changeKinds(cur, []inventory.Resource{configMaps, gizmoV1, widget}, failed)

	if len(ch.start) != 1 || ch.start[0].GVR() != widget.GVR() {
		t.Errorf("start %v, want Widget only (Gizmo's v1beta1 is still served by both)", ch.start)
	}
	if len(ch.stop) != 1 || ch.stop[0] != gadget.GVR() {
		t.Errorf("stop %v, want Gadget only (Doohickey's group did not answer)", ch.stop)
	}
	if ch.unanswered != 1 {
		t.Errorf("unanswered %d, want 1", ch.unanswered)
	}
	want := []schema.GroupVersionResource{configMaps.GVR(), gizmoBeta.GVR(), doohickey.GVR(), widget.GVR()}
	if len(ch.next.byGVR) != len(want) {
		t.Errorf("watched %v, want %v", ch.next.byGVR, want)
	}
	for _, gvr := range want {
		if _, ok := ch.next.byGVR[gvr]; !ok {
			t.Errorf("%s not watched, want it watched", gvr)
		}
	}
	versions := map[string]string{}
	for _, r := range ch.next.resources {
		versions[r.Kind] = r.Version
	}
	if versions["Gizmo"] != "v1beta1" || versions["Widget"] != "v1" || versions["Doohickey"] != "v1" || versions["Gadget"] != "" || len(versions) != 4 {
		t.Errorf("the pipeline's resources %v: want Gizmo at its watched v1beta1, Widget and Doohickey (kept), no Gadget", versions)
	}

	// The source stops serving v1beta1: Gizmo moves to v1.
	cur = ch.next
	gizmoOnlyV1 := res("example.com", "v1", "gizmos", "Gizmo", []string{"v1"}, []string{"v1", "v1beta1"})
	ch = changeKinds(cur, []inventory.Resource{configMaps, gizmoOnlyV1, widget, doohickey}, nil)
	if len(ch.stop) != 1 || ch.stop[0] != gizmoBeta.GVR() || len(ch.start) != 1 || ch.start[0].GVR() != gizmoV1.GVR() {
		t.Errorf("stop %v start %v: want Gizmo moved from v1beta1 to v1", ch.stop, ch.start)
	}

	// Nothing new: nothing started or stopped; Widget, now served by the
	// target too, is no longer taken for pending.
	widgetServed := widget
	widgetServed.Pending, widgetServed.Target = false, []string{"v1"}
	ch = changeKinds(ch.next, []inventory.Resource{configMaps, gizmoOnlyV1, widgetServed, doohickey}, nil)
	if len(ch.start)+len(ch.stop) != 0 {
		t.Errorf("start %v stop %v on an unchanged API", ch.start, ch.stop)
	}
	if w := ch.next.byGVR[widget.GVR()]; w.Pending || len(w.Target) != 1 {
		t.Errorf("Widget as kept: %+v, want it as discovered now", w)
	}

	// Widget's CRD made again cluster-scoped, same group and version: watched afresh.
	widgetCluster := widgetServed
	widgetCluster.Namespaced = false
	ch = changeKinds(ch.next, []inventory.Resource{configMaps, gizmoOnlyV1, widgetCluster, doohickey}, nil)
	if len(ch.stop) != 1 || ch.stop[0] != widget.GVR() || len(ch.start) != 1 || ch.start[0].Namespaced {
		t.Errorf("stop %v start %v: want Widget stopped and started cluster-scoped", ch.stop, ch.start)
	}
}
