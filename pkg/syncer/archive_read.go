package syncer

// An export archive read back for import without holding it: each object
// goes to a spill file as it is read (hashed and stamped, as an apply sends
// it), and what stays in memory is the index and, for each archived object
// the target has, what a decision reads of its copy (metadata only, as a
// sync reads the target). An import of a 100k-object archive holds about
// what a sync of those objects does, not the archive and the target whole.

import (
	"archive/tar"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Archive is an export archive read for import (ReadArchive): its index in
// memory, its objects on disk until Close.
type Archive struct {
	Source  string
	entries []archived
	sp      *spill
}

// archived is one object of an archive: its file as read (what names the
// object, its hash, where it waits) and, from the index, the resource it
// is written to and why it is there.
type archived struct {
	archivedFile
	res     *archivedResource // shared by the objects of a resource
	why     string
	current *targetCopy // the target's copy, as Import reads it
}

// archivedResource is what the index says of an object's resource.
type archivedResource struct {
	wave                     string
	group, version, resource string
	namespaced               bool
}

// resource is the resource the entry's object is written to.
func (e archived) resource() inventory.Resource {
	return inventory.Resource{Group: e.res.group, Version: e.res.version, Resource: e.res.resource, Kind: e.ref.Kind, Namespaced: e.res.namespaced}
}

// Len is the number of objects the archive holds.
func (a *Archive) Len() int { return len(a.entries) }

// Close lets go of the archive's objects on disk; a plan made from it
// cannot be applied afterwards.
func (a *Archive) Close() error {
	if a == nil {
		return nil
	}
	return a.sp.Close()
}

// The largest object file of an archive read (the apiserver's own limit
// on a request is 3 MiB); index.json is read as it is decoded, entry by
// entry, and has no limit but the objects it names.
const maxObjectFile = 64 << 20

// archivedFile is one object file as read: what names the object, its
// content hash, and where it waits.
type archivedFile struct {
	ref  plan.Ref
	hash string
	obj  stored
}

// ReadArchive reads an export archive, its objects to disk as they come; a
// file that is not one is bad input. progress, when set, hears after each
// object how many have been read.
func ReadArchive(r io.Reader, progress func(objects int)) (_ *Archive, err error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, notAnArchive("gzip: %v", err)
	}
	sp, err := newSpill()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sp.Close()
		}
	}()
	a := &Archive{sp: sp}
	m := &matcher{a: a, resources: map[archivedResource]*archivedResource{}}
	indexed := false
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, notAnArchive("tar: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Name == "index.json" {
			if err := a.readIndex(tr, m.entry); err != nil {
				if errors.Is(err, cluster.ErrBadInput) {
					return nil, err // an entry that names the wrong object
				}
				return nil, notAnArchive("index.json: %v", err)
			}
			indexed = true
			continue
		}
		if h.Size > maxObjectFile {
			return nil, notAnArchive("%s: %d bytes, more than %d", h.Name, h.Size, maxObjectFile)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, notAnArchive("%s: %v", h.Name, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", cluster.ErrBadInput, h.Name, err)
		}
		hash := plan.Hash(obj)
		st, err := sp.putStamped(obj, hash)
		if err != nil {
			return nil, err
		}
		m.file(h.Name, archivedFile{ref: refOf(obj), hash: hash, obj: st})
		if progress != nil {
			progress(len(a.entries))
		}
	}
	if !indexed {
		return nil, notAnArchive("index.json: missing")
	}
	if err := m.finish(); err != nil {
		return nil, err
	}
	return a, nil
}

// matcher pairs the archive's object files with its index's entries. The
// objects come first, in the index's order (ArchiveWriter): each entry is
// the file at its own position, and is filled in where the file waits. An
// archive packed again in another order (tar of the unpacked files puts
// index.json first) is paired by file name at the end.
type matcher struct {
	a         *Archive
	names     []string // the files' names, by position in a.entries
	named     []bool   // the files an entry named
	pending   []IndexEntry
	entries   int // entries read
	resources map[archivedResource]*archivedResource
}

// file records an object file as read.
func (m *matcher) file(name string, f archivedFile) {
	m.a.entries = append(m.a.entries, archived{archivedFile: f})
	m.names = append(m.names, name)
	m.named = append(m.named, false)
}

