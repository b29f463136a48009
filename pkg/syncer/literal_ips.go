package syncer

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// sourceClusterIPs maps each source Service's clusterIP to namespace/name.
func sourceClusterIPs(raw []plan.Object) map[string]string {
	ips := map[string]string{}
	for _, o := range raw {
		c := plan.Content(o)
		if c == nil || o.GroupVersionKind() != (schema.GroupVersionKind{Version: "v1", Kind: "Service"}) {
			continue
		}
		ip, _, _ := unstructured.NestedString(c.Object, serviceClusterIP...)
		if ip != "" && ip != "None" {
			ips[ip] = o.GetNamespace() + "/" + o.GetName()
		}
	}
	return ips
}

// noteLiteralClusterIPs adds a note to an object that names a source
// Service's clusterIP literally (an env var, a config file, a proxy rule):
// the Service gets a new address in the target, so that reference breaks.
// Only the address and the Service are named, never the value around it.
// Every string of the object is scanned (keys too), one pass each, with no
// copy of the object made: a sync does this for every object it writes.
func noteLiteralClusterIPs(ips map[string]string, it *plan.Item) {
	if len(ips) == 0 || it.Decision.Skip {
		return
	}
	switch it.Desired.GetKind() {
	case "Service", "Endpoints", "EndpointSlice":
		return
	}
	var found map[string]bool
	eachString(it.Desired.Object, func(s string) {
		eachIPv4(s, func(ip string) {
			if _, ok := ips[ip]; ok {
				if found == nil {
					found = map[string]bool{}
				}
				found[ip] = true
			}
		})
	})
	named := make([]string, 0, len(found))
	for ip := range found {
		named = append(named, ip)
	}
	sort.Strings(named)
	for _, ip := range named {
		it.Decision.Notes = append(it.Decision.Notes, fmt.Sprintf("names the source clusterIP %s of Service %s literally: the Service gets a new address in the target, use its DNS name", ip, ips[ip]))
	}
}

// eachString calls fn with every string in v (a decoded JSON value): map
// keys and string values, at any depth.
func eachString(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case map[string]any:
		for k, e := range v {
			fn(k)
			eachString(e, fn)
		}
	case []any:
		for _, e := range v {
			eachString(e, fn)
		}
	}
}

// eachIPv4 calls fn with each dotted-quad IPv4 address in s, as the regular
// expression \b(?:\d{1,3}\.){3}\d{1,3}\b finds them (leftmost first, not
// overlapping): four groups of one to three digits joined by dots, not
// inside a longer word or number.
func eachIPv4(s string, fn func(string)) {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isWordByte(s[i-1])) {
			i++
			continue
		}
		// A group starts at i, after a boundary: try four groups from here.
		end, ok := dottedQuad(s, i)
		if ok {
			fn(s[i:end])
			i = end
			continue
		}
		for i < len(s) && isDigit(s[i]) {
			i++ // the rest of this number cannot start a match: no boundary inside it
		}
	}
}

// dottedQuad reads four dot-joined groups of 1–3 digits from s[i:] and
// returns where they end, if the end is a word boundary.
func dottedQuad(s string, i int) (int, bool) {
	for group := 0; group < 4; group++ {
		if group > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		n := 0
		for i < len(s) && isDigit(s[i]) && n < 3 {
			i++
			n++
		}
		if n == 0 {
			return 0, false
		}
	}
	if i < len(s) && isWordByte(s[i]) {
		return 0, false // a fourth digit, or a letter: not at a boundary
	}
	return i, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordByte is \w in ASCII: what \b separates from the rest.
func isWordByte(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
