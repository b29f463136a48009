package drain

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
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

// The annotations a drain puts on each node it taints, so that --undo puts
// the node back the way the drain found it. Tainted names the drain's taint
// (key:Effect): a taint of that key and effect on a node without it is
// someone else's, and no undo removes it. TaintedBefore holds the value of
// a taint of the same key and effect the node had before the drain (a
// maintenance taint of the same name): --undo gives it back instead of
// removing it. CordonedBefore marks a node that was already cordoned (an
// operator's maintenance, a node problem detector): --undo leaves it
// cordoned. The undo removes all three.
const (
	Tainted        = "tandem.io/drain-tainted"
	TaintedBefore  = "tandem.io/drain-tainted-before"
	CordonedBefore = "tandem.io/drain-cordoned-before"
)

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

// retaint changes n as setTaint writes it and says whether it changed.
//
// On: the taint replaces any of its key and effect and the node is
// cordoned; the first time (the node not marked Tainted with this taint,
// or marked but without it: a drain given up by hand), what the node was
// is recorded — a taint of the same key and effect (TaintedBefore), the
// cordon (CordonedBefore) — and the node marked Tainted.
//
// Off, on a node marked Tainted with the taint and having it: the taint
// goes, or is given its value before the drain back; the node is
// uncordoned unless it was cordoned before; the marks go. Any other node is
// left as it is (a mistyped --taint, a taint someone else set).
func retaint(n *corev1.Node, taint corev1.Taint, on bool) bool {
	id := taint.Key + ":" + string(taint.Effect)
	orig := n.DeepCopy()
	var cur *corev1.Taint
	for i := range n.Spec.Taints {
		if t := n.Spec.Taints[i]; t.Key == taint.Key && t.Effect == taint.Effect {
			cur = &t
			break
		}
	}
	ours := cur != nil && n.Annotations[Tainted] == id
	// set puts t (nil: none) in place of the taints of the drain's key and effect.
	set := func(t *corev1.Taint) {
		var taints []corev1.Taint
		placed := false
		for _, old := range n.Spec.Taints {
			if old.Key != taint.Key || old.Effect != taint.Effect {
				taints = append(taints, old)
				continue
			}
			if t != nil && !placed {
				if old.Value != t.Value {
					old = *t
				}
				taints = append(taints, old)
				placed = true
			}
		}
		if t != nil && !placed {
			taints = append(taints, *t)
		}
		n.Spec.Taints = taints
	}
	switch {
	case on:
		if !ours {
			metav1.SetMetaDataAnnotation(&n.ObjectMeta, Tainted, id)
			delete(n.Annotations, TaintedBefore)
			delete(n.Annotations, CordonedBefore)
			if cur != nil {
				metav1.SetMetaDataAnnotation(&n.ObjectMeta, TaintedBefore, cur.Value)
			}
			if n.Spec.Unschedulable {
				metav1.SetMetaDataAnnotation(&n.ObjectMeta, CordonedBefore, "true")
			}
		}
		set(&taint)
		n.Spec.Unschedulable = true
	case ours:
		if before, had := n.Annotations[TaintedBefore]; had {
			set(&corev1.Taint{Key: taint.Key, Value: before, Effect: taint.Effect})
		} else {
			set(nil)
		}
		if _, cordoned := n.Annotations[CordonedBefore]; !cordoned {
			n.Spec.Unschedulable = false
		}
		for _, a := range []string{Tainted, TaintedBefore, CordonedBefore} {
			delete(n.Annotations, a)
		}
	}
	return !equality.Semantic.DeepEqual(orig.Spec, n.Spec) || !maps.Equal(orig.Annotations, n.Annotations)
}
