package mirror

// A namespace's standby exemption (standby.ExemptLabel in the source): a
// standby copies what an exempt namespace holds as it is, so a change of
// the label writes the namespace's objects again.

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// setExempt keeps whether the source's namespace name is labelled
// standby.ExemptLabel (a standby copies what it holds as it is).
func (m *Mirror) setExempt(name string, exempt bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exempt {
		m.exempt[name] = true
	} else {
		delete(m.exempt, name)
	}
}

// rewriteNamespace queues what the mirror watches in namespace name: its
// standby exemption changed, and with it its objects' standby form. Called
// once the Namespace (and its label) is written: the target's standby
// policy reads the label there. The webhook configurations and APIServices
// are queued too (a few): their standby form follows their backend's
// namespace (failing open, held back).
func (m *Mirror) rewriteNamespace(name string, exempt bool) {
	m.infMu.RLock()
	var keys []key
	for ik, inf := range m.informers {
		if backendsElsewhere[ik.gvr] {
			for _, item := range inf.GetStore().List() {
				if o, ok := item.(metav1.Object); ok {
					keys = append(keys, key{gvr: ik.gvr, name: o.GetName()})
				}
			}
			continue
		}
		if ik.namespace != "" && ik.namespace != name {
			continue
		}
		items, err := inf.GetIndexer().ByIndex(cache.NamespaceIndex, name)
		if err != nil {
			continue // the informers are made with the namespace index: never
		}
		for _, item := range items {
			if o, ok := item.(metav1.Object); ok {
				keys = append(keys, key{gvr: ik.gvr, namespace: name, name: o.GetName()})
			}
		}
	}
	m.infMu.RUnlock()
	m.Log.Info("standby exemption changed: its objects are written again", "namespace", name, "exempt", exempt, "objects", len(keys))
	for _, k := range keys {
		m.queue.Add(k)
	}
}

// backendsElsewhere are the cluster-scoped kinds whose standby form
// follows the exemption of the namespace their backend runs in.
var backendsElsewhere = map[schema.GroupVersionResource]bool{
	cluster.APIServices:                     true,
	cluster.ValidatingWebhookConfigurations: true,
	cluster.MutatingWebhookConfigurations:   true,
}

// standbyExempt says whether a namespace is labelled standby.ExemptLabel
// in the source, as of its last change.
func (m *Mirror) standbyExempt(ns string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exempt[ns]
}
