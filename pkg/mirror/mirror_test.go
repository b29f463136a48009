package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/pager"
	"k8s.io/client-go/util/workqueue"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/syncer"
)

func TestNotOurs(t *testing.T) {
	obj := func(annotated bool, managers ...metav1.ManagedFieldsEntry) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "n"}}}
		if annotated {
			o.SetAnnotations(map[string]string{"tandem.io/source-hash": "abc"})
		}
		o.SetManagedFields(managers)
		return o
	}
	tandem := metav1.ManagedFieldsEntry{Manager: "tandem", Operation: metav1.ManagedFieldsOperationApply}
	kubectl := metav1.ManagedFieldsEntry{Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate}
	status := metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status"}
	for _, c := range []struct {
		o    *unstructured.Unstructured
		want string
	}{
		{obj(true, tandem), ""},
		{obj(true, tandem, status), ""},
		{obj(false, kubectl), "not created by tandem"},
		{obj(true, kubectl, tandem), "also managed by kubectl-create"},
		// A controller in the target adds its finalizer to the copy.
		{obj(true, tandem, metav1.ManagedFieldsEntry{Manager: "controller", Operation: metav1.ManagedFieldsOperationUpdate,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{".":{},"v:\"ingress.k8s.aws/resources\"":{}}}}`)}}), ""},
		{obj(true, tandem, metav1.ManagedFieldsEntry{Manager: "controller", Operation: metav1.ManagedFieldsOperationUpdate,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{".":{},"v:\"ingress.k8s.aws/resources\"":{}},"f:labels":{"f:x":{}}}}`)}}), "also managed by controller"},
		// The target's token controller fills a copied token Secret.
		{obj(true, tandem, metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate}), ""},
	} {
		if got := notOurs(c.o); got != c.want {
			t.Errorf("notOurs(%v) = %q, want %q", c.o.GetManagedFields(), got, c.want)
		}
	}
}

// The informers' cache keeps what names an object and its resourceVersion,
// nothing of its labels, annotations or managers.
func TestSlimEventKeepsOnlyWhatNamesTheObject(t *testing.T) {
	in := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cfg", UID: "u1", ResourceVersion: "42",
			Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"big": "copy"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}, Finalizers: []string{"f"}},
	}
	e, keep := slimEvent(watch.Event{Type: watch.Added, Object: in})
	if !keep {
		t.Fatal("slimEvent dropped an event")
	}
	out := e.Object
	got, ok := out.(metav1.Object)
	if !ok {
		t.Fatalf("slimEvent made a %T, not a metav1.Object: the cache cannot key it", out)
	}
	if got.GetNamespace() != "shop" || got.GetName() != "cfg" || got.GetResourceVersion() != "42" {
		t.Errorf("slimEvent kept %s/%s at %s, want shop/cfg at 42", got.GetNamespace(), got.GetName(), got.GetResourceVersion())
	}
	if len(got.GetLabels()) != 0 || len(got.GetAnnotations()) != 0 || len(got.GetManagedFields()) != 0 || len(got.GetFinalizers()) != 0 {
		t.Errorf("slimEvent kept more than what names the object: %+v", got)
	}
	if key, err := cache.MetaNamespaceKeyFunc(out); err != nil || key != "shop/cfg" {
		t.Errorf("the cache keys it %q (%v), want shop/cfg", key, err)
	}
	if ns, err := cache.MetaNamespaceIndexFunc(out); err != nil || len(ns) != 1 || ns[0] != "shop" {
		t.Errorf("the namespace index reads %v (%v), want [shop]", ns, err)
	}
	if in.Labels["app"] != "web" || len(in.ManagedFields) != 1 {
		t.Error("slimEvent changed the object it was given")
	}
	// A whole object, as a watch of the dynamic client brings it: the same.
	whole := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"namespace": "shop", "name": "cfg", "resourceVersion": "43", "labels": map[string]any{"app": "web"}},
		"data":     map[string]any{"k": "v"}}}
	e, _ = slimEvent(watch.Event{Type: watch.Modified, Object: whole})
	if c, ok := e.Object.(*cached); !ok || c.GetNamespace() != "shop" || c.GetName() != "cfg" || c.GetResourceVersion() != "43" || len(c.GetLabels()) != 0 {
		t.Errorf("a whole object slimmed to %#v, want shop/cfg at 43 and nothing else", e.Object)
	}
	// A watch error passes as it is: the reflector reads its Status.
	status := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Status", "code": int64(410)}}
	if e, _ = slimEvent(watch.Event{Type: watch.Error, Object: status}); e.Object != status {
		t.Errorf("a watch error became %#v", e.Object)
	}
	// A watch-list's end is a bookmark's annotation: kept.
	end := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "50",
		Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	e, _ = slimEvent(watch.Event{Type: watch.Bookmark, Object: end})
	if b := e.Object.(metav1.Object); b.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" || b.GetResourceVersion() != "50" {
		t.Errorf("a bookmark lost what the reflector reads: %+v", b)
	}
}

