package apply

// How a Session keeps its results until they are asked for (Results): one
// record per object, with the two strings every result has of its own (its
// namespace and name), its wave, group and kind as the index of a table of
// the session's kinds, its action and status as small numbers, and the
// text few results have (a reason, notes, why it was picked) behind a
// pointer. A Result is 176 bytes, a record 48: a sync of 100,000 objects
// holds its results in 5 MB instead of 17.

import (
	"slices"
	"strings"
	"sync"

	"github.com/tandem-io/tandem/pkg/plan"
)

// record is one Result as a Session keeps it.
type record struct {
	namespace, name string
	kind            uint32 // records.kinds[kind]: the wave, group and kind
	action, status  uint8  // indexes of actionCodes and statusCodes
	transient       bool
	ownersDropped   bool
	text            *recordText // nil when the result has no reason, notes or why
}

// recordText is what few results carry.
type recordText struct {
	reason, why string
	notes       []string
}

// resultKind is a record's wave, group and kind.
type resultKind struct{ wave, group, kind string }

// statusCodes and actionCodes are the statuses and actions a record can
// hold, by their index; "" first, as the zero Result has it.
var (
	statusCodes = [...]Status{"", Created, Updated, Unchanged, Skipped, Conflict, Failed, Planned}
	actionCodes = [...]plan.Action{"", plan.Create, plan.Update, plan.Unchanged, plan.Skip}
)

// records are a session's results in order. set may be called from several
// goroutines at once, for different indexes, between grow calls.
type records struct {
	list  []record
	mu    sync.Mutex   // guards kinds and index
	kinds []resultKind // the zero kind first: a zero record has it
	index map[resultKind]uint32
}

func (rs *records) len() int { return len(rs.list) }

// grow makes room for n more records and returns the index of the first.
func (rs *records) grow(n int) int {
	start := len(rs.list)
	rs.list = slices.Grow(rs.list, n)[:start+n]
	return start
}

// truncate keeps the first n records.
func (rs *records) truncate(n int) { rs.list = rs.list[:n] }

// set keeps r as the record at index i (made room for by grow).
func (rs *records) set(i int, r Result) { rs.list[i] = rs.pack(r) }

// add appends rs' records of results.
func (rs *records) add(results []Result) {
	start := rs.grow(len(results))
	for i, r := range results {
		rs.set(start+i, r)
	}
}

// from are the results from index start on.
func (rs *records) from(start int) []Result {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]Result, len(rs.list)-start)
	for i := range out {
		out[i] = rs.unpack(rs.list[start+i])
	}
	return out
}

// amend changes the results fix has a function for, by key (keyOf a
// result): one pass over the records.
func (rs *records) amend(keyOf func(Result) string, fix map[string]func(*Result)) {
	if len(fix) == 0 {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for i, rec := range rs.list {
		k := rs.kindOf(rec)
		r := Result{Group: k.group, Kind: k.kind, Namespace: rec.namespace, Name: rec.name}
		f, ok := fix[keyOf(r)]
		if !ok {
			continue
		}
		r = rs.unpack(rec)
		f(&r)
		rec.status, rec.ownersDropped = code(statusCodes[:], r.Status), r.OwnersDropped
		rec.text = nil
		if r.Reason != "" || r.Why != "" || len(r.Notes) > 0 {
			rec.text = &recordText{reason: r.Reason, why: r.Why, notes: r.Notes}
		}
		rs.list[i] = rec
	}
}

// sortFrom orders the records from index start on by group, kind,
// namespace and name.
func (rs *records) sortFrom(start int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	slices.SortStableFunc(rs.list[start:], func(a, b record) int {
		ka, kb := rs.kindOf(a), rs.kindOf(b)
		for _, c := range [][2]string{{ka.group, kb.group}, {ka.kind, kb.kind}, {a.namespace, b.namespace}, {a.name, b.name}} {
			if d := strings.Compare(c[0], c[1]); d != 0 {
				return d
			}
		}
		return 0
	})
}

func (rs *records) pack(r Result) record {
	rec := record{namespace: r.Namespace, name: r.Name, kind: rs.kindIndex(resultKind{r.Wave, r.Group, r.Kind}),
		action: code(actionCodes[:], r.Action), status: code(statusCodes[:], r.Status), transient: r.Transient, ownersDropped: r.OwnersDropped}
	if r.Reason != "" || r.Why != "" || len(r.Notes) > 0 {
		rec.text = &recordText{reason: r.Reason, why: r.Why, notes: r.Notes}
	}
	return rec
}

// unpack is rec as a Result; rs.mu is held.
func (rs *records) unpack(rec record) Result {
	k := rs.kindOf(rec)
	r := Result{Wave: k.wave, Group: k.group, Kind: k.kind, Namespace: rec.namespace, Name: rec.name,
		Action: actionCodes[rec.action], Status: statusCodes[rec.status], Transient: rec.transient, OwnersDropped: rec.ownersDropped}
	if t := rec.text; t != nil {
		r.Reason, r.Why, r.Notes = t.reason, t.why, t.notes
	}
	return r
}

// kindOf is rec's wave, group and kind; rs.mu is held.
func (rs *records) kindOf(rec record) resultKind {
	if int(rec.kind) < len(rs.kinds) {
		return rs.kinds[rec.kind]
	}
	return resultKind{}
}

// kindIndex is k's index in the table of kinds, added if new.
func (rs *records) kindIndex(k resultKind) uint32 {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if i, ok := rs.index[k]; ok {
		return i
	}
	if rs.index == nil {
		rs.kinds, rs.index = []resultKind{{}}, map[resultKind]uint32{{}: 0}
		if k == (resultKind{}) {
			return 0
		}
	}
	i := uint32(len(rs.kinds))
	rs.kinds = append(rs.kinds, k)
	rs.index[k] = i
	return i
}

// code is v's index in codes. Every Status and plan.Action the package
// knows is in its table; one it does not know is a bug of this file.
func code[T comparable](codes []T, v T) uint8 {
	i := slices.Index(codes, v)
	if i < 0 {
		panic("apply: a result's status or action is not in the records' table")
	}
	return uint8(i)
}
