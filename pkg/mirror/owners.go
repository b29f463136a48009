package mirror

// A change written without an owner reference, its owner not in the
// target yet: written again while the owner's own change may come.

// ownerWaits is how often a change written without an owner reference
// (its owner not in the target) is written again before it is left so:
// with the queue's backoff, about 25 s for the owner's own change to come.
// An owner that never comes (not copied) costs no more; a sync adds the
// reference once it is there.
const ownerWaits = 8

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
