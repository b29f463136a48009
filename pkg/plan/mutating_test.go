package plan

import "testing"

// A webhook with a rule on creating pods is a pod mutator; one on other
// resources, on pods' subresources or on updates only is not.
func TestPodMutators(t *testing.T) {
	obj := parse(t, `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: mesh}
webhooks:
- name: inject.mesh.example
  namespaceSelector: {matchLabels: {mesh-injection: enabled}}
  objectSelector: {matchExpressions: [{key: mesh-inject, operator: NotIn, values: ["false"]}]}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  clientConfig: {service: {namespace: mesh-system, name: injector}}
- name: everything.example
  clientConfig: {url: "https://hooks.example/all"}
  namespaceSelector: {}
  objectSelector: {}
  rules: [{apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*/*"]}]
- name: exec.example
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CONNECT], resources: [pods/exec]}]
- name: updates.example
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [pods]}]
- name: deployments.example
  rules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]
`)
	got := PodMutators(obj)
	if len(got) != 2 || got[0].Name != "inject.mesh.example" || got[1].Name != "everything.example" {
		t.Fatalf("pod mutators %+v; want inject.mesh.example and everything.example", got)
	}
	if s := got[0].NamespaceSelector; s == nil || s.MatchLabels["mesh-injection"] != "enabled" {
		t.Errorf("namespaceSelector %+v", s)
	}
	if got[0].Namespace != "mesh-system" || got[0].Service != "injector" || got[1].Service != "" {
		t.Errorf("services %q/%q and %q: want mesh-system/injector, and none for a URL", got[0].Namespace, got[0].Service, got[1].Service)
	}
	if got[1].NamespaceSelector != nil || got[1].ObjectSelector != nil {
		t.Errorf("everything.example has no selectors, got %+v and %+v", got[1].NamespaceSelector, got[1].ObjectSelector)
	}
	// The selectors match as the apiserver matches a webhook's.
	labelled, plain := map[string]string{"mesh-injection": "enabled"}, map[string]string{"team": "a"}
	for _, tc := range []struct {
		m         PodMutator
		ns, pod   map[string]string
		nsOK, pOK bool
	}{
		{got[0], labelled, plain, true, true},
		{got[0], plain, map[string]string{"mesh-inject": "false"}, false, false},
		{got[1], plain, plain, true, true},
	} {
		if ok := tc.m.SelectsNamespace(tc.ns); ok != tc.nsOK {
			t.Errorf("%s SelectsNamespace(%v) = %v", tc.m.Name, tc.ns, ok)
		}
		if ok := tc.m.SelectsPod(tc.pod); ok != tc.pOK {
			t.Errorf("%s SelectsPod(%v) = %v", tc.m.Name, tc.pod, ok)
		}
	}
	validating := obj.DeepCopy()
	validating.SetKind("ValidatingWebhookConfiguration")
	if got := PodMutators(validating); got != nil {
		t.Errorf("a validating configuration mutates nothing: %+v", got)
	}
}
