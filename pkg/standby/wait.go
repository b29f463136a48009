package standby

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
	last := -1
	var waiting []string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		waiting = waiting[:0]
		for _, r := range refs {
			obj, err := c.Dynamic.Resource(r.gvr).Namespace(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue // deleted meanwhile (its namespace going away): nothing left to run
			}
			if err == nil && obj.GetDeletionTimestamp() != nil {
				continue
			}
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
		return len(waiting) == 0, nil
	})
	if err != nil && ctx.Err() == nil {
		sort.Strings(waiting)
		return fmt.Errorf("%d of %d workloads not available after %s: %s", len(waiting), len(refs), timeout, strings.Join(waiting, ", "))
	}
	return err
}

// available reports whether a workload's controller has caught up and all its pods are available.
func available(obj *unstructured.Unstructured) bool {
	s, err := workload.StatusOf(obj)
	return err == nil && s.Ready()
}
