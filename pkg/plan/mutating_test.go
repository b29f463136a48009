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
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
- name: everything.example
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
	if got[1].NamespaceSelector != nil {
		t.Errorf("everything.example has no namespaceSelector, got %+v", got[1].NamespaceSelector)
	}
	validating := obj.DeepCopy()
	validating.SetKind("ValidatingWebhookConfiguration")
	if got := PodMutators(validating); got != nil {
		t.Errorf("a validating configuration mutates nothing: %+v", got)
	}
}
