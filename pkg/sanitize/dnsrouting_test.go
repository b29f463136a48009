package sanitize

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The weight and set identifier of a weighted record are the source
// cluster's: never copied; the rest of ExternalDNS's annotations are.
func TestExternalDNSRoutingAnnotationsNotCopied(t *testing.T) {
	ing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "annotations": map[string]any{
			"external-dns.alpha.kubernetes.io/set-identifier": "blue",
			"external-dns.alpha.kubernetes.io/aws-weight":     "100",
			"external-dns.kubernetes.io/set-identifier":       "blue",
			"external-dns.kubernetes.io/aws-weight":           "100",
			"external-dns.alpha.kubernetes.io/hostname":       "app.example.com",
			"external-dns.alpha.kubernetes.io/ttl":            "60",
			"example.com/set-identifier":                      "mine",
		}},
	}}
	d := Object(ing, Context{})
	got := ing.GetAnnotations()
	for _, k := range []string{"external-dns.alpha.kubernetes.io/set-identifier", "external-dns.alpha.kubernetes.io/aws-weight",
		"external-dns.kubernetes.io/set-identifier", "external-dns.kubernetes.io/aws-weight"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s copied", k)
		}
	}
	for _, k := range []string{"external-dns.alpha.kubernetes.io/hostname", "external-dns.alpha.kubernetes.io/ttl", "example.com/set-identifier"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s dropped", k)
		}
	}
	if note := strings.Join(d.Notes, ";"); !strings.Contains(note, "aws-weight") || !strings.Contains(note, "tandem shift") {
		t.Errorf("notes %q: want the dropped annotations named and tandem shift", note)
	}
	plain := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "namespace": "shop"}}}
	if d := Object(plain, Context{}); len(d.Notes) != 0 {
		t.Errorf("a ConfigMap without them got notes %v", d.Notes)
	}
}
