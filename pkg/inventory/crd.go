package inventory

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CRD is what tandem reads of a CustomResourceDefinition: the kind it
// defines, its versions, and how the apiserver converts between them. Sync
// picks the version it exchanges a kind at from it (storedVersion), plan
// compares the source's with the target's, and a standby finds where a
// custom workload's replicas are.
type CRD struct {
	GroupKind schema.GroupKind
	// Plural is the resource its objects are served as.
	Plural     string
	Namespaced bool
	// Versions in the CRD's order.
	Versions []CRDVersion
	// Storage is the version objects are stored at ("" if none is marked).
	Storage string
	// WebhookConversion: the CRD's conversion strategy is Webhook, so an
	// object read or written at a version other than the one it is stored
	// at goes through the webhook's backend.
	WebhookConversion bool
	// Webhook is the conversion webhook's service ("namespace/name") or
	// URL; empty without a webhook.
	Webhook string
}

// CRDVersion is one version a CRD defines.
type CRDVersion struct {
	Name   string
	Served bool
	// Scaled: the version has a scale subresource, whose replicas are at
	// SpecReplicasPath.
	Scaled           bool
	SpecReplicasPath string
}

// ReadCRD reads a CustomResourceDefinition as the apiserver serves it.
func ReadCRD(o *unstructured.Unstructured) CRD {
	var c CRD
	c.GroupKind.Group, _, _ = unstructured.NestedString(o.Object, "spec", "group")
	c.GroupKind.Kind, _, _ = unstructured.NestedString(o.Object, "spec", "names", "kind")
	c.Plural, _, _ = unstructured.NestedString(o.Object, "spec", "names", "plural")
	scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
	c.Namespaced = scope == "Namespaced"
	vs, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
	for _, x := range vs {
		m, _ := x.(map[string]any)
		var v CRDVersion
		v.Name, _ = m["name"].(string)
		v.Served, _ = m["served"].(bool)
		v.SpecReplicasPath, v.Scaled, _ = unstructured.NestedString(m, "subresources", "scale", "specReplicasPath")
		if stored, _ := m["storage"].(bool); stored {
			c.Storage = v.Name
		}
		c.Versions = append(c.Versions, v)
	}
	strategy, _, _ := unstructured.NestedString(o.Object, "spec", "conversion", "strategy")
	if c.WebhookConversion = strategy == "Webhook"; c.WebhookConversion {
		ns, _, _ := unstructured.NestedString(o.Object, "spec", "conversion", "webhook", "clientConfig", "service", "namespace")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "conversion", "webhook", "clientConfig", "service", "name")
		c.Webhook, _, _ = unstructured.NestedString(o.Object, "spec", "conversion", "webhook", "clientConfig", "url")
		if name != "" {
			c.Webhook = ns + "/" + name
		}
	}
	return c
}

// Served are the versions the CRD serves, sorted.
func (c CRD) Served() []string {
	var out []string
	for _, v := range c.Versions {
		if v.Served {
			out = append(out, v.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Version is the version of that name, if the CRD defines it.
func (c CRD) Version(name string) (CRDVersion, bool) {
	for _, v := range c.Versions {
		if v.Name == name {
			return v, true
		}
	}
	return CRDVersion{}, false
}
