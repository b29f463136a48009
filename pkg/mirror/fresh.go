package mirror

// The changes' objects as their watch events brought them. The informers
// cache names only (cached); a watch event, once the mirror is live, comes
// with the whole object, which is what the change's worker needs: kept
// here until the worker takes it, the change needs no read of the source.
// A worker uses it only when it is the copy the informer's cache is at
// (same resourceVersion): after a relist, or with more events on the way,
// it reads the source as before.

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// freshLimit and freshBytes bound what is held at once: a burst of
// changes larger than the workers drain, or of large objects (a 1 MiB
// ConfigMap of dashboards), is read from the source as before instead of
// held whole in memory.
const (
	freshLimit = 512
	freshBytes = 32 << 20
)

// fresh holds, per changed object, the newest copy its watch delivered.
type fresh struct {
	mu    sync.Mutex
	objs  map[key]heldCopy
	bytes int
}

// heldCopy is one object held and about how many bytes its content takes.
type heldCopy struct {
	obj  *unstructured.Unstructured
	size int
}

// put keeps o as k's newest copy, replacing an older one; a copy that
// would take fresh past its bounds is not kept (nor the older one).
func (f *fresh) put(k key, o *unstructured.Unstructured) {
	size := approxSize(o.Object)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold(k, o, size)
}

// hold is put under f.mu.
func (f *fresh) hold(k key, o *unstructured.Unstructured, size int) {
	if f.objs == nil {
		f.objs = map[key]heldCopy{}
	}
	old, held := f.objs[k]
	if held {
		delete(f.objs, k)
		f.bytes -= old.size
	}
	if len(f.objs) >= freshLimit || f.bytes+size > freshBytes {
		return
	}
	f.objs[k] = heldCopy{obj: o, size: size}
	f.bytes += size
}

// keep holds o again as k's copy after a try that did not go through, so
// that the next try needs no read of the source either, unless a newer
// copy came meanwhile (that one stays) or it no longer fits.
func (f *fresh) keep(k key, o *unstructured.Unstructured) {
	size := approxSize(o.Object)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, newer := f.objs[k]; !newer {
		f.hold(k, o, size)
	}
}

// drop forgets k's copy: the object is gone.
func (f *fresh) drop(k key) { _ = f.take(k) }

// take hands over k's copy, if one is held, and forgets it.
func (f *fresh) take(k key) *unstructured.Unstructured {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, held := f.objs[k]
	if !held {
		return nil
	}
	delete(f.objs, k)
	f.bytes -= c.size
	return c.obj
}

// len is how many copies are held, and about how many bytes they take.
func (f *fresh) len() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.objs), f.bytes
}

// approxSize is about how many bytes a decoded JSON value's content takes:
// its strings and keys, and a word for each other value.
func approxSize(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 0
		for k, e := range x {
			n += len(k) + approxSize(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += approxSize(e)
		}
		return n
	case string:
		return len(x)
	default:
		return 8
	}
}
