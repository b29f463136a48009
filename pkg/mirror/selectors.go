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

// selectorSeen is whether a Service had a selector, at a resourceVersion.
type selectorSeen struct {
	resourceVersion string
	has             bool
}

// knownSelecting says whether the source's Service ns/name is known to have
// a selector at the version the mirror's watch of Services holds now; false
// when that is not known (never seen, changed since, not watched).
func (m *Mirror) knownSelecting(ns, name string) bool {
	m.mu.Lock()
	seen := m.selectors[ns+"/"+name]
	m.mu.Unlock()
	if !seen.has {
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
	return ok && c.GetResourceVersion() == seen.resourceVersion
}

// sawService remembers whether the source's Service ns/name has a selector
// at resourceVersion. One whose selector went away has its Endpoints looked
// at again: a person's from now on, perhaps written before the Service's
// change reached the mirror and skipped as the controller's.
func (m *Mirror) sawService(ns, name, resourceVersion string, has bool) {
	m.mu.Lock()
	if m.selectors == nil {
		m.selectors = map[string]selectorSeen{}
	}
	before := m.selectors[ns+"/"+name]
	m.selectors[ns+"/"+name] = selectorSeen{resourceVersion: resourceVersion, has: has}
	m.mu.Unlock()
	if before.has && !has {
		m.queue.Add(key{gvr: endpointsGVR, namespace: ns, name: name})
	}
}

// forgetService drops what is known of the Service ns/name (deleted).
func (m *Mirror) forgetService(ns, name string) {
	m.mu.Lock()
	delete(m.selectors, ns+"/"+name)
	m.mu.Unlock()
}
