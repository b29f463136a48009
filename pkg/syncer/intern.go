package syncer

// What a sync keeps in memory per object (a sketch of each source object,
// the metadata of each target object) is mostly the same few strings and
// maps again and again: "v1", "ConfigMap", the namespace, a chart's labels,
// the same two field managers. The interner keeps one copy of each, so a
// cluster's 100,000th object costs its name, its hash and little more.

import (
	"sort"
	"strings"
	"sync"
	"unique"
)

// interner shares equal strings, label sets and field-manager lists between
// the objects a sync holds. What it returns is shared: never modify it.
type interner struct {
	mu   sync.Mutex
	sets map[string]map[string]any // label sets by their canonical form
	mgrs map[string][]any          // trimmed managedFields by their canonical form
}

func newInterner() *interner {
	return &interner{sets: map[string]map[string]any{}, mgrs: map[string][]any{}}
}

// intern is the one copy of s (apiVersion, kind, namespace, label keys…).
func intern(s string) string { return unique.Make(s).Value() }

// set is the one copy of a map of strings (labels), or m itself when it
// holds anything else.
func (in *interner) set(m map[string]any) map[string]any {
	if len(m) == 0 {
		return m
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(string); !ok {
			return m
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(m[k].(string))
		b.WriteByte(0)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.sets[b.String()]; ok {
		return shared
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[intern(k)] = intern(v.(string))
	}
	in.sets[b.String()] = out
	return out
}

// managers is the one copy of managedFields trimmed to what a plan reads of
// them: each entry's manager and subresource.
func (in *interner) managers(entries []any) []any {
	var b strings.Builder
	pairs := make([][2]string, 0, len(entries))
	for _, e := range entries {
		m, _ := e.(map[string]any)
		mgr, _ := m["manager"].(string)
		sub, _ := m["subresource"].(string)
		pairs = append(pairs, [2]string{mgr, sub})
		b.WriteString(mgr)
		b.WriteByte(0)
		b.WriteString(sub)
		b.WriteByte(0)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.mgrs[b.String()]; ok {
		return shared
	}
	out := make([]any, len(pairs))
	for i, p := range pairs {
		e := map[string]any{"manager": intern(p[0])}
		if p[1] != "" {
			e["subresource"] = intern(p[1])
		}
		out[i] = e
	}
	in.mgrs[b.String()] = out
	return out
}
