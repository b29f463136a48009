package syncer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/plan"
)

// IndexEntry describes one object in an export archive.
type IndexEntry struct {
	File       string `json:"file"`
	Wave       string `json:"wave"`
	Group      string `json:"group,omitempty"`
	Version    string `json:"version"`
	Resource   string `json:"resource"`
	Kind       string `json:"kind"`
	Namespaced bool   `json:"namespaced"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Why        string `json:"why,omitempty"`
}

// Index is index.json of an export archive.
type Index struct {
	Source  string       `json:"source"`
	Created time.Time    `json:"created"`
	Objects []IndexEntry `json:"objects"`
}

// ArchiveWriter writes what sync would apply (every step that is not
// skipped) as a tar.gz, one YAML file per object, then index.json. It is a
// Sink: Prepare hands it each step as it is decided, and nothing of a step
// is held once it is archived but its index entry, which waits in an
// unlinked temporary file until Close writes index.json. The objects and
// their entries are in the order they were decided (wave by wave, not
// sorted within a wave: the preparers run in parallel); an import orders
// them itself. Its methods may be called from any goroutine.
type ArchiveWriter struct {
	source   string
	created  time.Time
	progress func(done, total int)

	mu      sync.Mutex
	gz      *gzip.Writer
	tw      *tar.Writer
	index   *os.File // the index's entries as JSON, one per line, comma-separated
	n       int      // objects archived
	total   int      // objects expected (Expect less Drop)
	secrets int
	err     error
	stop    chan struct{} // closed on the first error, or by Close
	closed  bool
}

// NewArchiveWriter starts an archive of source's objects into w. progress,
// when set, hears after each object how many are archived of how many.
func NewArchiveWriter(w io.Writer, source string, progress func(done, total int)) (*ArchiveWriter, error) {
	index, err := os.CreateTemp("", "tandem-export-index-*")
	if err != nil {
		return nil, fmt.Errorf("index file: %w", err)
	}
	_ = os.Remove(index.Name()) // unlinked: gone with the process
	gz := gzip.NewWriter(w)
	return &ArchiveWriter{source: source, created: time.Now().UTC(), progress: progress, gz: gz, tw: tar.NewWriter(gz), index: index, stop: make(chan struct{})}, nil
}

// Expect counts an object coming (for progress).
func (a *ArchiveWriter) Expect(schema.GroupKind) {
	a.mu.Lock()
	a.total++
	a.mu.Unlock()
}

// Drop says an expected object does not come.
func (a *ArchiveWriter) Drop(schema.GroupKind) {
	a.mu.Lock()
	a.total--
	a.mu.Unlock()
}

// WantOwners does nothing: an archive keeps owners as they are.
func (a *ArchiveWriter) WantOwners(string, []metav1.OwnerReference) {}

// Start does nothing: each step is archived as it comes.
func (a *ArchiveWriter) Start(context.Context) {}

// Add archives s's object unless s is skipped; the first error is kept
// for Wait and Close, and stops the archiving.
func (a *ArchiveWriter) Add(s plan.Step) {
	if s.Action == plan.Skip {
		a.Drop(schema.GroupKind{})
		return
	}
	wave, name := plan.WaveOf(s.Ref.GroupVersionKind().GroupKind())
	e := IndexEntry{Wave: name, Group: s.Resource.Group, Version: s.Resource.Version, Resource: s.Resource.Resource, Kind: s.Ref.Kind,
		Namespaced: s.Namespaced, Namespace: s.Ref.Namespace, Name: s.Ref.Name, Why: s.Why}
	e.File = path.Join("objects", fmt.Sprintf("%02d-%s", wave, strings.ReplaceAll(name, " ", "-")),
		strings.Join(nonEmpty(e.Group, e.Kind, e.Namespace, e.Name), "_")+".yaml")
	// Read back and encoded outside the lock: the callers run in parallel.
	data, err := archivedYAML(s)
	entry, jerr := json.Marshal(e)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil || a.closed {
		return
	}
	if err = errors.Join(err, jerr); err == nil {
		err = a.add(e.File, int64(len(data)), bytes.NewReader(data))
	}
	if err == nil {
		sep := ",\n"
		if a.n == 0 {
			sep = "\n"
		}
		_, err = a.index.WriteString(sep + string(entry))
	}
	if err != nil {
		a.err = fmt.Errorf("archive %s: %w", e.File, err)
		close(a.stop)
		return
	}
	a.n++
	if s.Ref.Kind == "Secret" && s.Ref.APIVersion == "v1" {
		a.secrets++
	}
	if a.progress != nil {
		a.progress(a.n, a.total)
	}
}

// archivedYAML is s's object as the archive holds it.
func archivedYAML(s plan.Step) ([]byte, error) {
	d, err := s.Full()
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(d.Object)
}

// Abort lets go of an archive that will not be completed (its index
// file); after Close it does nothing.
func (a *ArchiveWriter) Abort() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.release()
	}
}

// release closes the index file and stops taking objects; a.mu is held.
func (a *ArchiveWriter) release() {
	a.closed = true
	a.index.Close()
	if a.err == nil {
		close(a.stop)
	}
}

// add writes one file of size bytes from r; a.mu is held.
func (a *ArchiveWriter) add(name string, size int64, r io.Reader) error {
	if err := a.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: a.created, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := io.Copy(a.tw, r)
	return err
}

// Wait is the first error of archiving (the objects are archived as they come).
func (a *ArchiveWriter) Wait() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Done is closed once the archive takes no more objects: on its first
// error, or once closed.
func (a *ArchiveWriter) Done() <-chan struct{} { return a.stop }

// Secrets is how many Secrets the archive holds.
func (a *ArchiveWriter) Secrets() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.secrets
}

// Close writes index.json and ends the archive (not w); it answers how
// many objects the archive holds.
func (a *ArchiveWriter) Close() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.n, errors.New("archive: closed already")
	}
	defer a.release()
	if a.err != nil {
		return a.n, a.err
	}
	head, err := json.Marshal(struct {
		Source  string    `json:"source"`
		Created time.Time `json:"created"`
	}{a.source, a.created})
	if err != nil {
		return a.n, err
	}
	// {"source":…,"created":…,"objects":[ entries ]} — Index's form, the
	// entries copied from the file they waited in.
	prefix := append(head[:len(head)-1:len(head)-1], []byte(`,"objects":[`)...)
	suffix := []byte("\n]}\n")
	size, err := a.index.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = a.index.Seek(0, io.SeekStart)
	}
	if err == nil {
		err = a.add("index.json", int64(len(prefix))+size+int64(len(suffix)), io.MultiReader(bytes.NewReader(prefix), io.LimitReader(a.index, size), bytes.NewReader(suffix)))
	}
	if err == nil {
		err = a.tw.Close()
	}
	if err == nil {
		err = a.gz.Close()
	}
	return a.n, err
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