// entry pairs an index entry with the file at its position, or keeps it
// for finish.
func (m *matcher) entry(e IndexEntry) error {
	i := m.entries
	m.entries++
	if i < len(m.names) && m.names[i] == e.File {
		return m.pair(i, e)
	}
	m.pending = append(m.pending, e)
	return nil
}

// finish pairs what came out of order by name, and keeps only the objects
// the index names.
func (m *matcher) finish() error {
	if len(m.pending) > 0 {
		byName := make(map[string]int, len(m.names))
		for i, n := range m.names {
			byName[n] = i
		}
		for _, e := range m.pending {
			i, ok := byName[e.File]
			if !ok {
				return fmt.Errorf("%w: archive lists %s but does not contain it", cluster.ErrBadInput, e.File)
			}
			if err := m.pair(i, e); err != nil {
				return err
			}
		}
	}
	// Only the objects the index names: in the order they were read, which
	// is the index's for an archive ArchiveWriter made.
	kept := m.a.entries[:0]
	for i, e := range m.a.entries {
		if m.named[i] {
			kept = append(kept, e)
		}
	}
	clear(m.a.entries[len(kept):])
	m.a.entries = kept
	return nil
}

// pair fills file i in with entry e, once its object is the one e names.
func (m *matcher) pair(i int, e IndexEntry) error {
	f := &m.a.entries[i]
	if m.named[i] {
		return fmt.Errorf("%w: archive lists %s twice", cluster.ErrBadInput, e.File)
	}
	if f.ref.APIVersion == "" || f.ref.Name == "" || f.ref.Kind != e.Kind || f.ref.Namespace != e.Namespace || f.ref.Name != e.Name {
		return fmt.Errorf("%w: %s holds %s %s %s/%s, not the %s %s/%s its index names", cluster.ErrBadInput, e.File,
			f.ref.APIVersion, f.ref.Kind, f.ref.Namespace, f.ref.Name, e.Kind, e.Namespace, e.Name)
	}
	r := archivedResource{wave: e.Wave, group: e.Group, version: e.Version, resource: e.Resource, namespaced: e.Namespaced}
	if m.resources[r] == nil {
		m.resources[r] = &r
	}
	f.res, f.why = m.resources[r], e.Why
	m.named[i] = true
	return nil
}

// readIndex decodes index.json entry by entry, handing each to entry: the
// index of 100k objects is 25 MB of JSON.
func (a *Archive) readIndex(r io.Reader, entry func(IndexEntry) error) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case "source":
			err = dec.Decode(&a.Source)
		case "objects":
			list, terr := dec.Token()
			if terr != nil {
				return terr
			}
			if list == nil {
				continue // an archive of nothing (written as null before 2026-12-05)
			}
			if list != json.Delim('[') {
				return fmt.Errorf("objects: %v where a list was expected", list)
			}
			for dec.More() {
				var e IndexEntry
				if err := dec.Decode(&e); err != nil {
					return err
				}
				if err := entry(e); err != nil {
					return err
				}
			}
			err = expectDelim(dec, ']')
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("%v where %v was expected", t, want)
	}
	return nil
}

func notAnArchive(format string, args ...any) error {
	return fmt.Errorf("%w: not a tandem export (%s)", cluster.ErrBadInput, fmt.Sprintf(format, args...))
}