// Pages of cached objects go through client-go's pager and come out as the
// reflector reads them: every object once, in order, with the last page's
// resourceVersion.
func TestSlimListPagesReadAsTheReflectorReadsThem(t *testing.T) {
	page := func(cont string, names ...string) *metav1.PartialObjectMetadataList {
		l := &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: "7", Continue: cont}}
		for _, n := range names {
			l.Items = append(l.Items, metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n, ResourceVersion: "5",
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}})
		}
		return l
	}
	pages := map[string]*metav1.PartialObjectMetadataList{"": page("p2", "a", "b"), "p2": page("p3", "c"), "p3": page("", "d", "e")}
	p := pager.New(pager.SimplePageFunc(func(o metav1.ListOptions) (runtime.Object, error) {
		return slimList(pages[o.Continue]), nil
	}))
	list, paginated, err := p.ListWithAlloc(context.Background(), metav1.ListOptions{})
	if err != nil || !paginated {
		t.Fatalf("pager: paginated %v, %v", paginated, err)
	}
	items, err := meta.ExtractListWithAlloc(list)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range items {
		c, ok := it.(*cached)
		if !ok {
			t.Fatalf("an item is a %T, not a cached", it)
		}
		names = append(names, c.GetName())
	}
	if strings.Join(names, ",") != "a,b,c,d,e" {
		t.Errorf("listed %v, want a..e once each", names)
	}
	if lm, err := meta.ListAccessor(list); err != nil || lm.GetResourceVersion() != "7" {
		t.Errorf("list resourceVersion %v (%v), want 7", lm, err)
	}
}

// An object of an informer's first list is not a change: the initial pass
// lists afresh once every first list is in, so queuing it would put a read
// per object of the cluster in front of the first real change. An add
// after that (a create, or a relist's new object) is one.
func TestFirstListAddsAreNotQueued(t *testing.T) {
	m := &Mirror{Source: &cluster.Conn{Context: "source"}, seen: map[key]time.Time{}, queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[key]())}
	defer m.queue.ShutDown()
	m.live.Store(true)
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	h := m.handler(gvr, false)
	obj := func(name string) *cached {
		return newCached(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, ResourceVersion: "1"}})
	}
	h.AddFunc(obj("listed"), true)
	if n := m.queue.Len(); n != 0 {
		t.Fatalf("an object of the first list was queued (%d in the queue)", n)
	}
	if got := m.cached.Load(); got != 1 {
		t.Errorf("first lists' progress = %d objects, want 1", got)
	}
	h.AddFunc(obj("created"), false)
	if n := m.queue.Len(); n != 1 {
		t.Fatalf("a created object was not queued (%d in the queue, want 1)", n)
	}
	if k, _ := m.queue.Get(); k.name != "created" {
		t.Errorf("queued %v, want the created object", k)
	}
	// The first list of a kind watched since (kinds.go) is not the
	// initial pass's: each of its objects is a change.
	late := m.handler(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}, true)
	late.AddFunc(obj("w1"), true)
	if n := m.queue.Len(); n != 1 {
		t.Fatalf("an object of a late kind's first list was not queued (%d in the queue, want 1)", n)
	}
}

