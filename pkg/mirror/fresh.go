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

// freshLimit bounds the objects held at once: a burst of changes larger
// than the workers drain is read from the source, as before, instead of
// held whole in memory.
const freshLimit = 512

// fresh holds, per changed object, the newest copy its watch delivered.
type fresh struct {
	mu   sync.Mutex
	objs map[key]*unstructured.Unstructured
}

// put keeps o as k's newest copy, replacing an older one; with freshLimit
// copies held, a copy of another object is not kept.
func (f *fresh) put(k key, o *unstructured.Unstructured) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.objs == nil {
		f.objs = map[key]*unstructured.Unstructured{}
	}
	if _, held := f.objs[k]; !held && len(f.objs) >= freshLimit {
		return
	}
	f.objs[k] = o
}

// drop forgets k's copy: the object is gone.
func (f *fresh) drop(k key) {
	f.mu.Lock()
	delete(f.objs, k)
	f.mu.Unlock()
}

// take hands over k's copy, if one is held, and forgets it.
func (f *fresh) take(k key) *unstructured.Unstructured {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[k]
	delete(f.objs, k)
	return o
}

// len is how many copies are held.
func (f *fresh) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.objs)
}
