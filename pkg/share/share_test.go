package share

import "testing"

func TestKeyIsTheSameForEqualSets(t *testing.T) {
	a, okA := Key(map[string]any{"app": "web", "tier": "front"})
	b, okB := Key(map[string]any{"tier": "front", "app": "web"})
	c, _ := Key(map[string]any{"app": "webtier", "": "front"})
	if !okA || !okB || a != b {
		t.Errorf("equal sets keyed %q and %q", a, b)
	}
	if a == c {
		t.Errorf("different sets share the key %q", a)
	}
	if _, ok := Key(map[string]any{"replicas": int64(3)}); ok {
		t.Error("a map holding a number was keyed as a set of labels")
	}
}