// The copies held for the workers are the newest one per object, handed
// over once (and given back by a try to be made again), and bounded: past freshLimit objects, a new one is not held
// (its worker reads the source).
func TestFreshHoldsTheNewestCopyBounded(t *testing.T) {
	var f fresh
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	obj := func(name, rv string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"namespace": "shop", "name": name, "resourceVersion": rv}}}
	}
	k := key{gvr: gvr, namespace: "shop", name: "a"}
	f.put(k, obj("a", "1"))
	f.put(k, obj("a", "2"))
	if got := f.take(k); got == nil || got.GetResourceVersion() != "2" {
		t.Fatalf("take = %v, want the copy at 2", got)
	}
	if got := f.take(k); got != nil {
		t.Fatalf("a copy was handed over twice: %v", got)
	}
	f.put(k, obj("a", "3"))
	f.drop(k)
	if got := f.take(k); got != nil {
		t.Fatalf("a deleted object's copy was kept: %v", got)
	}
	// A try that did not go through gives its copy back, unless a newer
	// one came meanwhile.
	f.keep(k, obj("a", "4"))
	if got := f.take(k); got == nil || got.GetResourceVersion() != "4" {
		t.Fatalf("take after keep = %v, want the copy at 4 again", got)
	}
	f.put(k, obj("a", "6"))
	f.keep(k, obj("a", "5"))
	if got := f.take(k); got == nil || got.GetResourceVersion() != "6" {
		t.Fatalf("keep replaced a newer copy: take = %v, want 6", got)
	}
	for i := 0; i < freshLimit+10; i++ {
		f.put(key{gvr: gvr, namespace: "shop", name: fmt.Sprint(i)}, obj(fmt.Sprint(i), "1"))
	}
	if n, _ := f.len(); n != freshLimit {
		t.Fatalf("%d copies held, want at most %d", n, freshLimit)
	}
	// A held object's newer copy still replaces the older one when full.
	k0 := key{gvr: gvr, namespace: "shop", name: "0"}
	f.put(k0, obj("0", "9"))
	if got := f.take(k0); got == nil || got.GetResourceVersion() != "9" {
		t.Errorf("take = %v, want the newer copy at 9", got)
	}

	// Large objects: bounded by their bytes too, and what is taken is
	// given back to the bound.
	var g fresh
	big := func(name string) *unstructured.Unstructured {
		o := obj(name, "1")
		o.Object["data"] = map[string]any{"dashboards.json": strings.Repeat("x", 1<<20)}
		return o
	}
	for i := 0; i < 100; i++ {
		g.put(key{gvr: gvr, namespace: "shop", name: fmt.Sprint(i)}, big(fmt.Sprint(i)))
	}
	n, bytes := g.len()
	if bytes > freshBytes || n >= 100 || n == 0 {
		t.Fatalf("%d copies of 1 MiB held, %d bytes (bound %d)", n, bytes, freshBytes)
	}
	if got := g.take(key{gvr: gvr, namespace: "shop", name: "0"}); got == nil {
		t.Fatal("the first large copy was not held")
	}
	if _, after := g.len(); after >= bytes {
		t.Errorf("taking a copy left %d bytes counted (was %d)", after, bytes)
	}
}

// What the initial pass could not read is queued object by object from the
// informers' caches (the first lists' objects are otherwise never queued):
// the resource's objects, in the namespace or the object named, and
// nothing of other resources.
func TestRequeueUnreadQueuesWhatTheInformersHold(t *testing.T) {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	informerOf := func(objs ...*cached) cache.SharedIndexInformer {
		inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &cached{}, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		for _, o := range objs {
			if err := inf.GetStore().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		return inf
	}
	obj := func(ns, name string) *cached { return &cached{namespace: ns, name: name, resourceVersion: "1"} }
	m := &Mirror{Log: slog.New(slog.DiscardHandler), informers: map[informerKey]cache.SharedIndexInformer{
		{secrets, "shop"}:    informerOf(obj("shop", "db"), obj("shop", "tls")),
		{secrets, "billing"}: informerOf(obj("billing", "stripe")),
		{configMaps, ""}:     informerOf(obj("shop", "settings")),
	}}
	secretsR := inventory.Resource{Version: "v1", Resource: "secrets", Kind: "Secret", Namespaced: true}
	for _, c := range []struct {
		name   string
		unread []syncer.Unread
		want   []string
	}{
		{"a whole resource", []syncer.Unread{{Resource: secretsR}}, []string{"billing/stripe", "shop/db", "shop/tls"}},
		{"in one namespace", []syncer.Unread{{Resource: secretsR, Namespace: "shop"}}, []string{"shop/db", "shop/tls"}},
		{"one object", []syncer.Unread{{Resource: secretsR, Namespace: "shop", Name: "tls"}}, []string{"shop/tls"}},
		{"nothing unread", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m.queue = workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[key]())
			defer m.queue.ShutDown()
			m.requeueUnread(context.Background(), c.unread)
			var got []string
			for m.queue.Len() > 0 {
				k, _ := m.queue.Get()
				if k.gvr != secrets {
					t.Errorf("queued %s of %s: not the unread resource", k.name, k.gvr.Resource)
				}
				got = append(got, k.namespace+"/"+k.name)
				m.queue.Done(k)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("queued %v, want %v", got, c.want)
			}
		})
	}
}

