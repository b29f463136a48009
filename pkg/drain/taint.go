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

// CordonedBefore is the annotation a drain puts on a node that was already
// cordoned (by someone else: an operator's maintenance, a node problem
// detector) when the drain tainted it. --undo leaves such a node cordoned and
// removes the annotation: it puts each node back the way the drain found it.
const CordonedBefore = "tandem.io/drain-cordoned-before"

// Undone is what Undo did: the nodes it went over (the taint removed where
// there), those it uncordoned, and those it left cordoned (cordoned before
// the drain, or without its taint).
type Undone struct {
	Nodes        []string
	Uncordoned   []string
	LeftCordoned []string
}

// Undo removes opts.Taint from the opts.Nodes and uncordons those the drain
// cordoned, then ends the drain's journal: a drain after an undo starts over.
func Undo(ctx context.Context, cs kubernetes.Interface, opts Options) (Undone, error) {
	names, err := SelectNodes(ctx, cs, opts.Nodes)
	if errors.Is(err, cluster.ErrBadInput) {
		names, err = nil, nil // the pool is gone (deleted after its drain): nothing to untaint
	}
	if err != nil {
		return Undone{}, err
	}
	u := Undone{Nodes: names}
	for _, n := range names {
		was, now, err := setTaint(ctx, cs, n, opts.Taint, false)
		if err != nil {
			return u, err
		}
		switch {
		case now:
			u.LeftCordoned = append(u.LeftCordoned, n)
		case was:
			u.Uncordoned = append(u.Uncordoned, n)
		}
	}
	opts.endUndone()
	return u, nil
}

// setTaint adds the taint and cordons (on) or removes it and uncordons (off)
// as retaint says, reading and writing the node until no other writer's
// change is in between. It says whether the node was cordoned before and is
// after.
func setTaint(ctx context.Context, cs kubernetes.Interface, name string, taint corev1.Taint, on bool) (was, now bool, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		was = n.Spec.Unschedulable
		changed := retaint(n, taint, on)
		now = n.Spec.Unschedulable
		if !changed {
			return nil
		}
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("node %s: %w", name, err)
	}
	return was, now, nil
}

// retaint changes n as setTaint writes it and says whether it changed. On:
// the taint replaces any of its key and effect, the node is cordoned, and a
// node not yet tainted by a drain is marked CordonedBefore if and only if it
// is cordoned now. Off, on a node with the taint: the taint goes, and the
// node is uncordoned unless it is marked (the mark goes). A node without the
// taint is left as it is, cordon and mark.
func retaint(n *corev1.Node, taint corev1.Taint, on bool) bool {
	var taints []corev1.Taint
	had, has := false, false
	for _, t := range n.Spec.Taints {
		if t.Key == taint.Key && t.Effect == taint.Effect {
			had = true
			if !on || t.Value != taint.Value {
				continue
			}
			has = true
		}
		taints = append(taints, t)
	}
	_, marked := n.Annotations[CordonedBefore]
	changed := len(taints) != len(n.Spec.Taints)
	switch {
	case on:
		if !has {
			taints = append(taints, taint)
			changed = true
		}
		// Not tainted yet: the node's cordon now is the one to give back
		// (a mark left by a drain given up by hand is not).
		if !had && n.Spec.Unschedulable != marked {
			if n.Spec.Unschedulable {
				metav1.SetMetaDataAnnotation(&n.ObjectMeta, CordonedBefore, "true")
			} else {
				delete(n.Annotations, CordonedBefore)
			}
			changed = true
		}
		if !n.Spec.Unschedulable {
			n.Spec.Unschedulable = true
			changed = true
		}
	case !had:
		// Not the drain's taint (another --taint given, or removed by
		// hand): neither the cordon nor the mark is this undo's.
	case marked:
		delete(n.Annotations, CordonedBefore)
		changed = true
	case n.Spec.Unschedulable:
		n.Spec.Unschedulable = false
		changed = true
	}
	n.Spec.Taints = taints
	return changed
}
