package preflight

import (
	"strings"
	"testing"
)

// Custom resources a controller turns into cloud resources are a warning
// per controller, counted by kind; CRDs without copied objects, and other
// operators' kinds, are not.
func TestCloudResourcesBothClustersWouldManage(t *testing.T) {
	crd := func(group, kind string, categories ...any) map[string]any {
		names := map[string]any{"kind": kind, "plural": strings.ToLower(kind) + "s"}
		if len(categories) > 0 {
			names["categories"] = categories
		}
		return map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": meta(strings.ToLower(kind)+"s."+group, "", nil, nil), "spec": map[string]any{"group": group, "names": names}}
	}
	cr := func(apiVersion, kind, name string) map[string]any {
		return map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta(name, "infra", nil, nil), "spec": map[string]any{}}
	}
	env := envOf(
		crd("s3.aws.upbound.io", "Bucket", "crossplane", "managed", "aws"),
		crd("rds.aws.upbound.io", "Instance", "crossplane", "managed", "aws"),
		crd("ec2.services.k8s.aws", "VPC"),
		crd("storage.cnrm.cloud.google.com", "StorageBucket"),
		crd("platform.example.org", "XDatabase", "composite"),
		crd("core.cnrm.cloud.google.com", "ConfigConnectorContext"),      // Config Connector's own settings
		crd("approuting.kubernetes.azure.com", "NginxIngressController"), // an AKS add-on's
		crd("example.com", "Widget", "all"),                              // another operator's
		crd("sqs.services.k8s.aws", "Queue"),                             // no objects
		cr("s3.aws.upbound.io/v1beta1", "Bucket", "logs"),
		cr("s3.aws.upbound.io/v1beta1", "Bucket", "assets"),
		cr("rds.aws.upbound.io/v1beta1", "Instance", "db"),
		cr("ec2.services.k8s.aws/v1alpha1", "VPC", "main"),
		cr("example.com/v1", "Widget", "w"),
		cr("platform.example.org/v1", "XDatabase", "orders"),
		cr("core.cnrm.cloud.google.com/v1beta1", "ConfigConnectorContext", "configconnectorcontext.core.cnrm.cloud.google.com"),
		cr("approuting.kubernetes.azure.com/v1alpha1", "NginxIngressController", "default"),
	)
	fs := cloudResources(env)
	if len(fs) != 3 {
		t.Fatalf("findings %+v: want Crossplane's managed and composite resources and ACK's", fs)
	}
	if f := fs[0]; f.Severity != Warning || f.Object != "Crossplane managed resources" ||
		!strings.Contains(f.Message, "3 to copy (Bucket.s3.aws.upbound.io: 2, Instance.rds.aws.upbound.io: 1)") ||
		!strings.Contains(f.Message, "deletes it in the cloud") || !strings.Contains(f.Fix, "crossplane.io/paused") || !strings.Contains(f.Fix, "deletionPolicy: Orphan") {
		t.Errorf("Crossplane: %+v", f)
	}
	if f := fs[1]; f.Object != "Crossplane composite resources and claims" || !strings.Contains(f.Message, "XDatabase.platform.example.org: 1") ||
		!strings.Contains(f.Message, "create a second one") {
		t.Errorf("Crossplane composites: %+v", f)
	}
	if f := fs[2]; f.Severity != Warning || f.Object != "AWS Controllers for Kubernetes (ACK) resources" ||
		!strings.Contains(f.Message, "1 to copy (VPC.ec2.services.k8s.aws: 1)") || !strings.Contains(f.Message, "created a second time") ||
		!strings.Contains(f.Fix, "services.k8s.aws/adoption-policy") {
		t.Errorf("ACK: %+v", f)
	}
}
