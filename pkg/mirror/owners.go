package mirror

// A change written without an owner reference, its owner not in the
// target yet: written again while the owner's own change may come, then
// once the mirror creates one of its owners in the target.

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/apply"
)

// ownerWaits is how often a change written without an owner reference
// (its owner not in the target) is written again before it is left so:
// with the queue's backoff, about 25 s for the owner's own change to come
// (a change the mirror is writing meanwhile, or one of a later wave of
// the initial pass). Left so, it waits for its owners (awaitOwners): an
// owner that never comes costs no more.
const ownerWaits = 8

// waitingForOwner records the outcome of k's change, whose result r was
// written (or left, unchanged) from obj, and says whether it is done: not
// while r left out an owner reference whose owner's own change may still
// come (waitForOwner: the change is tried again, and counted then). Done
// without the reference, the change waits for its owners (awaitOwners).
func (m *Mirror) waitingForOwner(k key, r apply.Result, obj *unstructured.Unstructured, outcome string) (done bool) {
	if r.OwnersDropped && m.waitForOwner(k) {
		return false
	}
	m.done(k, outcome)
	if r.OwnersDropped {
		m.awaitOwners(k, obj.GetOwnerReferences())
	}
	return true
}

// ownerName names an owner as a change waits for it: its group, kind and
// name. Its namespace is the dependent's, or none for a cluster-scoped
// owner: a dependent is woken by either.
type ownerName struct{ group, kind, name string }

// arrival is a write of an owner by the mirror: the owner, its namespace
// ("" for a cluster-scoped one), and when.
type arrival struct {
	ownerName
	namespace string
	at        time.Time
}

// arrivalsKept bounds how many writes arrivals holds: those of the last
// minute, at most this many (at 50 changes a second, the last 80 s).
const arrivalsKept = 4096

// lately is how long an owner's write is remembered (arrivals): longer
// than a change takes from its owner lookup to awaitOwners.
const lately = time.Minute

// awaitOwners remembers that k's change was written without some of its
// owner references (refs, the source's), their owners not in the target:
// once the mirror writes one of them there (ownerArrived), the change is
// queued again and written with what it finds then. An owner written
// since the change looked for it (lately, arrivals) queues it at once.
// Its next outcome forgets it (done). Only such changes are held, each
// once.
func (m *Mirror) awaitOwners(k key, refs []metav1.OwnerReference) {
	m.mu.Lock()
	m.forgetAwaiting(k)
	if m.awaiting == nil {
		m.awaiting, m.awaits = map[ownerName]map[key]bool{}, map[key][]ownerName{}
	}
	came := false
	for _, ref := range refs {
		gv, _ := schema.ParseGroupVersion(ref.APIVersion)
		o := ownerName{gv.Group, ref.Kind, ref.Name}
		if m.awaiting[o] == nil {
			m.awaiting[o] = map[key]bool{}
		}
		m.awaiting[o][k] = true
		m.awaits[k] = append(m.awaits[k], o)
	}
	// Rare (a change whose waits are over), so the owners written lately
	// are looked through, not indexed.
	for _, a := range m.arrivals {
		if time.Since(a.at) < lately && (a.namespace == k.namespace || a.namespace == "") && slices.Contains(m.awaits[k], a.ownerName) {
			came = true
			break
		}
	}
	m.mu.Unlock()
	if came {
		m.queue.Add(k)
	}
}

// awaitOwnersOf is awaitOwners for a copy the initial pass wrote without
// some owner references: its references are read from the source (the
// informers cache names only). One that cannot be read is left to the
// next sync, said in the log.
func (m *Mirror) awaitOwnersOf(ctx context.Context, k key) {
	obj, err := m.read(ctx, k)
	if err != nil {
		m.Log.Warn("initial pass: written without an owner reference, and its owners cannot be read to wait for them", "object", k.String(), "err", err)
		return
	}
	m.awaitOwners(k, obj.GetOwnerReferences())
}

// ownerArrived queues again the changes waiting for an owner of that
// name, one the mirror has just written in the target (created, or taken
// over from another writer: either way an owner apply now finds), and
// remembers it for a while (arrivals).
func (m *Mirror) ownerArrived(group, kind, namespace, name string) {
	o := ownerName{group, kind, name}
	now := time.Now()
	m.mu.Lock()
	// Oldest first: the writes of more than a minute ago go, and the
	// oldest beyond arrivalsKept.
	for len(m.arrivals) > 0 && (now.Sub(m.arrivals[0].at) >= lately || len(m.arrivals) >= arrivalsKept) {
		m.arrivals = m.arrivals[1:]
	}
	m.arrivals = append(m.arrivals, arrival{o, namespace, now})
	var wake []key
	for k := range m.awaiting[o] {
		if namespace == "" || k.namespace == namespace {
			wake = append(wake, k)
		}
	}
	m.mu.Unlock()
	for _, k := range wake {
		m.queue.Add(k)
	}
}

// forgetAwaiting drops what k's change waited for; m.mu is held.
func (m *Mirror) forgetAwaiting(k key) {
	for _, o := range m.awaits[k] {
		delete(m.awaiting[o], k)
		if len(m.awaiting[o]) == 0 {
			delete(m.awaiting, o)
		}
	}
	delete(m.awaits, k)
}

// waitForOwner counts one more wait of k's change for an owner, and says
// whether it may wait: not once it has waited ownerWaits times (and its
// count starts over).
func (m *Mirror) waitForOwner(k key) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ownerWaited == nil {
		m.ownerWaited = map[key]int{}
	}
	if m.ownerWaited[k] >= ownerWaits {
		delete(m.ownerWaited, k)
		return false
	}
	m.ownerWaited[k]++
	return true
}
