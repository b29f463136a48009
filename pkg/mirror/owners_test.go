package mirror

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// A change left without an owner reference is queued again when the
// mirror creates one of its owners — one of that name in its namespace,
// or a cluster-scoped one — and not for another; its next outcome forgets
// it, so what the mirror holds for waiting changes does not grow.
func TestChangeWaitingForAnOwnerIsQueuedWhenTheOwnerIsCreated(t *testing.T) {
	m := &Mirror{Source: &cluster.Conn{Context: "blue"}, seen: map[key]time.Time{}, queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[key]())}
	defer m.queue.ShutDown()
	cm := key{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, namespace: "shop", name: "web-settings"}
	m.awaitOwners(cm, []metav1.OwnerReference{
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		{APIVersion: "example.com/v1", Kind: "Tenant", Name: "acme"},
	})
	for _, other := range [][4]string{
		{"apps", "Deployment", "other-shop", "web"}, // another namespace's
		{"apps", "Deployment", "shop", "api"},       // another name
		{"", "Deployment", "shop", "web"},           // another group
	} {
		m.ownerArrived(other[0], other[1], other[2], other[3])
		if n := m.queue.Len(); n != 0 {
			t.Fatalf("%v created: %d changes queued, want none", other, n)
		}
	}
	m.ownerArrived("apps", "Deployment", "shop", "web")
	if n := m.queue.Len(); n != 1 {
		t.Fatalf("its owner created: %d changes queued, want 1", n)
	}
	if k, _ := m.queue.Get(); k != cm {
		t.Fatalf("queued %v, want %v", k, cm)
	}
	m.queue.Done(cm)
	m.ownerArrived("example.com", "Tenant", "", "acme") // cluster-scoped: any namespace's dependents
	if n := m.queue.Len(); n != 1 {
		t.Fatalf("its cluster-scoped owner created: %d changes queued, want 1", n)
	}
	m.done(cm, "applied")
	if len(m.awaiting) != 0 || len(m.awaits) != 0 {
		t.Errorf("after the change's outcome the mirror still holds %v, %v", m.awaiting, m.awaits)
	}
}

// A change that starts waiting just after the mirror wrote its owner (the
// owner's change went through while this one looked for it) is queued at
// once, not left waiting for a write that has happened; what is kept of
// the owners written stays bounded.
func TestChangeWaitingForAnOwnerWrittenJustBeforeIsQueued(t *testing.T) {
	m := &Mirror{Source: &cluster.Conn{Context: "blue"}, seen: map[key]time.Time{}, queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[key]())}
	defer m.queue.ShutDown()
	cm := key{gvr: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, namespace: "shop", name: "web-settings"}
	m.ownerArrived("apps", "Deployment", "other-shop", "web") // not its namespace's
	m.awaitOwners(cm, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}})
	if n := m.queue.Len(); n != 0 {
		t.Fatalf("an owner of that name in another namespace queued the change (%d queued)", n)
	}
	m.done(cm, "applied")
	m.ownerArrived("apps", "Deployment", "shop", "web")
	m.awaitOwners(cm, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}})
	if n := m.queue.Len(); n != 1 {
		t.Fatalf("its owner written just before: %d changes queued, want 1", n)
	}
	for i := range 3 * arrivalsKept {
		m.ownerArrived("", "ConfigMap", "shop", fmt.Sprint("cm-", i))
	}
	if len(m.arrivals) > arrivalsKept {
		t.Errorf("after %d writes the mirror holds %d owners written, want at most %d", 3*arrivalsKept, len(m.arrivals), arrivalsKept)
	}
}
