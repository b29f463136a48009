package switchover

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// Check says, before a fresh switchover changes anything, whether it makes
// sense: to is standby, from (nil when unreachable) is not, to has a Ready
// node, and every route of the router has both clusters under their names.
// It returns the router's weights now. Problems wrap cluster.ErrBadInput.
func Check(ctx context.Context, from *cluster.Conn, fromName string, to *cluster.Conn, r traffic.Router) (traffic.Weights, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", cluster.ErrBadInput, fmt.Sprintf(format, args...))
	}
	sb, err := standby.IsStandby(ctx, to)
	if err != nil {
		return nil, err
	}
	if !sb {
		return nil, bad("%s is not standby (no %s/%s marker): nothing to switch over to; make it one with tandem sync --standby or tandem deactivate", to.Context, standby.MarkerNamespace, standby.MarkerName)
	}
	if from != nil {
		if sb, err := standby.IsStandby(ctx, from); err != nil {
			return nil, err
		} else if sb {
			return nil, bad("%s is standby too: no active cluster to switch over from", fromName)
		}
	}
	if n, err := readyNodes(ctx, to); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, fmt.Errorf("%s has no Ready node: its workloads could not start", to.Context)
	}
	w, err := r.Observe(ctx)
	if err != nil {
		return nil, bad("router: %v", err)
	}
	for _, route := range w.Routes() {
		for _, c := range []string{fromName, to.Context} {
			if _, ok := w[route][c]; !ok {
				return nil, bad("route %q of the router has no cluster %q (it has %s): router cluster names must be the cluster names", route, c, w.String())
			}
		}
	}
	return w, nil
}

func readyNodes(ctx context.Context, c *cluster.Conn) (int, error) {
	nodes, err := c.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list nodes of %s: %w", c.Context, err)
	}
	n := 0
	for _, node := range nodes.Items {
		for _, cond := range node.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				n++
			}
		}
	}
	return n, nil
}
