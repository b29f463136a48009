package sanitize

import (
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// externalDNSPrefixes are the annotation prefixes ExternalDNS reads (the
// alpha one until v0.22.0, the GA one after).
var externalDNSPrefixes = []string{"external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/"}

// routingPolicy are the ExternalDNS annotations that make one cluster's record
// of a weighted (or failover, latency, geolocation…) set: the set identifier
// and what hangs off it. They are each cluster's own — copied, the target's
// ExternalDNS would publish the source's identifier and weight and the two
// would fight over one record — and `tandem shift` writes them in each
// cluster. See ExternalDNS's docs/annotations/annotations.md.
var routingPolicy = []string{
	"set-identifier",
	"aws-weight",
	"aws-region",
	"aws-failover",
	"aws-health-check-id",
	"aws-multi-value-answer",
	"aws-geolocation-continent-code",
	"aws-geolocation-country-code",
	"aws-geolocation-subdivision-code",
	"aws-geoproximity-region",
	"aws-geoproximity-bias",
	"aws-geoproximity-coordinates",
	"aws-geoproximity-local-zone-group",
}

// stripDNSRouting removes the ExternalDNS routing-policy annotations from obj
// and returns a note naming them, "" when there were none.
func stripDNSRouting(obj *unstructured.Unstructured) string {
	var gone []string
	for k := range obj.GetAnnotations() {
		for _, p := range externalDNSPrefixes {
			if name, ok := strings.CutPrefix(k, p); ok && slices.Contains(routingPolicy, name) {
				gone = append(gone, k)
			}
		}
	}
	if len(gone) == 0 {
		return ""
	}
	sort.Strings(gone)
	removeAnnotations(obj, gone...)
	return "ExternalDNS routing annotations not copied (each cluster has its own; `tandem shift` sets them): " + strings.Join(gone, ", ")
}

// DNSSetIdentifierPrefixes are the ExternalDNS prefixes under which obj has
// a set-identifier: obj is one record of a weighted (or other routing
// policy) set.
func DNSSetIdentifierPrefixes(obj *unstructured.Unstructured) []string {
	return DNSSetIdentifierPrefixesIn(obj.GetAnnotations())
}

// DNSSetIdentifierPrefixesIn is DNSSetIdentifierPrefixes of an object with
// these annotations.
func DNSSetIdentifierPrefixesIn(annotations map[string]string) []string {
	var out []string
	for _, p := range externalDNSPrefixes {
		if annotations[p+"set-identifier"] != "" {
			out = append(out, p)
		}
	}
	return out
}
