package volume

import (
	"context"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/workload"
)

// pollEvery is how often waits look again.
const pollEvery = 250 * time.Millisecond

// getReplicas reads the owner's spec.replicas through the scale subresource.
func getReplicas(ctx context.Context, c *cluster.Conn, o Owner) (int32, error) {
	s, err := getScale(ctx, c, o)
	if err != nil {
		return 0, err
	}
	return s.Spec.Replicas, nil
}

func getScale(ctx context.Context, c *cluster.Conn, o Owner) (*autoscalingv1.Scale, error) {
	apps := c.Typed.AppsV1()
	switch o.Kind {
	case "StatefulSet":
		return apps.StatefulSets(o.Namespace).GetScale(ctx, o.Name, metav1.GetOptions{})
	case "Deployment":
		return apps.Deployments(o.Namespace).GetScale(ctx, o.Name, metav1.GetOptions{})
	}
	return nil, fmt.Errorf("owner %s: kind not supported", o)
}

// setReplicas scales the owner to n (a no-op when it is there already).
func setReplicas(ctx context.Context, c *cluster.Conn, o Owner, n int32) error {
	s, err := getScale(ctx, c, o)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.Context, o, err)
	}
	if s.Spec.Replicas == n {
		return nil
	}
	s.Spec.Replicas = n
	apps := c.Typed.AppsV1()
	switch o.Kind {
	case "StatefulSet":
		_, err = apps.StatefulSets(o.Namespace).UpdateScale(ctx, o.Name, s, metav1.UpdateOptions{})
	case "Deployment":
		_, err = apps.Deployments(o.Namespace).UpdateScale(ctx, o.Name, s, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("%s: scale %s to %d: %w", c.Context, o, n, err)
	}
	return nil
}

// waitUnmounted waits until no pod in w's cluster mounts the claim ns/claim.
func waitUnmounted(ctx context.Context, w *watch, ns, claim string, timeout time.Duration) error {
	pods, err := w.pods(ctx, ns)
	if err != nil {
		return err
	}
	return w.until(ctx, timeout, safetyTick, func() (bool, string, error) {
		pods, err := pods.List(labels.Everything())
		if err != nil {
			return false, "", err
		}
		for _, p := range pods {
			// A finished pod does not count: the kubelet unmounted its
			// volumes (a Job's pod stays until the Job goes).
			if mounts(p, claim) {
				return false, fmt.Sprintf("pod %s/%s still mounts claim %s in %s", ns, p.Name, claim, w.conn.Context), nil
			}
		}
		return true, "", nil
	})
}

// ownerResources are the owner kinds a handoff scales, by resource.
var ownerResources = map[string]schema.GroupVersionResource{
	"StatefulSet": {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"Deployment":  {Group: "apps", Version: "v1", Resource: "deployments"},
}

func getStatus(ctx context.Context, c *cluster.Conn, o Owner) (workload.Status, error) {
	gvr, ok := ownerResources[o.Kind]
	if !ok {
		return workload.Status{}, fmt.Errorf("owner %s: kind not supported", o)
	}
	obj, err := c.Dynamic.Resource(gvr).Namespace(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return workload.Status{}, err
	}
	return workload.StatusOf(obj)
}

// waitOwnerPodsGone waits until the owner's controller has seen the scale to
// 0 and reports no pods.
func waitOwnerPodsGone(ctx context.Context, c *cluster.Conn, o Owner, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string, error) {
		s, err := getStatus(ctx, c, o)
		if err != nil {
			return false, "", err
		}
		return s.Current && s.Pods == 0, fmt.Sprintf("%s in %s still has %d pods", o, c.Context, s.Pods), nil
	})
}

// waitReady waits until the owner's controller has seen the scale and n replicas are ready.
func waitReady(ctx context.Context, c *cluster.Conn, o Owner, n int32, timeout time.Duration) error {
	return poll(ctx, timeout, func() (bool, string, error) {
		s, err := getStatus(ctx, c, o)
		if err != nil {
			return false, "", err
		}
		return s.Current && s.Available >= n, fmt.Sprintf("%s in %s: %d of %d replicas ready", o, c.Context, s.Available, n), nil
	})
}

// poll calls f every pollEvery until it says done, fails, or timeout passes;
// the timeout error carries f's last explanation ("after TIMEOUT: why").
func poll(ctx context.Context, timeout time.Duration, f func() (bool, string, error)) error {
	var why string
	var ferr error
	err := wait.PollUntilContextTimeout(ctx, pollEvery, timeout, true, func(context.Context) (bool, error) {
		var ok bool
		ok, why, ferr = f()
		return ok, ferr
	})
	switch {
	case err == nil || ferr != nil:
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("after %s: %s", timeout, why)
}
