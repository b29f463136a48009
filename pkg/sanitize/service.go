package sanitize

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// lastApplied is kubectl's record of what the user applied.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// sanitizeService drops the IPs and node ports the source allocated. A node port
// the user chose is kept: clients outside the cluster may depend on it.
func sanitizeService(obj *unstructured.Unstructured, c Context) Decision {
	if isAPIServerObject(obj.GetNamespace(), obj.GetName()) {
		return skip("the apiserver's own Service: the target's apiserver maintains its own")
	}
	var d Decision
	spec, ok := obj.Object["spec"].(map[string]any)
	if !ok {
		return d
	}
	// Headless is a user choice, not an allocation; clusterIPs mirrors clusterIP
	// and the apiserver rejects them disagreeing, so both go or both stay.
	if ip, _ := spec["clusterIP"].(string); ip != "None" {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
	}

	svcType, _ := spec["type"].(string)
	if svcType == "" {
		svcType = "ClusterIP"
	}
	ns, name := obj.GetNamespace(), obj.GetName()
	user := userNodePorts(obj)
	// keep says whether an existing node port survives, noting why when it does not.
	keep := func(field string, port int64, allowed, userSet bool) bool {
		switch {
		case !allowed:
			d.Notes = append(d.Notes, fmt.Sprintf("%s %d dropped: a Service of type %s has none", field, port, svcType))
		case !userSet:
			d.Notes = append(d.Notes, fmt.Sprintf("%s %d dropped: assigned by the source cluster", field, port))
		case c.nodePortTaken(port, ns, name):
			d.Notes = append(d.Notes, fmt.Sprintf("%s %d taken in the target: a new one will be assigned", field, port))
		default:
			return true
		}
		return false
	}

	hasNodePorts := svcType == "NodePort" || svcType == "LoadBalancer"
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		np, ok := int64Of(pm["nodePort"])
		if !ok || np == 0 {
			delete(pm, "nodePort")
			continue
		}
		if !keep("nodePort", np, hasNodePorts, user.ports[keyOfPort(pm)]) {
			delete(pm, "nodePort")
		}
	}
	if hc, ok := int64Of(spec["healthCheckNodePort"]); ok && hc != 0 {
		if !keep("healthCheckNodePort", hc, svcType == "LoadBalancer", user.healthCheck) {
			delete(spec, "healthCheckNodePort")
		}
	} else {
		delete(spec, "healthCheckNodePort")
	}
	return d
}

// isAPIServerObject reports whether namespace/name is the "kubernetes" Service
// (or its endpoints) that every apiserver publishes for itself.
func isAPIServerObject(namespace, name string) bool {
	return namespace == "default" && name == "kubernetes"
}

// portKey identifies a Service port the way the apiserver keys spec.ports.
type portKey struct {
	port     int64
	protocol string
}

// keyOfPort returns the key of a spec.ports entry (or a decoded managedFields key).
func keyOfPort(m map[string]any) portKey {
	port, _ := int64Of(m["port"])
	proto, _ := m["protocol"].(string)
	if proto == "" {
		proto = "TCP" // the apiserver's default
	}
	return portKey{port: port, protocol: proto}
}

// nodePortEvidence records which node ports a user set, rather than the allocator.
type nodePortEvidence struct {
	ports       map[portKey]bool
	healthCheck bool
}

// userNodePorts gathers the evidence that a user set a node port: a managedFields
// entry owning it (allocations happen after field tracking, so the allocator
// never owns one), or kubectl's last-applied configuration setting it.
func userNodePorts(obj *unstructured.Unstructured) nodePortEvidence {
	ev := nodePortEvidence{ports: map[portKey]bool{}}
	entries, _, _ := unstructured.NestedSlice(obj.Object, "metadata", "managedFields")
	for _, e := range entries {
		spec, _, _ := unstructured.NestedMap(asMap(e), "fieldsV1", "f:spec")
		if _, ok := spec["f:healthCheckNodePort"]; ok {
			ev.healthCheck = true
		}
		ports, _ := spec["f:ports"].(map[string]any)
		for k, v := range ports {
			if _, ok := asMap(v)["f:nodePort"]; !ok {
				continue
			}
			raw, ok := strings.CutPrefix(k, "k:")
			var key map[string]any
			if !ok || json.Unmarshal([]byte(raw), &key) != nil {
				continue
			}
			ev.ports[keyOfPort(key)] = true
		}
	}

	var applied map[string]any
	if s := obj.GetAnnotations()[lastApplied]; s == "" || json.Unmarshal([]byte(s), &applied) != nil {
		return ev
	}
	spec := asMap(applied["spec"])
	if hc, ok := int64Of(spec["healthCheckNodePort"]); ok && hc != 0 {
		ev.healthCheck = true
	}
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		pm := asMap(p)
		if np, ok := int64Of(pm["nodePort"]); ok && np != 0 {
			ev.ports[keyOfPort(pm)] = true
		}
	}
	return ev
}

// asMap returns v as a JSON object, or nil (which reads as empty) when it is not one.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// AsksNodePorts says whether sanitizing o asks Context.NodePortTaken: o is
// a core Service with a node port or a health check node port set. A
// caller that sanitizes a few objects lists the target's node ports only
// then.
func AsksNodePorts(o *unstructured.Unstructured) bool {
	if o.GetKind() != "Service" || o.GroupVersionKind().Group != "" {
		return false
	}
	spec, _ := o.Object["spec"].(map[string]any)
	if hc, _ := int64Of(spec["healthCheckNodePort"]); hc != 0 {
		return true
	}
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		if np, _ := int64Of(asMap(p)["nodePort"]); np != 0 {
			return true
		}
	}
	return false
}