// A kind every object of which sync skips (what a cluster or its network
// add-on writes for itself) is not watched; a user's kind is.
func TestWatchedLeavesOutWhatSyncNeverCopies(t *testing.T) {
	for _, c := range []struct {
		r    inventory.Resource
		want bool
	}{
		{inventory.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}, true},
		{inventory.Resource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies", Kind: "NetworkPolicy", Namespaced: true}, true},
		{inventory.Resource{Version: "v1", Resource: "events", Kind: "Event", Namespaced: true}, false},
		{inventory.Resource{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true}, false},
		{inventory.Resource{Group: "apps", Version: "v1", Resource: "controllerrevisions", Kind: "ControllerRevision", Namespaced: true}, false},
		// A person's, for a Service without a selector, among the cluster's (ownSelector).
		{inventory.Resource{Version: "v1", Resource: "endpoints", Kind: "Endpoints", Namespaced: true}, true},
		{inventory.Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Kind: "EndpointSlice", Namespaced: true}, true},
		{inventory.Resource{Group: "cilium.io", Version: "v2", Resource: "ciliumidentities", Kind: "CiliumIdentity"}, false},
		{inventory.Resource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ipamblocks", Kind: "IPAMBlock"}, false},
		{inventory.Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, ReadOnly: true}, false},
	} {
		if got := watched(c.r); got != c.want {
			t.Errorf("watched(%s) = %v, want %v", c.r.GroupKind(), got, c.want)
		}
	}
}

