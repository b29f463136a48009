package mirror

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Whether a Service has a selector, remembered. A source older than
// Kubernetes 1.33 does not label the endpoints controller's Endpoints, so
// all its Endpoints are watched (ownSelector) and the pipeline tells the
// controller's apart by their Service's selector: a read of the Service per
// change. Known from the Service's last read or watch event, and still true
// while the mirror's watch of Services holds that version, it costs none —
// nor a read of the target's copy.

var (
	servicesGVR  = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	endpointsGVR = schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}
)

// knownSelecting says whether the source's Service ns/name is known to have
// a selector at the version the mirror's watch of Services holds now; false
// when that is not known (never seen, changed since, not watched).
func (m *Mirror) knownSelecting(ns, name string) bool {
	m.mu.Lock()
	seen, ok := m.selecting[ns+"/"+name]
	m.mu.Unlock()
	if !ok {
		return false
	}
	inf := m.informer(servicesGVR, ns)
	if inf == nil {
		return false
	}
	item, exists, err := inf.GetIndexer().GetByKey(ns + "/" + name)
	if err != nil || !exists {
		return false
	}
	c, ok := item.(metav1.Object)
	return ok && c.GetResourceVersion() == seen
}

// sawService remembers whether the source's Service ns/name has a selector
// at resourceVersion (only those that have one are kept). One whose
// selector went away has its Endpoints looked at again: a person's from now
// on, perhaps written before the Service's change reached the mirror and
// skipped as the controller's.
func (m *Mirror) sawService(ns, name, resourceVersion string, has bool) {
	m.mu.Lock()
	if m.selecting == nil {
		m.selecting = map[string]string{}
	}
	_, had := m.selecting[ns+"/"+name]
	if has {
		m.selecting[ns+"/"+name] = resourceVersion
	} else {
		delete(m.selecting, ns+"/"+name)
	}
	m.mu.Unlock()
	if had && !has {
		m.lookAgain(ns, name)
	}
}

// forgetService drops what is known of the Service ns/name (deleted). One
// that had a selector has its Endpoints looked at again, as in sawService:
// one of the same name made since without a selector makes them a person's.
func (m *Mirror) forgetService(ns, name string) {
	m.sawService(ns, name, "", false)
}

// lookAgain queues the Endpoints ns/name, where the mirror watches them.
func (m *Mirror) lookAgain(ns, name string) {
	if m.informer(endpointsGVR, ns) != nil {
		m.queue.Add(key{gvr: endpointsGVR, namespace: ns, name: name})
	}
}
