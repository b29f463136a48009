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

var cloudControllers = []cloudController{
	{name: "Crossplane managed resources",
		// Every managed resource's CRD is in the category "managed"
		// (kubectl get managed): https://docs.crossplane.io/latest/managed-resources/managed-resources/
		owns: func(_ string, categories []string) bool { return slices.Contains(categories, "managed") },
		fix: "until the source is retired, let one cluster's providers act: pause them in the other (annotation crossplane.io/paused: \"true\" on each, or its providers at 0 replicas: sync --standby parks them); " +
			"before deleting anything in the cluster you retire, set spec.deletionPolicy: Orphan there (or spec.managementPolicies: [\"Observe\"])"},
	{name: "AWS Controllers for Kubernetes (ACK) resources",
		owns: func(group string, _ []string) bool { return strings.HasSuffix(group, ".services.k8s.aws") },
		// ACK finds an existing resource by what its spec names (a bucket's
		// name) or by the identifier its status records (a VPC's ID, an
		// instance's): https://aws-controllers-k8s.github.io/docs/guides/adoption
		also: "; sync does not copy their status, so a resource AWS identifies by an ID the status recorded (a VPC, a subnet, a security group, an instance) is created a second time by the target's controller",
		fix: "before the target's ACK controllers run, annotate the copies to adopt what exists (services.k8s.aws/adoption-policy: adopt, with services.k8s.aws/adoption-fields naming each resource's identifier), or sync with --standby, which parks them; " +
			"keep the AWS resources when the source's copies go (services.k8s.aws/deletion-policy: retain on them)"},
	{name: "Config Connector resources",
		owns: func(group string, _ []string) bool { return strings.HasSuffix(group, ".cnrm.cloud.google.com") },
		// https://cloud.google.com/config-connector/docs/how-to/managing-deleting-resources
		fix: "let one cluster's Config Connector act until the source is retired (sync --standby parks the target's), and annotate the source's resources cnrm.cloud.google.com/deletion-policy: abandon before deleting anything there"},
	{name: "Azure Service Operator resources",
		owns: func(group string, _ []string) bool { return strings.HasSuffix(group, ".azure.com") },
		// https://azure.github.io/azure-service-operator/guide/annotations/
		fix: "let one cluster's operator act until the source is retired (annotation serviceoperator.azure.com/reconcile-policy: skip in the other, or sync --standby, which parks it), and set that annotation to detach-on-delete on the source's resources before deleting anything there"},
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
