package preflight

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// cloudController is a kind of controller that turns custom resources into
// resources of a cloud, and keeps them as the custom resources say. Sync
// copies the custom resources (a user's intent), so once the target's
// controller runs, two clusters manage each cloud resource: both write it,
// and deleting the custom resource in either — a namespace or the old
// cluster's objects cleaned up after the move — deletes it in the cloud.
type cloudController struct {
	name string
	// owns says whether a CRD of the source is one of its kinds.
	owns func(group string, categories []string) bool
	// what the copies do in the target beyond that, "" for nothing more.
	also string
	fix  string
}

// afterward is how a fix says to change what sync copies without the
// change coming across too.
const afterward = "after the last sync, with no mirror running (one would copy it)"

// inTarget is how a fix says to change the target's copies so that the
// next sync keeps the change.
const inTarget = "with kubectl in the target after the sync (sync leaves an annotation it did not write)"

var cloudControllers = []cloudController{
	{name: "Crossplane managed resources",
		// Every managed resource's CRD is in the category "managed"
		// (kubectl get managed): https://docs.crossplane.io/latest/managed-resources/managed-resources/
		owns: func(_ string, categories []string) bool { return slices.Contains(categories, "managed") },
		fix: "let one cluster's providers act: pause the target's copies (annotation crossplane.io/paused: \"true\", " + inTarget + "), or keep the target a standby (sync --standby parks its providers); " +
			"before deleting anything in the cluster you retire, make its managed resources keep what they manage — spec.managementPolicies without Delete (spec.deletionPolicy: Orphan on cluster-scoped ones) — " + afterward},
	{name: "Crossplane composite resources and claims",
		// An XRD's composite and claim kinds are in the categories
		// "composite" and "claim"; the composed resources are the
		// composite's (controller-owned), which sync does not copy.
		owns: func(_ string, categories []string) bool {
			return slices.Contains(categories, "composite") || slices.Contains(categories, "claim")
		},
		also: "; the target's Crossplane composes their managed resources again, and unless a composition names each one's cloud resource (crossplane.io/external-name), its providers create a second one",
		fix: "keep the target's Crossplane from composing until you decide: sync --standby parks it, or pause the target's copies (annotation crossplane.io/paused: \"true\", " + inTarget + "); " +
			"before deleting anything in the cluster you retire, make its composed managed resources keep what they manage (spec.managementPolicies without Delete) " + afterward},
	{name: "AWS Controllers for Kubernetes (ACK) resources",
		owns: func(group string, _ []string) bool { return strings.HasSuffix(group, ".services.k8s.aws") },
		// ACK finds an existing resource by what its spec names (a bucket's
		// name) or by the identifier its status records (a VPC's ID, an
		// instance's): https://aws-controllers-k8s.github.io/docs/guides/adoption
		also: "; sync does not copy their status, so a resource AWS identifies by an ID the status recorded (a VPC, a subnet, a security group, an instance) is created a second time by the target's controller",
		fix: "keep the target's ACK controllers from running until its copies say what to adopt: sync --standby parks them; annotate the copies (services.k8s.aws/adoption-policy: adopt, and services.k8s.aws/adoption-fields naming each one's identifier, " + inTarget + "), then activate; " +
			"keep the AWS resources when the source's copies go: services.k8s.aws/deletion-policy: retain on them, " + afterward},
	{name: "Config Connector resources",
		// core.cnrm.cloud.google.com holds Config Connector's own settings
		// (ConfigConnectorContext), not Google Cloud resources.
		owns: func(group string, _ []string) bool {
			return strings.HasSuffix(group, ".cnrm.cloud.google.com") && group != "core.cnrm.cloud.google.com"
		},
		// https://cloud.google.com/config-connector/docs/reference/annotations
		fix: "let one cluster's Config Connector act (sync --standby parks the target's); before deleting anything in the cluster you retire, annotate its resources cnrm.cloud.google.com/deletion-policy: abandon, " + afterward},
	{name: "Azure Service Operator resources",
		// AKS's own add-ons (app routing's NginxIngressController) are in
		// *.kubernetes.azure.com and make no Azure resource of their own.
		owns: func(group string, _ []string) bool {
			return strings.HasSuffix(group, ".azure.com") && !strings.HasSuffix(group, ".kubernetes.azure.com")
		},
		// https://azure.github.io/azure-service-operator/guide/annotations/
		fix: "let one cluster's operator act: annotate the target's copies serviceoperator.azure.com/reconcile-policy: skip (" + inTarget + "), or sync --standby, which parks it; " +
			"before deleting anything in the cluster you retire, set that annotation to detach-on-delete on its resources, " + afterward},
}

// cloudResources says which custom resources sync copies that a
// controller in the cluster turns into cloud resources: after the move,
// the source's controller and the target's manage the same ones.
func cloudResources(env *Env) []Finding {
	kinds := make([][]string, len(cloudControllers))
	counts := make([]int, len(cloudControllers))
	for _, crd := range env.Of("apiextensions.k8s.io", "CustomResourceDefinition") {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		categories, _, _ := unstructured.NestedStringSlice(crd.Object, "spec", "names", "categories")
		n := env.Seen.Copied(group, kind)
		if n == 0 {
			continue
		}
		for i, c := range cloudControllers {
			if c.owns(group, categories) {
				kinds[i] = append(kinds[i], fmt.Sprintf("%s.%s: %d", kind, group, n))
				counts[i] += n
				break
			}
		}
	}
	var out []Finding
	for i, c := range cloudControllers {
		if counts[i] == 0 {
			continue
		}
		slices.Sort(kinds[i])
		out = append(out, Finding{Severity: Warning, Object: c.name,
			Message: fmt.Sprintf("%d to copy (%s); once the target's controller runs, both clusters manage the same cloud resources, and deleting one in either cluster deletes it in the cloud%s",
				counts[i], strings.Join(kinds[i], ", "), c.also),
			Fix: c.fix})
	}
	return out
}
