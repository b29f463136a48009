package apply

import (
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/tandem-io/tandem/pkg/plan"
)

func TestRecordsGiveBackWhatWasSet(t *testing.T) {
	var rs records
	var want []Result
	for _, st := range statusCodes {
		for _, a := range actionCodes {
			want = append(want, Result{Wave: "config", Kind: "ConfigMap", Namespace: "shop", Name: string(st) + "-" + string(a), Action: a, Status: st})
		}
	}
	want = append(want,
		Result{Wave: "workloads", Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web", Action: plan.Update, Status: Failed,
			Reason: "the webhook is down", Notes: []string{"replicas parked"}, Why: "stack web", Transient: true},
		Result{Wave: "config", Kind: "ConfigMap", Namespace: "shop", Name: "settings", Action: plan.Create, Status: Created, OwnersDropped: true},
		Result{}, // a result never set (a run stopped before it)
		Result{Wave: "namespaces", Kind: "Namespace", Name: "shop", Action: plan.Skip, Status: Skipped, Why: "named"})
	start := rs.grow(len(want))
	for i, r := range want {
		rs.set(start+i, r)
	}
	if got := rs.from(0); !reflect.DeepEqual(got, want) {
		t.Fatalf("records gave back\n%+v\nwant\n%+v", got, want)
	}
	if got := rs.from(len(want) - 1); len(got) != 1 || got[0].Name != "shop" {
		t.Errorf("from the last: %+v", got)
	}
	rs.truncate(2)
	rs.add(want[len(want)-1:])
	if got := rs.from(0); len(got) != 3 || got[2].Kind != "Namespace" {
		t.Errorf("after truncate and add: %+v", got)
	}
}

func TestRecordsSortByKindNamespaceName(t *testing.T) {
	var rs records
	in := []Result{
		{Wave: "config", Kind: "Secret", Namespace: "a", Name: "x"},
		{Wave: "config", Kind: "ConfigMap", Namespace: "b", Name: "a"},
		{Wave: "config", Kind: "ConfigMap", Namespace: "a", Name: "z"},
		{Wave: "config", Group: "x.io", Kind: "ConfigMap", Namespace: "a", Name: "a"},
	}
	rs.add([]Result{{Wave: "namespaces", Kind: "Namespace", Name: "keep-first"}})
	rs.add(in)
	rs.sortFrom(1)
	var got []string
	for _, r := range rs.from(0) {
		got = append(got, r.Group+"/"+r.Kind+" "+r.Namespace+"/"+r.Name)
	}
	want := []string{"/Namespace /keep-first", "/ConfigMap a/z", "/ConfigMap b/a", "/Secret a/x", "x.io/ConfigMap a/a"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}

// amend changes the results it has a function for (their notes, status
// and mark), and only those.
func TestRecordsAmendByKey(t *testing.T) {
	var rs records
	in := []Result{
		{Wave: "config", Kind: "ConfigMap", Namespace: "a", Name: "x", Status: Created, OwnersDropped: true,
			Notes: []string{"owner Deployment/web is not in the target: reference dropped"}},
		{Wave: "config", Kind: "ConfigMap", Namespace: "b", Name: "x", Status: Created, OwnersDropped: true},
		{Wave: "config", Kind: "ConfigMap", Namespace: "c", Name: "x", Status: Unchanged, OwnersDropped: true},
		{Wave: "workloads", Group: "apps", Kind: "Deployment", Namespace: "a", Name: "x", Status: Created},
	}
	rs.add(in)
	key := func(r Result) string { return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name }
	rs.amend(key, map[string]func(*Result){"/ConfigMap/a/x": func(r *Result) {
		r.Notes, r.OwnersDropped = []string{"added"}, false
	}, "/ConfigMap/c/x": func(r *Result) {
		r.Status, r.OwnersDropped = Updated, false
	}})
	want := slices.Clone(in)
	want[0].Notes, want[0].OwnersDropped = []string{"added"}, false
	want[2].Status, want[2].OwnersDropped = Updated, false
	if got := rs.from(0); !reflect.DeepEqual(got, want) {
		t.Errorf("amended\n%+v\nwant\n%+v", got, want)
	}
}

// The point of a record: a result held in a third of a Result's bytes.
func TestRecordIsSmall(t *testing.T) {
	if r, res := unsafe.Sizeof(record{}), unsafe.Sizeof(Result{}); r > 48 || r*3 > res {
		t.Errorf("a record is %d bytes, a Result %d", r, res)
	}
}
