package standby

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/plan"
)

var (
	gvrDeployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	gvrStatefulSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	gvrReplicaSets  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	gvrDaemonSets   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	gvrCronJobs     = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	gvrJobs         = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	workloadGVRs    = []schema.GroupVersionResource{gvrDeployments, gvrStatefulSets, gvrReplicaSets, gvrDaemonSets, gvrCronJobs, gvrJobs}
)

// Options tune a switch; nil callbacks are skipped.
type Options struct {
	// JournalPath is where the switch is journaled (see JournalPath): an
	// intent before and a done after each object, so that one can tell where
	// an interrupted switch stopped. A switch run again looks at every object
	// as it is now (its annotations are the truth), never skips one the
	// journal calls done. "" journals nothing.
	JournalPath string
	// Resuming is told of the interrupted switch being resumed (its id and
	// how many objects it did) before anything is written.
	Resuming func(run string, done int)
	// Progress is called while waiting: workloads available so far of total.
	Progress func(available, total int)
	// Timeout bounds the wait for workloads to be available (Activate) and for the policy to be enforced.
	Timeout time.Duration
	// Warn is told of what the switch cannot hold (a custom kind whose
	// replicas are not at spec.replicas).
	Warn func(string)
}

// workloads are the resources a switch goes through: the built-in ones and
// the custom kinds with a /scale subresource that c serves.
func (o Options) workloads(ctx context.Context, c *cluster.Conn) ([]schema.GroupVersionResource, ScaleKinds, error) {
	kinds, err := discoverScaleKinds(ctx, c, o.Warn)
	if err != nil {
		return nil, nil, err
	}
	return append(slices.Clone(workloadGVRs), kinds.resources()...), kinds, nil
}

// Change is one object a switch wrote.
type Change struct {
	Kind, Namespace, Name, What string
}

// Key names an object in the journal.
func Key(kind, ns, name string) string { return kind + " " + ns + "/" + name }

