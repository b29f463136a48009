package drain

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// The taint that keeps pods off the retiring nodes: parsed from the flag,
// set with the cordon before anything is evicted, removed by Undo.

// ParseTaint parses key=value:Effect (value may be empty: key:Effect).
func ParseTaint(s string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return corev1.Taint{}, fmt.Errorf("taint %q: want key=value:Effect", s)
	}
	k, v, _ := strings.Cut(kv, "=")
	switch e := corev1.TaintEffect(effect); e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return corev1.Taint{}, fmt.Errorf("taint %q: effect %q: want NoSchedule, PreferNoSchedule or NoExecute", s, effect)
	}
	if k == "" {
		return corev1.Taint{}, fmt.Errorf("taint %q: empty key", s)
	}
	return corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)}, nil
}

// Undo removes opts.Taint from the opts.Nodes and uncordons them, then ends
// the drain's journal: a drain after an undo starts over.
func Undo(ctx context.Context, cs kubernetes.Interface, opts Options) ([]string, error) {
	names, err := SelectNodes(ctx, cs, opts.Nodes)
	if errors.Is(err, cluster.ErrBadInput) {
		names, err = nil, nil // the pool is gone (deleted after its drain): nothing to untaint
	}
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := setTaint(ctx, cs, n, opts.Taint, false); err != nil {
			return nil, err
		}
	}
	opts.endUndone()
	return names, nil
}

// setTaint adds the taint and cordons (on) or removes it and uncordons (off).
func setTaint(ctx context.Context, cs kubernetes.Interface, name string, taint corev1.Taint, on bool) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var taints []corev1.Taint
		has := false
		for _, t := range n.Spec.Taints {
			if t.Key == taint.Key && t.Effect == taint.Effect {
				if !on || t.Value != taint.Value {
					continue
				}
				has = true
			}
			taints = append(taints, t)
		}
		if on && !has {
			taints = append(taints, taint)
		}
		if has == on && n.Spec.Unschedulable == on && len(taints) == len(n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = taints
		n.Spec.Unschedulable = on
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	return nil
}
