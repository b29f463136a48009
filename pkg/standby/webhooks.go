package standby

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// FailurePolicyAnnotation keeps, on a webhook configuration in standby
// form, the failurePolicy of each webhook the standby made fail open, as a
// JSON object (webhook name → policy).
const FailurePolicyAnnotation = "tandem.io/failure-policies"

// Webhook configuration kinds the standby changes.
var (
	ValidatingWebhooks = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}
	MutatingWebhooks   = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}

	webhookGVRs = []schema.GroupVersionResource{cluster.ValidatingWebhookConfigurations, cluster.MutatingWebhookConfigurations}
)

func isWebhooks(gk schema.GroupKind) bool { return gk == ValidatingWebhooks || gk == MutatingWebhooks }

// parkWebhooks makes the webhooks of obj whose backend is a Service of a
// parked namespace fail open, in place: that backend runs at 0 replicas in
// a standby, and a webhook that fails closed there would refuse every write
// it matches — the mirror's among them, though each object it copies passed
// the active cluster's admission already. The policies it changes are kept
// in FailurePolicyAnnotation. Webhooks called by URL, or served from a
// namespace the standby does not park (kube-system), are left as they are.
// A configuration already in standby form keeps its recorded policies.
func parkWebhooks(obj *unstructured.Unstructured, parked func(namespace string) bool) sanitize.Decision {
	if _, ok := obj.GetAnnotations()[FailurePolicyAnnotation]; ok {
		return note("standby: webhooks already fail open (" + FailurePolicyAnnotation + " kept)")
	}
	webhooks, _ := obj.Object["webhooks"].([]any)
	orig := map[string]string{}
	for _, w := range webhooks {
		wm, _ := w.(map[string]any)
		ns, _, _ := unstructured.NestedString(wm, "clientConfig", "service", "namespace")
		name, _ := wm["name"].(string)
		if ns == "" || !parked(ns) {
			continue
		}
		policy, _ := wm["failurePolicy"].(string)
		if policy == "Ignore" {
			continue
		}
		if policy == "" {
			policy = "Fail" // admissionregistration/v1's default
		}
		orig[name] = policy
		wm["failurePolicy"] = "Ignore"
	}
	if len(orig) == 0 {
		return sanitize.Decision{}
	}
	b, _ := json.Marshal(orig)
	setAnnotation(obj, FailurePolicyAnnotation, string(b))
	names := make([]string, 0, len(orig))
	for n := range orig {
		names = append(names, n)
	}
	sort.Strings(names)
	return note(fmt.Sprintf("standby: webhooks %s fail open (failurePolicy Ignore; originals kept in %s): their backends run at 0 replicas here",
		strings.Join(names, ", "), FailurePolicyAnnotation))
}

// anyParked is the namespaces a standby made by sync or mirror parks:
// every one but the system namespaces.
func anyParked(ns string) bool { return !plan.SystemNamespace(ns) }

// parkWebhooksPatch is the merge patch that makes obj's webhooks of parked
// namespaces fail open, or nil when none is left to change (or obj carries
// ExemptLabel, as a workload the standby leaves alone does).
func parkWebhooksPatch(obj *unstructured.Unstructured, parked func(string) bool) (map[string]any, string) {
	if _, ok := obj.GetAnnotations()[FailurePolicyAnnotation]; ok || obj.GetLabels()[ExemptLabel] == "true" {
		return nil, "" // already parked, or left alone
	}
	d := obj.DeepCopy()
	t := parkWebhooks(d, parked)
	v, ok := d.GetAnnotations()[FailurePolicyAnnotation]
	if !ok {
		return nil, "" // no webhook of a parked namespace fails closed
	}
	// A merge patch replaces a list whole: the webhooks as they are, but their policies.
	return map[string]any{"metadata": annotations(map[string]any{FailurePolicyAnnotation: v}), "webhooks": d.Object["webhooks"]}, t.Notes[0]
}