// Deactivate parks every workload of the namespaces (all non-system ones when
// empty): records the active form in annotations, scales to 0, suspends,
// parks; labels the namespaces and installs the policy (holding only the
// labelled namespaces when some are named, every one but the system and
// exempt ones otherwise), then parks what started meanwhile. It returns the
// policy kind. With o.JournalPath each object is journaled and an interrupted
// deactivate resumes.
func Deactivate(ctx context.Context, c *cluster.Conn, namespaces []string, o Options) ([]Change, string, error) {
	kind, _, err := ChoosePolicy(c)
	if err != nil {
		return nil, "", err
	}
	// Named namespaces are checked before anything is written: one that is
	// not there, or that its label keeps out of the standby, is refused.
	for _, ns := range namespaces {
		n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil, "", fmt.Errorf("%w: namespace %s not found in %s", ErrNamespace, ns, c.Context)
		case err != nil:
			return nil, "", err
		case n.Labels[ExemptLabel] == "true":
			return nil, "", fmt.Errorf("%w: namespace %s is labelled %s=true: its workloads run in the standby; remove the label to park it", ErrNamespace, ns, ExemptLabel)
		case plan.SystemNamespace(ns) || ns == MarkerNamespace:
			return nil, "", fmt.Errorf("%w: namespace %s is the cluster's own: it is never parked", ErrNamespace, ns)
		}
	}
	run, err := o.begin(c)
	if err != nil {
		return nil, "", err
	}
	if run != nil {
		defer run.Close()
	}
	// The marker first: an interrupted deactivate can still be undone by activate.
	if err := Mark(ctx, c, kind); err != nil {
		return nil, "", err
	}
	gvrs, kinds, err := o.workloads(ctx, c)
	if err != nil {
		return nil, "", err
	}
	// Named namespaces: the policy holds the labelled ones only, and the
	// others stay active — unless the cluster is held whole already.
	onlyLabelled := len(namespaces) > 0
	if onlyLabelled {
		whole, err := heldWhole(ctx, c)
		if err != nil {
			return nil, "", err
		}
		onlyLabelled = !whole
	}
	if len(namespaces) == 0 {
		list, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, "", err
		}
		for _, n := range list.Items {
			if !plan.SystemNamespace(n.Name) && n.Name != MarkerNamespace && n.Labels[ExemptLabel] != "true" {
				namespaces = append(namespaces, n.Name)
			}
		}
	}
	// Webhooks served from these namespaces fail open before their backends go to 0.
	parked := func(ns string) bool { return slices.Contains(namespaces, ns) }
	changes, err := writeWebhooks(ctx, c, run, func(obj *unstructured.Unstructured) (map[string]any, string) { return parkWebhooksPatch(obj, parked) })
	if err != nil {
		return changes, "", err
	}
	// Aggregated APIs they serve are held back before their backends go to
	// 0: the cluster's discovery never fails on them (held.go).
	held, err := holdParkedAPIs(ctx, c, parked)
	changes = append(changes, held...)
	if err != nil {
		return changes, "", err
	}
	park := func(ns string, gvrs []schema.GroupVersionResource) error {
		for _, gvr := range gvrs {
			list, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("list %s in %s: %w", gvr.Resource, ns, err)
			}
			for i := range list.Items {
				obj := &list.Items[i]
				if parkedThroughOwner(obj) || obj.GetLabels()[ExemptLabel] == "true" {
					continue
				}
				patch, what := parkPatch(obj, kinds)
				if patch == nil {
					continue
				}
				ch, err := write(ctx, c, gvr, obj, patch, what, run, nil)
				if err != nil {
					return err
				}
				if ch != nil {
					changes = append(changes, *ch)
				}
			}
		}
		return nil
	}
	// Parked before the policy is in force: the workloads' controllers
	// (a Deployment's scaling its ReplicaSet, with an annotation update
	// first) write them freely on their way to 0.
	for _, ns := range namespaces {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"true"}}}`, NamespaceLabel)
		if _, err := c.Typed.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: plan.FieldManager}); err != nil {
			return changes, kind, fmt.Errorf("label namespace %s: %w", ns, err)
		}
		if err := park(ns, gvrs); err != nil {
			return changes, kind, err
		}
	}
	if _, err := install(ctx, c, o.Timeout, kinds, onlyLabelled, o.Warn); err != nil { // the kinds found above, not discovered again
		return changes, kind, err
	}
	// What was started or scaled up between its namespace's pass and the
	// policy runs on, and no later write brings it under the policy: a Job a
	// CronJob had already fired, a Deployment a GitOps tool outside the
	// cluster synced back. Parked now (a level-based pass: what is parked is
	// left alone); from here on the policy holds every write.
	for _, ns := range namespaces {
		if err := park(ns, gvrs); err != nil {
			return changes, kind, err
		}
	}
	return changes, kind, end(run)
}

// parkedThroughOwner says whether deactivate leaves obj to its controller:
// a Deployment's ReplicaSet, which kube-controller-manager (never parked)
// scales down with the Deployment. Whatever else a controller owns is parked
// by itself: an operator's StatefulSet, an Argo Rollout's ReplicaSet, a
// CronJob's Job. Their controllers are parked too, and would never write them
// again for the policy to hold.
func parkedThroughOwner(obj *unstructured.Unstructured) bool {
	c := metav1.GetControllerOfNoCopy(obj)
	return c != nil && c.Kind == "Deployment" && strings.HasPrefix(c.APIVersion, "apps/")
}

// Activate removes the policy and restores every parked workload of the
// cluster exactly from its annotations, then waits until they are available.
// With o.JournalPath each object is journaled and an interrupted activate
// resumes; on a cluster that is not standby the run ends at once, as an
// interrupted activate has nothing left to do there.
func Activate(ctx context.Context, c *cluster.Conn, o Options) ([]Change, error) {
	run, err := o.begin(c)
	if err != nil {
		return nil, err
	}
	if run != nil {
		defer run.Close()
	}
	ok, err := IsStandby(ctx, c)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Not standby, but holding APIServices back (a mirror in standby
		// form into it after it was activated by hand): written back.
		held, err := release(ctx, c)
		if err != nil {
			return held, err
		}
		if err := end(run); err != nil {
			return nil, err
		}
		if len(held) > 0 {
			return held, nil
		}
		return nil, fmt.Errorf("%w: %s is not standby (no ConfigMap %s/%s): nothing to activate", ErrNotStandby, c.Context, MarkerNamespace, MarkerName)
	}
	gvrs, kinds, err := o.workloads(ctx, c)
	if err != nil {
		return nil, err
	}
	// The policy goes first, or it would put the restored replicas back to 0.
	if err := Remove(ctx, c); err != nil {
		return nil, err
	}
	var changes []Change
	// One bound for the whole activate, however many waits it has.
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	left := func() Options {
		lo := o
		lo.Timeout = max(time.Until(deadline), time.Second)
		return lo
	}
	// restore brings back what deactivate parked among the objects pick
	// takes, and says which workloads to wait for: those it restored, and
	// with all, every workload pick takes (a re-run waits for what an
	// earlier run restored).
	restore := func(pick func(*unstructured.Unstructured) bool, all bool) ([]restoredRef, error) {
		var restored []restoredRef
		for _, gvr := range gvrs {
			list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				return restored, fmt.Errorf("list %s: %w", gvr.Resource, err)
			}
			for i := range list.Items {
				obj := &list.Items[i]
				if !pick(obj) || restoredThroughOwner(obj, kinds) {
					continue
				}
				// A Job finishes: it is not waited for; a custom kind's status is its own: neither.
				waited := slices.Contains(workloadGVRs, gvr) && gvr != gvrCronJobs && gvr != gvrJobs
				patch, what, check := restorePatch(obj, kinds)
				if patch == nil {
					if all && waited {
						restored = append(restored, restoredRef{gvr, obj.GetNamespace(), obj.GetName()})
					}
					continue
				}
				if gvr == gvrCronJobs && unsuspends(patch) {
					if err := fromNow(ctx, c, obj); err != nil {
						return restored, err
					}
				}
				ch, err := write(ctx, c, gvr, obj, patch, what, run, check)
				if err != nil {
					return restored, err
				}
				if ch != nil {
					changes = append(changes, *ch)
				}
				if waited {
					restored = append(restored, restoredRef{gvr, obj.GetNamespace(), obj.GetName()})
				}
			}
		}
		return restored, nil
	}
	// The backends of the webhooks that mutate pods as they are created
	// (a mesh's sidecar injector) come back first, and those webhooks fail
	// closed again, before any other workload starts a pod: a pod made
	// while its injector is not up, the webhook failing open as the
	// standby left it, would run without its sidecar.
	injectors, err := injectorBackends(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(injectors) > 0 {
		first, err := restore(injectors.back, true)
		if err != nil {
			return changes, err
		}
		if err := waitAvailable(ctx, c, first, left()); err != nil {
			return changes, fmt.Errorf("the backends of the webhooks that mutate pods (Services %s) come first, so that the pods of the others get what they add; no other workload was started, and the standby policy is off: make them run and activate again, or deactivate to park them again: %w",
				strings.Join(injectors.names(), ", "), err)
		}
		more, err := writeWebhooks(ctx, c, run, restorePodMutatorsPatch)
		changes = append(changes, more...)
		if err != nil {
			return changes, err
		}
	}
	restored, err := restore(func(*unstructured.Unstructured) bool { return true }, false)
	if err != nil {
		return changes, err
	}
	nss, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: NamespaceLabel})
	if err != nil {
		return changes, err
	}
	for _, n := range nss.Items {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, NamespaceLabel)
		if _, err := c.Typed.CoreV1().Namespaces().Patch(ctx, n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: plan.FieldManager}); err != nil {
			return changes, fmt.Errorf("unlabel namespace %s: %w", n.Name, err)
		}
	}
	if err := waitAvailable(ctx, c, restored, left()); err != nil {
		return changes, err
	}
	// Webhooks fail closed again once their backends are available.
	more, err := writeWebhooks(ctx, c, run, restoreWebhooksPatch)
	changes = append(changes, more...)
	if err != nil {
		return changes, err
	}
	// And the aggregated APIs they serve are back.
	more, err = release(ctx, c)
	changes = append(changes, more...)
	if err != nil {
		return changes, err
	}
	if err := Unmark(ctx, c); err != nil {
		return changes, err
	}
	return changes, end(run)
}

// unsuspends says whether a restore patch sets spec.suspend to false.
func unsuspends(patch map[string]any) bool {
	spec, _ := patch["spec"].(map[string]any)
	s, ok := spec["suspend"].(bool)
	return ok && !s
}

// fromNow sets a parked CronJob's status.lastScheduleTime to now, before it
// is unsuspended: the CronJob controller would otherwise start at once the
// latest run it missed while suspended ("When .spec.suspend changes from true
// to false on an existing CronJob without a starting deadline, the missed
// Jobs are scheduled immediately", kubernetes.io/docs/concepts/workloads/
// controllers/cron-jobs/#schedule-suspension). The runs of the time the
// cluster was standby were the active cluster's to make: at a switchover
// each would run twice. The CronJob runs again at its next scheduled time.
func fromNow(ctx context.Context, c *cluster.Conn, obj *unstructured.Unstructured) error {
	patch := fmt.Appendf(nil, `{"status":{"lastScheduleTime":%q}}`, metav1.Now().UTC().Format(time.RFC3339))
	_, err := c.Dynamic.Resource(gvrCronJobs).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: plan.FieldManager}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: CronJob %s/%s: start its schedule from now: %w", c.Context, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// write patches one object, journaled as a step of run (nil: none). It is
// level-based: the caller computed patch from the object as it is now, so
// the write happens even when an earlier run of the journal did this step —
// the annotations are the truth, the journal only says where a run stopped
// (a later deactivate may have parked again what a failed activate restored).
// check (may be nil) verifies the result and the write is retried while it
// fails (an admission policy just removed can still be cached for a moment).
func write(ctx context.Context, c *cluster.Conn, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, patch map[string]any, what string, run *journal.Run, check func(*unstructured.Unstructured) bool) (*Change, error) {
	key := Key(obj.GetKind(), obj.GetNamespace(), obj.GetName())
	if run != nil {
		if err := run.Intent(key, nil); err != nil {
			return nil, err
		}
	}
	if err := patchUntil(ctx, c, gvr, obj, key, patch, check); err != nil {
		if run != nil {
			_ = run.Failed(key, err.Error())
		}
		return nil, err
	}
	if run != nil {
		if err := run.MarkDone(key, nil); err != nil {
			return nil, err
		}
	}
	return &Change{Kind: obj.GetKind(), Namespace: obj.GetNamespace(), Name: obj.GetName(), What: what}, nil
}

// patchUntil merge-patches obj until check (may be nil) accepts the result, for 30 s at most.
func patchUntil(ctx context.Context, c *cluster.Conn, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, key string, patch map[string]any, check func(*unstructured.Unstructured) bool) error {
	b, _ := json.Marshal(patch)
	var last error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := c.Dynamic.Resource(gvr).Namespace(obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, b, metav1.PatchOptions{FieldManager: plan.FieldManager})
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), Message) {
			last = err // our own validating policy, just removed, still cached by the apiserver
			return false, nil
		}
		if err != nil {
			return false, err
		}
		last = errChangedBack
		return check == nil || check(got), nil
	})
	if err != nil && wait.Interrupted(err) && last != nil && ctx.Err() == nil {
		err = last
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

var errChangedBack = errors.New("written but changed back by admission (is another standby policy installed?)")

// restoredThroughOwner says whether obj is restored through the controller
// that owns it, not by itself: its owner is a kind activate scales back
// (a Deployment's ReplicaSet, an Argo Rollout's). The Deployment controller
// copies the Deployment's annotations to its newest ReplicaSet,
// tandem.io/replicas among them, and never removes them; after a rollout
// in standby (a mirrored image change) every older ReplicaSet carries a
// count too, and restoring those would start the old version's pods in the
// cluster going active until the controller scaled them down again.
// What another controller owns (an operator's StatefulSet that the standby
// policy held at 0) is restored by itself.
func restoredThroughOwner(obj *unstructured.Unstructured, kinds ScaleKinds) bool {
	c := metav1.GetControllerOfNoCopy(obj)
	if c == nil {
		return false
	}
	gv, err := schema.ParseGroupVersion(c.APIVersion)
	return err == nil && kinds.Scaled(schema.GroupKind{Group: gv.Group, Kind: c.Kind})
}
