package seed

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/workload"
)

var (
	deploymentResource  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	statefulSetResource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	pvcResource         = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}
)

// readiness is one object WaitReady waits for.
type readiness struct {
	what      string // "Kind namespace/name"
	resource  schema.GroupVersionResource
	namespace string
	name      string
	ready     func(*unstructured.Unstructured) (bool, string)
}

// WaitReady waits (bounded by ctx) until every seeded Deployment and StatefulSet is ready (workload.Status.Ready) and every seeded PVC is Bound.
func WaitReady(ctx context.Context, conn *cluster.Conn) error {
	objs, err := Objects()
	if err != nil {
		return err
	}
	pending := readinessChecks(objs)
	status := map[string]string{}
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		var still []readiness
		for _, r := range pending {
			live, err := conn.Dynamic.Resource(r.resource).Namespace(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				status[r.what] = "not found"
			case err != nil:
				status[r.what] = err.Error()
			default:
				ok, msg := r.ready(live)
				if ok {
					delete(status, r.what)
					continue
				}
				status[r.what] = msg
			}
			still = append(still, r)
		}
		pending = still
		return len(pending) == 0, nil
	})
	if err != nil {
		var lines []string
		for what, msg := range status {
			lines = append(lines, what+": "+msg)
		}
		sort.Strings(lines)
		return fmt.Errorf("seeded objects not ready: %s: %w", strings.Join(lines, "; "), err)
	}
	return nil
}

// readinessChecks lists what WaitReady waits for: the seeded Deployments and
// StatefulSets, and the claims the StatefulSets' volumeClaimTemplates and any
// seeded PVCs stand for.
func readinessChecks(objs []*unstructured.Unstructured) []readiness {
	var out []readiness
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		ns, name := obj.GetNamespace(), obj.GetName()
		switch {
		case gvk.Group == "apps" && gvk.Kind == "Deployment":
			out = append(out, readiness{describe(obj), deploymentResource, ns, name, replicasReady})
		case gvk.Group == "apps" && gvk.Kind == "StatefulSet":
			out = append(out, readiness{describe(obj), statefulSetResource, ns, name, replicasReady})
			replicas := specReplicas(obj)
			templates, _, _ := unstructured.NestedSlice(obj.Object, "spec", "volumeClaimTemplates")
			for _, t := range templates {
				tmpl, _ := t.(map[string]interface{})
				tname, _, _ := unstructured.NestedString(tmpl, "metadata", "name")
				for i := int64(0); i < replicas; i++ {
					claim := fmt.Sprintf("%s-%s-%d", tname, name, i)
					out = append(out, readiness{fmt.Sprintf("PersistentVolumeClaim %s/%s", ns, claim), pvcResource, ns, claim, claimBound})
				}
			}
		case gvk.Group == "" && gvk.Kind == "PersistentVolumeClaim":
			out = append(out, readiness{describe(obj), pvcResource, ns, name, claimBound})
		}
	}
	return out
}

// specReplicas is spec.replicas, 1 when unset as the apiserver defaults it.
func specReplicas(obj *unstructured.Unstructured) int64 {
	n, found, err := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if !found || err != nil {
		return 1
	}
	return n
}

// replicasReady holds when the controller has seen the latest spec and all of
// the wanted replicas are available at the latest template.
func replicasReady(live *unstructured.Unstructured) (bool, string) {
	s, err := workload.StatusOf(live)
	switch {
	case err != nil:
		return false, err.Error()
	case !s.Current:
		return false, fmt.Sprintf("generation %d not observed yet", live.GetGeneration())
	case !s.Ready():
		return false, fmt.Sprintf("%d/%d ready, %d updated", s.Available, s.Desired, s.Updated)
	}
	return true, ""
}

func claimBound(live *unstructured.Unstructured) (bool, string) {
	phase, _, _ := unstructured.NestedString(live.Object, "status", "phase")
	if phase != "Bound" {
		return false, fmt.Sprintf("phase %q", phase)
	}
	return true, ""
}
