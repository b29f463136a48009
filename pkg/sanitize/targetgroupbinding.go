package sanitize

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sanitizeTargetGroupBinding skips an AWS Load Balancer Controller
// TargetGroupBinding: it names an AWS target group (spec.targetGroupARN)
// that the controller fills with the endpoints of a Service of the cluster
// it runs in. Copied, the target's controller would register the target's
// pods in the source's target group: traffic meant for one cluster would
// reach both, and the weights set between two clusters' target groups
// (tandem shift --router albingress, seed 002) would not hold. The target
// has its own: its controller makes one for each Ingress and Service it
// reconciles, and one written by hand (infrastructure as code) names the
// target's own target group.
// https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/targetgroupbinding/targetgroupbinding/
func sanitizeTargetGroupBinding(obj *unstructured.Unstructured, _ Context) Decision {
	tg := "its AWS target group"
	if arn, _, _ := unstructured.NestedString(obj.Object, "spec", "targetGroupARN"); arn != "" {
		tg = "AWS target group " + arn
	}
	return skip(fmt.Sprintf("binds the source's %s: copied, the target's pods would join it; the target needs a target group and TargetGroupBinding of its own", tg))
}