// restorePolicies is the merge patch that gives the webhooks of obj that
// pick takes back their recorded failurePolicy, keeping the record of the
// others (and dropping it once none is left), with the names it restored
// and the record it read; nil when obj is not in standby form.
func restorePolicies(obj *unstructured.Unstructured, pick func(name string) bool) (map[string]any, []string, string) {
	v, ok := obj.GetAnnotations()[FailurePolicyAnnotation]
	if !ok {
		return nil, nil, ""
	}
	var orig map[string]string
	if err := json.Unmarshal([]byte(v), &orig); err != nil {
		return nil, nil, ""
	}
	webhooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks") // a copy
	var names []string
	for _, w := range webhooks {
		wm, _ := w.(map[string]any)
		name, _ := wm["name"].(string)
		if p, recorded := orig[name]; recorded && pick(name) {
			wm["failurePolicy"] = p
			delete(orig, name)
			names = append(names, name)
		}
	}
	var rest any // the others' policies, for a later pass
	if len(orig) > 0 {
		b, _ := json.Marshal(orig)
		rest = string(b)
	}
	return map[string]any{"metadata": annotations(map[string]any{FailurePolicyAnnotation: rest}), "webhooks": webhooks}, names, v
}

// restorePodMutatorsPatch restores the webhooks of obj that mutate pods
// (plan.PodMutators) alone: activate does so before the rest, once their
// backends run; the others' policies stay recorded. Nil when it has none
// to restore.
func restorePodMutatorsPatch(obj *unstructured.Unstructured) (map[string]any, string) {
	mutators := plan.PodMutators(obj)
	patch, names, _ := restorePolicies(obj, func(name string) bool {
		return slices.ContainsFunc(mutators, func(m plan.PodMutator) bool { return m.Name == name })
	})
	if len(names) == 0 {
		return nil, ""
	}
	return patch, "failurePolicy restored for " + strings.Join(names, ", ") + " (they mutate pods; their backends run)"
}

// restoreWebhooksPatch is the merge patch that gives obj's webhooks back
// their recorded failurePolicy, or nil when obj is not in standby form.
func restoreWebhooksPatch(obj *unstructured.Unstructured) (map[string]any, string) {
	patch, _, v := restorePolicies(obj, func(string) bool { return true })
	if patch == nil {
		return nil, ""
	}
	// A record of webhooks no longer there goes too.
	patch["metadata"].(map[string]any)["annotations"].(map[string]any)[FailurePolicyAnnotation] = nil
	return patch, "failurePolicy restored " + v
}

// writeWebhooks writes, journaled as steps of run, the patch patchOf gives
// for each admission webhook configuration of c (nil: nothing to write).
func writeWebhooks(ctx context.Context, c *cluster.Conn, run *journal.Run, patchOf func(*unstructured.Unstructured) (map[string]any, string)) ([]Change, error) {
	var changes []Change
	for _, gvr := range webhookGVRs {
		list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return changes, fmt.Errorf("list %s: %w", gvr.Resource, err)
		}
		for i := range list.Items {
			obj := &list.Items[i]
			// The patch replaces the webhooks list whole (a merge patch
			// cannot reach into it): only over the version it was made
			// from, so that a caBundle a cainjector wrote meanwhile is not
			// undone; on a conflict it is made again from the fresh copy.
			var ch *Change
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				patch, what := patchOf(obj)
				if patch == nil {
					return nil
				}
				patch["metadata"].(map[string]any)["resourceVersion"] = obj.GetResourceVersion()
				var err error
				switch ch, err = write(ctx, c, gvr, obj, patch, what, run, nil); {
				case apierrors.IsNotFound(err):
					return nil // deleted meanwhile: nothing to park or restore
				case apierrors.IsConflict(err):
					fresh, gerr := c.Dynamic.Resource(gvr).Get(ctx, obj.GetName(), metav1.GetOptions{})
					if apierrors.IsNotFound(gerr) {
						return nil
					}
					if gerr != nil {
						return gerr
					}
					obj = fresh
				}
				return err
			})
			if err != nil {
				return changes, err
			}
			if ch != nil {
				changes = append(changes, *ch)
			}
		}
	}
	return changes, nil
}