// The watches of Endpoints and EndpointSlices leave out what the cluster's
// controllers write and keep what a person wrote.
func TestOwnSelectorLeavesOutTheControllersObjects(t *testing.T) {
	endpoints := schema.GroupResource{Resource: "endpoints"}
	endpointSlices := schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}
	for _, c := range []struct {
		gr     schema.GroupResource
		labels map[string]string
		want   bool
	}{
		{endpoints, map[string]string{"endpoints.kubernetes.io/managed-by": "endpoint-controller"}, false},
		{endpoints, map[string]string{"app": "db"}, true},
		{endpoints, nil, true}, // a source before 1.33: its controller does not label
		{endpointSlices, map[string]string{"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}, false},
		{endpointSlices, map[string]string{"endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}, false},
		{endpointSlices, map[string]string{"endpointslice.kubernetes.io/managed-by": "staff", "kubernetes.io/service-name": "db"}, true},
		{endpointSlices, map[string]string{"kubernetes.io/service-name": "db"}, true},
	} {
		sel, err := labels.Parse(ownSelector(c.gr))
		if err != nil {
			t.Fatalf("%s: %v", c.gr, err)
		}
		if got := sel.Matches(labels.Set(c.labels)); got != c.want {
			t.Errorf("%s with %v: watched %v, want %v", c.gr, c.labels, got, c.want)
		}
	}
	if s := ownSelector(schema.GroupResource{Resource: "configmaps"}); s != "" {
		t.Errorf("a ConfigMap's watch is narrowed: %q", s)
	}
}

// An object whose write failed, or waits to be tried again, is not in step
// until a later attempt goes through; the ones a refusal holds are queued
// again now and then (retryFailed), those of a kind the mirror does not
// watch are not (nothing would process them); once a cluster that did not
// answer answers again, the ones waiting for it are queued at once. The
// tandem_mirror_not_in_step gauge follows them.
func TestNotInStepUntilAWriteGoesThrough(t *testing.T) {
	configMaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	endpoints := schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}
	m := &Mirror{Source: &cluster.Conn{Context: "blue"}, Log: slog.New(slog.DiscardHandler), seen: map[key]time.Time{}, failing: map[key]failure{},
		Metrics: NewMetrics()}
	m.kindsNow.Store(&kindSet{byGVR: map[schema.GroupVersionResource]inventory.Resource{configMaps: {Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}}})
	// A backoff so long that no delayed add comes back during the test.
	m.queue = workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[key](time.Hour, time.Hour))
	gauge := func() float64 { return testutil.ToFloat64(m.Metrics.behind.WithLabelValues("blue")) }
	defer m.queue.ShutDown()
	refused := key{gvr: configMaps, namespace: "shop", name: "refused"}
	held := key{gvr: configMaps, namespace: "shop", name: "held"}
	unwatched := key{gvr: endpoints, namespace: "shop", name: "external"}
	m.fail(refused, errors.New("forbidden: a policy says no"))
	m.retrying(held, "webhook down", none)
	m.fail(unwatched, errors.New("failed"))
	if st := m.Stats(); st.OutOfStep != 0 || st.Failed != 2 || st.Retries != 1 {
		t.Fatalf("stats %+v: want none counted not in step yet (they are new), 2 failed, 1 retry", st)
	}
	if g := gauge(); g != 3 {
		t.Errorf("tandem_mirror_not_in_step = %v, want 3 (the gauge has no grace: an alert rule has its own)", g)
	}
	defer func(g time.Duration) { outOfStepGrace = g }(outOfStepGrace)
	outOfStepGrace = 0
	if st := m.Stats(); st.OutOfStep != 3 {
		t.Fatalf("stats %+v: want 3 not in step once their grace is over", st)
	}
	first := m.NotInStep()[0].Since
	m.retrying(held, "webhook still down", none)
	if again := m.NotInStep()[0]; !again.Since.Equal(first) || again.Why != "waiting to be tried again: webhook still down" {
		t.Errorf("tried again: %+v; want the newest reason and the first time it was out of step (%s)", again, first)
	}
	m.retrying(held, "read the target's copy: connection refused", targetSide)
	got := m.NotInStep()
	if len(got) != 3 || got[0].Object != "configmaps shop/held" || got[0].Why != "waiting to be tried again: read the target's copy: connection refused" || got[1].Object != "configmaps shop/refused" {
		t.Fatalf("NotInStep = %+v", got)
	}
	drain := func() string {
		var queued []string
		for m.queue.Len() > 0 {
			k, _ := m.queue.Get()
			queued = append(queued, k.String())
			m.queue.Done(k)
		}
		sort.Strings(queued)
		return strings.Join(queued, ",")
	}
	m.retryFailed()
	if q := drain(); q != "configmaps shop/held,configmaps shop/refused" {
		t.Errorf("retryFailed queued %v: want the two watched objects", q)
	}
	// held waits for the target to answer again: an answer from the
	// source, or the target's not answering, does not wake it; the
	// target's answer does, and held alone (refused waits for no one).
	m.away[targetSide].Store(true)
	m.heard(sourceSide, nil)
	m.heard(targetSide, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	if q := drain(); q != "" {
		t.Errorf("woken before the target answered: %v", q)
	}
	m.heard(targetSide, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, "x"))
	if q := drain(); q != "configmaps shop/held" {
		t.Errorf("the target answered again, and the wake queued %q: want held alone", q)
	}
	// Away again at once: the next wake waits wakeEvery.
	m.away[targetSide].Store(true)
	m.heard(targetSide, nil)
	if q := drain(); q != "" {
		t.Errorf("woken twice within %s: %v", wakeEvery, q)
	}
	m.woke = time.Now().Add(-wakeEvery)
	m.heard(targetSide, nil)
	if q := drain(); q != "configmaps shop/held" {
		t.Errorf("no wake %s after the last: %q", wakeEvery, q)
	}
	m.done(held, "applied")
	m.done(refused, "unchanged")
	if got := m.NotInStep(); len(got) != 1 || got[0].Object != "endpoints shop/external" {
		t.Errorf("after two writes went through, NotInStep = %+v: want the unwatched one alone", got)
	}
	if g := gauge(); g != 1 {
		t.Errorf("tandem_mirror_not_in_step = %v after two writes went through, want 1", g)
	}
	// A second mirror from the same source shares the series: what each
	// counts adds up, and a stopped one takes its own share off.
	other := &Mirror{Source: &cluster.Conn{Context: "blue"}, Log: slog.New(slog.DiscardHandler), seen: map[key]time.Time{}, failing: map[key]failure{}, Metrics: m.Metrics}
	other.fail(refused, errors.New("forbidden"))
	other.done(held, "applied")
	if g := gauge(); g != 2 {
		t.Errorf("tandem_mirror_not_in_step = %v with one object out of step in each of two mirrors, want 2", g)
	}
	m.mu.Lock()
	m.stopped = true
	m.countNotInStep()
	m.mu.Unlock()
	if g := gauge(); g != 1 {
		t.Errorf("tandem_mirror_not_in_step = %v once one of the two mirrors stopped, want 1", g)
	}
}
