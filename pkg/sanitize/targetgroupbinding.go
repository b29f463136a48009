package sanitize

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeTargetGroupBinding skips an AWS Load Balancer Controller
// TargetGroupBinding: it names an AWS target group (spec.targetGroupARN,
// or spec.targetGroupName) that the controller fills with the endpoints of
// a Service of the cluster it runs in, and from which it removes every
// other target. Copied, the target's controller would register the
// target's pods there and deregister the source's, and the source's the
// reverse: traffic meant for one cluster would reach either, and the
// weights set between two clusters' target groups (tandem shift --router
// albingress, seed 002) would not hold. A binding marked
// multiClusterTargetGroup shares its group on purpose, each cluster
// keeping its own targets: a copy would put the target's pods in the
// source's traffic at once, before anyone chose to. Either way the target
// gets bindings of its own: its controller makes one for each Ingress and
// Service it reconciles, and one written by hand (infrastructure as code)
// names the target's own target group, or the shared one once the target
// is ready to serve.
// https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/targetgroupbinding/targetgroupbinding/
// https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/use_cases/multi_cluster/
func sanitizeTargetGroupBinding(obj *unstructured.Unstructured, _ Context) Decision {
	tg := TargetGroupOf(obj)
	if shared, _, _ := unstructured.NestedBool(obj.Object, "spec", "multiClusterTargetGroup"); shared {
		return skipIntent(fmt.Sprintf("binds the source's %s, shared between clusters: copied, the target's pods would take part of its traffic at once; bind the target when it is ready to serve", tg))
	}
	return skipIntent(fmt.Sprintf("binds the source's %s: copied, the target's pods would join it and each cluster's controller would deregister the other's; the target needs a target group and TargetGroupBinding of its own", tg))
}

// TargetGroupOf names the AWS target group a TargetGroupBinding binds, by
// its ARN or its name.
func TargetGroupOf(obj *unstructured.Unstructured) string {
	if arn, _, _ := unstructured.NestedString(obj.Object, "spec", "targetGroupARN"); arn != "" {
		return "AWS target group " + arn
	}
	if name, _, _ := unstructured.NestedString(obj.Object, "spec", "targetGroupName"); name != "" {
		return "AWS target group named " + name
	}
	return "AWS target group"
}
