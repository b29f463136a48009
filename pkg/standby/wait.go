package standby

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// restoredRef is a workload Activate restored, to wait for.
type restoredRef struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

// waitAvailable polls the restored workloads until each is available,
// reporting counts, bounded by o.Timeout.
func waitAvailable(ctx context.Context, c *cluster.Conn, refs []restoredRef, o Options) error {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		var waiting []string
		for _, r := range refs {
			obj, err := c.Dynamic.Resource(r.gvr).Namespace(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
			if err != nil {
				waiting = append(waiting, fmt.Sprintf("%s/%s: %v", r.namespace, r.name, err))
				continue
			}
			if !available(obj) {
				waiting = append(waiting, obj.GetKind()+" "+r.namespace+"/"+r.name)
			}
		}
		if n := len(refs) - len(waiting); n != last && o.Progress != nil {
			o.Progress(n, len(refs))
			last = n
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(waiting)
			return fmt.Errorf("%d of %d workloads not available after %s: %s", len(waiting), len(refs), timeout, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// available reports whether a workload's controller has caught up and all its pods are available.
func available(obj *unstructured.Unstructured) bool {
	gen := obj.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	if observed < gen {
		return false
	}
	st := func(f string) int64 { n, _, _ := unstructured.NestedInt64(obj.Object, "status", f); return n }
	if obj.GetKind() == "DaemonSet" {
		return st("numberAvailable") >= st("desiredNumberScheduled") && st("updatedNumberScheduled") >= st("desiredNumberScheduled")
	}
	want, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	ready := st("availableReplicas")
	if obj.GetKind() == "StatefulSet" && st("readyReplicas") > ready {
		ready = st("readyReplicas") // availableReplicas is absent before 1.25
	}
	return ready >= want
}
