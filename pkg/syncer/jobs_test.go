package syncer

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Jobs come out sorted, one per key, and findJob finds each of them (and
// nothing else).
func TestNewJobsSortsAndFinds(t *testing.T) {
	cm := func(ns, name string) plan.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": ns}}}
	}
	objs := []plan.Object{cm("b", "x"), cm("a", "y"), cm("a", "x"), cm("c", "z"), cm("a", "x")}
	skip := map[plan.ObjectKey]bool{plan.KeyOf(cm("c", "z")): true}
	jobs := newJobs(objs, pick(objs, plan.Selector{Namespaces: []string{"a", "b", "c"}}), skip, true)
	var got []string
	for _, j := range jobs {
		got = append(got, j.key.Namespace+"/"+j.key.Name)
	}
	if want := []string{"a/x", "a/y", "b/x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("jobs %v, want %v", got, want)
	}
	for i, j := range jobs {
		if k, ok := findJob(jobs, j.key); !ok || k != i {
			t.Errorf("findJob(%v) = %d, %v; want %d", j.key, k, ok, i)
		}
	}
	if _, ok := findJob(jobs, plan.KeyOf(cm("c", "z"))); ok {
		t.Error("findJob found a skipped object")
	}
	for i, o := range objs {
		if o != nil {
			t.Errorf("objs[%d] still held after its job was made", i)
		}
	}
}

// A selection that narrows nothing picks each allowed object by itself,
// with no map; the system namespaces and excluded kinds stay out.
func TestPickWithoutNarrowingAsksEachObject(t *testing.T) {
	obj := func(kind, ns, name string) plan.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": ns}}}
	}
	objs := []plan.Object{obj("ConfigMap", "shop", "a"), obj("ConfigMap", "kube-system", "coredns"), obj("Secret", "shop", "s"), obj("ConfigMap", "blog", "b")}
	p := pick(objs, plan.Selector{ExcludeKinds: []schema.GroupKind{{Kind: "Secret"}}})
	if p.sel != nil {
		t.Fatal("a selection that narrows nothing held Pick's answer")
	}
	jobs := newJobs(objs, p, nil, false)
	var got []string
	for _, j := range jobs {
		got = append(got, j.key.Kind+" "+j.key.Namespace+"/"+j.key.Name+" "+j.why)
	}
	if want := []string{"ConfigMap blog/b ", "ConfigMap shop/a "}; !reflect.DeepEqual(got, want) {
		t.Errorf("jobs %q, want %q", got, want)
	}
	if n := pick(objs, plan.Selector{Namespaces: []string{"shop"}}); n.sel == nil {
		t.Error("a selection naming a namespace did not use Pick")
	}
}

// Jobs of several kinds come in the order they are written when taken
// from the end: the earlier wave last, by key within a wave; findJob finds
// each in that order.
func TestNewJobsInWaveOrder(t *testing.T) {
	obj := func(apiVersion, kind, ns, name string) plan.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
			"metadata": map[string]any{"name": name, "namespace": ns}}}
	}
	objs := []plan.Object{
		obj("apps/v1", "Deployment", "a", "web"), obj("v1", "Secret", "a", "s"), obj("v1", "ConfigMap", "b", "x"),
		obj("v1", "ServiceAccount", "a", "sa"), obj("v1", "ConfigMap", "a", "x"), obj("v1", "Service", "a", "web"),
	}
	jobs := newJobs(objs, pick(objs, plan.Selector{}), nil, false)
	var got []string
	for _, j := range jobs {
		got = append(got, j.key.Kind+" "+j.key.Namespace+"/"+j.key.Name)
	}
	want := []string{"Deployment a/web", "Service a/web", "ConfigMap a/x", "ConfigMap b/x", "Secret a/s", "ServiceAccount a/sa"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("jobs %q, want %q (the first wave last)", got, want)
	}
	for i, j := range jobs {
		if k, ok := findJob(jobs, j.key); !ok || k != i {
			t.Errorf("findJob(%v) = %d, %v; want %d", j.key, k, ok, i)
		}
	}
}
