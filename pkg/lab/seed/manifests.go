package seed

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// optionalFiles hold documents in API versions that a cluster may no longer
// serve; Apply skips those instead of failing.
// The seeded app's Ingress (host app.example): its annotations make each
// cluster's ExternalDNS publish a weighted record of app.example in the
// lab's zone.
const (
	AppNamespace = "shop"
	AppIngress   = "web"
)

var optionalFiles = map[string]bool{"90-removed-apis.yaml": true}

// document is one parsed manifest with where it came from.
type document struct {
	file  string // base name, e.g. "30-shop.yaml"
	index int    // 1-based position among the file's non-empty documents
	obj   *unstructured.Unstructured
}

// String names the document for errors and results: "Kind namespace/name".
func (d document) String() string {
	return describe(d.obj)
}

func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}

// Objects returns the parsed embedded manifests (for tests that compare source and target).
func Objects() ([]*unstructured.Unstructured, error) {
	docs, err := documents()
	if err != nil {
		return nil, err
	}
	objs := make([]*unstructured.Unstructured, len(docs))
	for i, d := range docs {
		objs[i] = d.obj
	}
	return objs, nil
}

// documents parses every embedded manifest, files in name order and
// documents in file order. Each call returns fresh objects.
func documents() ([]document, error) {
	names, err := fs.Glob(manifests, "manifests/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var docs []document
	for _, name := range names {
		data, err := manifests.ReadFile(name)
		if err != nil {
			return nil, err
		}
		parsed, err := parseFile(path.Base(name), data)
		if err != nil {
			return nil, err
		}
		docs = append(docs, parsed...)
	}
	return docs, nil
}

// parseFile splits a multi-document YAML file and parses each document;
// documents that hold only comments are dropped.
func parseFile(file string, data []byte) ([]document, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for n := 1; ; n++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifests/%s: document %d: %w", file, n, err)
		}
		obj, err := parseDocument(raw)
		if err != nil {
			return nil, fmt.Errorf("manifests/%s: document %d: %w", file, n, err)
		}
		if obj == nil {
			continue
		}
		docs = append(docs, document{file: file, index: len(docs) + 1, obj: obj})
	}
}

// parseDocument turns one YAML document into an object, or nil for an empty
// document. Numbers become int64 where they are integral, as the apiserver
// would decode them.
func parseDocument(raw []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil
	}
	var m map[string]interface{}
	if err := utiljson.Unmarshal(js, &m); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	obj := &unstructured.Unstructured{Object: m}
	switch {
	case obj.GetAPIVersion() == "":
		return nil, errors.New("no apiVersion")
	case obj.GetKind() == "":
		return nil, errors.New("no kind")
	case obj.GetName() == "":
		return nil, fmt.Errorf("%s without metadata.name", obj.GetKind())
	}
	return obj, nil
}