// Import plans an archive's objects against the target, as sync plans,
// and hands each step to sink as it is decided, wave by wave (sink writes
// it: apply.Stream), holding no plan: the target's copies are read as
// metadata, page by page, and only what a decision reads of the archived
// ones is kept. Objects of a resource the target does not serve at the
// archived version come back as the Prepared's Unshared; its Plan is
// empty. The steps read their objects from a, which must stay open until
// sink is done.
func Import(ctx context.Context, target *cluster.Conn, a *Archive, force bool, sink Sink) (*Prepared, error) {
	crdGroups, err := a.crdGroups()
	if err != nil {
		return nil, err
	}
	// Per resource: "listed", "pending" (its CRD is in the archive) or "unserved".
	state := map[schema.GroupVersionResource]string{}
	var listed []inventory.Resource
	for _, e := range a.entries {
		r := e.resource()
		if state[r.GVR()] != "" {
			continue
		}
		state[r.GVR()] = "unserved"
		if _, err := target.ResourceFor(r.GVR().GroupVersion().WithKind(e.ref.Kind)); err == nil {
			state[r.GVR()] = "listed"
			listed = append(listed, r)
		} else if crdGroups[e.res.group] {
			state[r.GVR()] = "pending"
		}
	}
	// In the order of a sync's jobs, so that each object the target lists
	// is found by a binary search, as listTarget finds a job: the archive's
	// objects are not held again in a map of their keys.
	byKey := func(e archived, k plan.ObjectKey) int { return compareJobs(e.ref.Key(), k) }
	slices.SortFunc(a.entries, func(x, y archived) int { return byKey(x, y.ref.Key()) })
	for i := range a.entries {
		a.entries[i].current = nil // an archive imported again reads the target again
	}
	in := newInterner()
	for _, r := range listed {
		err := inventory.ListMetadata(ctx, target.Metadata, r, "", func(o *unstructured.Unstructured) error {
			k := plan.KeyOf(o)
			i, ok := slices.BinarySearchFunc(a.entries, k, byKey)
			if !ok {
				return nil // not archived
			}
			c := targetOf(o, in)
			for ; i < len(a.entries) && a.entries[i].ref.Key() == k; i++ {
				if state[a.entries[i].resource().GVR()] == "listed" { // not one at a version the target does not serve
					a.entries[i].current = &c
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", target.Context, err)
		}
	}
	p := &Prepared{}
	// In the order they are written: wave by wave (a stream holds only so
	// many steps of a later wave).
	slices.SortFunc(a.entries, func(x, y archived) int {
		wx, _ := plan.WaveOf(x.ref.GroupVersionKind().GroupKind())
		wy, _ := plan.WaveOf(y.ref.GroupVersionKind().GroupKind())
		return cmp.Or(wx-wy, compareRefs(x.ref, y.ref))
	})
	unserved := func(e archived) bool { return state[e.resource().GVR()] == "unserved" }
	for _, e := range a.entries {
		if unserved(e) {
			p.Unshared = append(p.Unshared, Unshared{Object: e.identity(), Fix: fmt.Sprintf("the target does not serve %s/%s %s: export again with --target pointing at this cluster", e.res.group, e.res.version, e.ref.Kind)})
			continue
		}
		sink.Expect(e.ref.GroupVersionKind().GroupKind())
		sink.WantOwners(e.ref.Namespace, e.ref.Owners)
	}
	ending, err := endingNamespaces(ctx, target)
	if err != nil {
		return nil, err
	}
	sink.Start(ctx)
	opts := plan.Options{Force: force}
	for _, e := range a.entries {
		if ctx.Err() != nil || stopped(sink) {
			break // Wait says why
		}
		if unserved(e) {
			continue
		}
		var t *plan.Target
		if e.current != nil {
			t = e.current.target(e.ref.Namespace)
		}
		s, _ := plan.Decide(plan.Item{Resource: e.resource().GVR(), Namespaced: e.res.namespaced, Ref: e.ref, Stored: e.obj, DesiredHash: e.hash, Target: t, Why: e.why,
			NamespaceDeleting: e.res.namespaced && ending[e.ref.Namespace]}, opts)
		sink.Add(s)
	}
	if err := sink.Wait(); err != nil {
		return p, err
	}
	return p, ctx.Err()
}

// identity is what names e's object (an unshared one is only ever named).
func (e archived) identity() *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(e.ref.APIVersion)
	o.SetKind(e.ref.Kind)
	o.SetNamespace(e.ref.Namespace)
	o.SetName(e.ref.Name)
	return o
}

// crdGroups are the groups of the CRDs the archive holds: their resources
// are served once those are applied.
func (a *Archive) crdGroups() (map[string]bool, error) {
	groups := map[string]bool{}
	for _, e := range a.entries {
		if e.ref.GroupVersionKind().GroupKind() != inventory.CRDResource.GroupKind() {
			continue
		}
		o, err := e.obj.Load()
		if err != nil {
			return nil, err
		}
		g, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		groups[g] = true
	}
	return groups, nil
}
