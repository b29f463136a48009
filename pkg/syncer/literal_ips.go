package syncer

import (
	"encoding/json"
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

var ipv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)

// sourceClusterIPs maps each source Service's clusterIP to namespace/name.
func sourceClusterIPs(raw []plan.Object) map[string]string {
	ips := map[string]string{}
	for _, o := range raw {
		c := plan.Content(o)
		if c == nil || o.GroupVersionKind() != (schema.GroupVersionKind{Version: "v1", Kind: "Service"}) {
			continue
		}
		ip, _, _ := unstructured.NestedString(c.Object, "spec", "clusterIP")
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
func noteLiteralClusterIPs(ips map[string]string, it *plan.Item) {
	if len(ips) == 0 || it.Decision.Skip {
		return
	}
	switch it.Desired.GetKind() {
	case "Service", "Endpoints", "EndpointSlice":
		return
	}
	data, err := json.Marshal(it.Desired.Object)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, m := range ipv4.FindAll(data, -1) {
		ip := string(m)
		if svc, ok := ips[ip]; ok && !seen[ip] {
			seen[ip] = true
			it.Decision.Notes = append(it.Decision.Notes, fmt.Sprintf("names the source clusterIP %s of Service %s literally: the Service gets a new address in the target, use its DNS name", ip, svc))
		}
	}
}
