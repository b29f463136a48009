package sanitize

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// IsExternalDNS says whether a container image is ExternalDNS's.
func IsExternalDNS(image string) bool { return strings.Contains(image, "external-dns") }

// ExternalDNSOwner is the --txt-owner-id of a workload that runs
// ExternalDNS ("default" when its arguments name none, as ExternalDNS
// defaults it), and whether it runs ExternalDNS at all.
//
// ExternalDNS marks the DNS records it made as its owner's (the TXT
// registry) and takes every record so marked for its own: it rewrites them
// to what its cluster serves and deletes those its cluster does not. A
// copy in the target would run as the source's owner — its Ingresses'
// load balancers published over the source's, the source's records it
// does not find deleted (--policy sync) — from the moment it starts,
// before any shift. The target needs an ExternalDNS of its own, with
// another owner id; `tandem shift --router externaldns://` then weighs the
// two clusters' records (and refuses clusters that share an owner id).
func ExternalDNSOwner(obj *unstructured.Unstructured) (string, bool) {
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	owner, found := "", false
	for _, c := range containers {
		m, _ := c.(map[string]any)
		if img, _ := m["image"].(string); !IsExternalDNS(img) {
			continue
		}
		// ExternalDNS reads each flag from an EXTERNAL_DNS_* variable too;
		// an argument wins over it.
		id, main := "default", false
		env, _ := m["env"].([]any)
		for _, e := range env {
			em, _ := e.(map[string]any)
			if em["name"] == "EXTERNAL_DNS_TXT_OWNER_ID" {
				if v, _ := em["value"].(string); v != "" {
					id = v
				}
			}
		}
		var args []string
		for _, field := range []string{"command", "args"} {
			l, _ := m[field].([]any)
			for _, a := range l {
				s, _ := a.(string)
				args = append(args, s)
			}
		}
		for i, a := range args {
			if v, ok := strings.CutPrefix(a, "--txt-owner-id="); ok {
				id = v
			} else if a == "--txt-owner-id" && i+1 < len(args) {
				id = args[i+1]
			}
			main = main || strings.HasPrefix(a, "--source") || strings.HasPrefix(a, "--provider")
		}
		// The container that publishes (its --source, --provider), not a
		// provider webhook beside it from the same project.
		if !found || main {
			owner, found = id, true
		}
		if main {
			break
		}
	}
	return owner, found
}

// skipExternalDNS is the decision on a workload that runs ExternalDNS.
func skipExternalDNS(owner string) Decision {
	return skipIntent(fmt.Sprintf("runs ExternalDNS as owner %q: a copy in the target would take the source's DNS records for its own, rewrite them to the target's load balancers and delete the others; run the target's own ExternalDNS with an owner id of its own (--txt-owner-id)", owner))
}
