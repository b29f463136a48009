package inventory

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// ReadCRD reads what sync, plan and a standby decide by: prometheus-
// operator's AlertmanagerConfig as its conversion patch leaves it (v1alpha1
// stored, v1beta1 served, converted by the admission webhook's Service).
func TestReadCRD(t *testing.T) {
	read := func(doc string) CRD {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		return ReadCRD(u)
	}
	c := read(`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition,
metadata: {name: alertmanagerconfigs.monitoring.coreos.com},
spec: {group: monitoring.coreos.com, scope: Namespaced, names: {kind: AlertmanagerConfig, plural: alertmanagerconfigs},
  conversion: {strategy: Webhook, webhook: {clientConfig: {service: {namespace: default, name: prometheus-operator-admission-webhook}}}},
  versions: [{name: v1beta1, served: true, storage: false}, {name: v1alpha1, served: true, storage: true, subresources: {scale: {specReplicasPath: .spec.size}}}, {name: v1, served: false, storage: false}]}}`)
	if c.GroupKind != (schema.GroupKind{Group: "monitoring.coreos.com", Kind: "AlertmanagerConfig"}) || c.Plural != "alertmanagerconfigs" || !c.Namespaced {
		t.Errorf("kind = %v %q namespaced %v", c.GroupKind, c.Plural, c.Namespaced)
	}
	if c.Storage != "v1alpha1" || !c.WebhookConversion || c.Webhook != "default/prometheus-operator-admission-webhook" {
		t.Errorf("storage %q, webhook %v %q", c.Storage, c.WebhookConversion, c.Webhook)
	}
	if got := c.Served(); !slices.Equal(got, []string{"v1alpha1", "v1beta1"}) {
		t.Errorf("served = %v", got)
	}
	if v, ok := c.Version("v1alpha1"); !ok || !v.Scaled || v.SpecReplicasPath != ".spec.size" {
		t.Errorf("v1alpha1 = %+v, %v", v, ok)
	}
	if v, _ := c.Version("v1beta1"); v.Scaled {
		t.Errorf("v1beta1 has no scale subresource: %+v", v)
	}
	u := read(`{spec: {group: g.example, scope: Cluster, names: {kind: K, plural: ks}, conversion: {strategy: Webhook, webhook: {clientConfig: {url: "https://conv.example/convert"}}}, versions: [{name: v1, served: true, storage: true}]}}`)
	if u.Namespaced || u.Webhook != "https://conv.example/convert" {
		t.Errorf("url webhook: %+v", u)
	}
	if n := read(`{spec: {group: g.example, conversion: {strategy: None}, versions: [{name: v1, served: true, storage: true}]}}`); n.WebhookConversion || n.Webhook != "" {
		t.Errorf("no webhook: %+v", n)
	}
}
