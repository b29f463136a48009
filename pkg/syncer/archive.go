package syncer

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

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

// WriteArchive writes what sync would apply (every step that is not skipped)
// as a tar.gz: one YAML file per object, in wave order, then index.json.
// progress, when set, hears after each object how many are written of how
// many.
func WriteArchive(w io.Writer, source string, p *Prepared, progress func(done, total int)) (int, error) {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	idx := Index{Source: source, Created: time.Now().UTC()}
	total := p.Plan.Len() - p.Plan.Counts()[plan.Skip]
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
			if progress != nil {
				progress(len(idx.Objects), total)
			}
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
