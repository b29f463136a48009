package syncer

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
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

// WriteArchive writes what sync would apply (every step that is not skipped)
// as a tar.gz: index.json plus one YAML file per object, in wave order.
func WriteArchive(w io.Writer, source string, p *Prepared) (int, error) {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	idx := Index{Source: source, Created: time.Now().UTC()}
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), ModTime: idx.Created, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, wv := range p.Plan.Waves {
		for _, s := range wv.Steps {
			if s.Action == plan.Skip {
				continue
			}
			d, err := s.Full()
			if err != nil {
				return 0, err
			}
			e := IndexEntry{Wave: wv.Name, Group: s.Resource.Group, Version: s.Resource.Version, Resource: s.Resource.Resource, Kind: s.Ref.Kind,
				Namespaced: s.Namespaced, Namespace: s.Ref.Namespace, Name: s.Ref.Name, Why: s.Why}
			e.File = path.Join("objects", fmt.Sprintf("%02d-%s", wv.Index, strings.ReplaceAll(wv.Name, " ", "-")),
				strings.Join(nonEmpty(e.Group, e.Kind, e.Namespace, e.Name), "_")+".yaml")
			data, err := yaml.Marshal(d.Object)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", e.File, err)
			}
			if err := add(e.File, data); err != nil {
				return 0, err
			}
			idx.Objects = append(idx.Objects, e)
		}
	}
	data, _ := json.MarshalIndent(idx, "", "  ")
	if err := add("index.json", data); err != nil {
		return 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return len(idx.Objects), gz.Close()
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

// Archived is one object read back from an archive.
type Archived struct {
	Entry  IndexEntry
	Object *unstructured.Unstructured
}

// ReadArchive reads an export archive; a file that is not one is bad input.
func ReadArchive(r io.Reader) ([]Archived, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a tandem export (gzip: %v)", cluster.ErrBadInput, err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: not a tandem export (tar: %v)", cluster.ErrBadInput, err)
		}
		data, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return nil, err
		}
		files[h.Name] = data
	}
	var idx Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		return nil, fmt.Errorf("%w: not a tandem export (index.json: %v)", cluster.ErrBadInput, err)
	}
	var out []Archived
	for _, e := range idx.Objects {
		data, ok := files[e.File]
		if !ok {
			return nil, fmt.Errorf("%w: archive lists %s but does not contain it", cluster.ErrBadInput, e.File)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", cluster.ErrBadInput, e.File, err)
		}
		out = append(out, Archived{Entry: e, Object: obj})
	}
	return out, nil
}

// ImportPlan builds the plan for applying archived objects to the target,
// through the same plan as sync. Objects of a resource the target does not
// serve at the archived version come back as Unshared.
func ImportPlan(ctx context.Context, target *cluster.Conn, objs []Archived, force bool) (*Prepared, error) {
	p := &Prepared{}
	current := map[plan.ObjectKey]*unstructured.Unstructured{}
	// state per resource: "listed", "pending" (its CRD is in the archive) or "unserved"
	state := map[schema.GroupVersionResource]string{}
	var items []plan.Item
	for _, a := range objs {
		e := a.Entry
		r := inventory.Resource{Group: e.Group, Version: e.Version, Resource: e.Resource, Kind: e.Kind, Namespaced: e.Namespaced}
		gvr := r.GVR()
		if state[gvr] == "" {
			state[gvr] = "unserved"
			if _, err := target.ResourceFor(gvr.GroupVersion().WithKind(e.Kind)); err == nil {
				state[gvr] = "listed"
				if err := inventory.List(ctx, target, r, "", func(t *unstructured.Unstructured) error {
					current[plan.KeyOf(t)] = t
					return nil
				}); err != nil {
					return nil, err
				}
			} else if archivedCRD(objs, e.Group) {
				state[gvr] = "pending"
			}
		}
		if state[gvr] == "unserved" {
			p.Unshared = append(p.Unshared, Unshared{Object: a.Object, Fix: fmt.Sprintf("the target does not serve %s/%s %s: export again with --target pointing at this cluster", e.Group, e.Version, e.Kind)})
			continue
		}
		items = append(items, plan.Item{Resource: gvr, Namespaced: e.Namespaced, Desired: a.Object, Current: current[plan.KeyOf(a.Object)], Why: e.Why})
	}
	p.Plan = plan.Build(items, plan.Options{Force: force})
	return p, nil
}

func archivedCRD(objs []Archived, group string) bool {
	for _, a := range objs {
		if a.Entry.Kind == "CustomResourceDefinition" {
			g, _, _ := unstructured.NestedString(a.Object.Object, "spec", "group")
			if g == group {
				return true
			}
		}
	}
	return false
}
