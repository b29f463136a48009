package syncer

// What a sync keeps in memory per object (a sketch of each source object,
// the metadata of each target object) is mostly the same few strings and
// maps again and again: "v1", "ConfigMap", the namespace, a chart's labels,
// the same two field managers. The interner keeps one copy of each, so a
// cluster's 100,000th object costs its name, its hash and little more.

import (
	"strings"
	"sync"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/share"
)

// interner shares equal strings, label sets and field-manager lists between
// the objects a sync holds. What it returns is shared: never modify it.
type interner struct {
	mu     sync.Mutex
	labels map[string]map[string]string   // the same, typed
	mgrs   map[string][]plan.ManagedEntry // managedFields as plans read them, by their canonical form
}

func newInterner() *interner {
	return &interner{labels: map[string]map[string]string{}, mgrs: map[string][]plan.ManagedEntry{}}
}

// intern is the one copy of s (apiVersion, kind, namespace, label keys…).
func intern(s string) string { return share.String(s) }

// stringMap is the one copy of a map of strings (labels) as a
// map[string]string; nil when m is empty or holds anything else.
func (in *interner) stringMap(m map[string]any) map[string]string {
	c, ok := share.Key(m)
	if len(m) == 0 || !ok {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.labels[c]; ok {
		return shared
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = intern(v.(string))
	}
	in.labels[c] = out
	return out
}

// managers is the one copy of a list of field managers (plan.ManagersOf).
func (in *interner) managers(entries []plan.ManagedEntry) []plan.ManagedEntry {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.Manager)
		b.WriteByte(0)
		b.WriteString(e.Subresource)
		if e.NoContent {
			b.WriteByte(1)
		}
		b.WriteByte(0)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.mgrs[b.String()]; ok {
		return shared
	}
	out := make([]plan.ManagedEntry, len(entries))
	for i, e := range entries {
		out[i] = plan.ManagedEntry{Manager: intern(e.Manager), Subresource: intern(e.Subresource), NoContent: e.NoContent}
	}
	in.mgrs[b.String()] = out
	return out
}
