package standby

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// probeNamespaces bounds the covered namespaces waitEnforced looks in for
// a Deployment to probe with.
const probeNamespaces = 20

// waitEnforced waits until the apiserver enforces the policy (of kind) just
// installed — it reads policies from a cache — probing it with a dry run
// that raises a Deployment's replicas: an existing Deployment of a covered
// namespace when there is one (the cluster's other admission checks let it
// in already), a new one of 1 replica otherwise. Enforced is a refusal with
// the policy's Message, or (mutating) the answer at 0 replicas.
//
// A refusal by another admission check says nothing of the policy, with
// one exception: a validating webhook. The apiserver runs its admission
// policies before its validating webhooks (kube-apiserver's admission
// order: … MutatingAdmissionWebhook, ValidatingAdmissionPolicy,
// ValidatingAdmissionWebhook …), so with a validating policy enforced the
// webhook would not have been asked: the probe goes on. When the answer
// cannot be seen, warn (may be nil) is told.
func waitEnforced(ctx context.Context, c *cluster.Conn, timeout time.Duration, kind string, warn func(string)) error {
	nss, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: NamespaceLabel + "=true," + ExemptLabel + "!=true"})
	if err != nil || len(nss.Items) == 0 {
		return err // nothing covered yet: nothing to probe
	}
	var covered []string
	for _, n := range nss.Items {
		// Not one being deleted: a create there is refused whatever the policy.
		if !plan.SystemNamespace(n.Name) && n.Name != MarkerNamespace && n.DeletionTimestamp == nil {
			covered = append(covered, n.Name)
		}
	}
	if len(covered) == 0 {
		return nil
	}
	ns, existing := covered[0], ""
	for _, n := range covered[:min(len(covered), probeNamespaces)] {
		if name := firstDeployment(ctx, c, n); name != "" {
			ns, existing = n, name
			break
		}
	}
	deployments := c.Dynamic.Resource(gvrDeployments).Namespace(ns)
	dryRun := []string{metav1.DryRunAll}
	probe := func() (*unstructured.Unstructured, error) {
		if existing != "" {
			// One more replica than it has now (read each time: it may be
			// scaled meanwhile): an increase, which the policy refuses or parks.
			d, err := deployments.Get(ctx, existing, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			patch := fmt.Appendf(nil, `{"metadata":{"resourceVersion":%q},"spec":{"replicas":%d}}`, d.GetResourceVersion(), replicas+1)
			return deployments.Patch(ctx, existing, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun})
		}
		return deployments.Create(ctx, newProbe(ns), metav1.CreateOptions{DryRun: dryRun})
	}
	validating := map[string]bool{} // webhook name → a validating webhook's only
	deadline := time.Now().Add(timeout)
	for {
		got, err := probe()
		refused := err != nil && (apierrors.IsForbidden(err) || apierrors.IsInvalid(err) || apierrors.IsBadRequest(err))
		switch {
		case err != nil && existing != "" && apierrors.IsConflict(err):
			// Changed between the read and the patch: read it again, next round.
		case refused && strings.Contains(err.Error(), Message):
			return nil // refused by the validating policy
		case refused && kind == Validating && validatingWebhookRefused(ctx, c, err, validating) != no:
			// Let through by the policy (not enforced yet), refused after
			// it; or whether the webhook is a validating one could not be
			// read: probed again.
		case err != nil && existing != "" && (apierrors.IsNotFound(err) || refused):
			// Deleted meanwhile, or its update refused by another admission
			// check (a constraint made after it) or by RBAC: a new
			// Deployment from now on.
			existing = ""
			continue
		case refused && existing == "":
			// A new Deployment refused by an admission check that runs
			// before the policy, or hides its answer (a mutating webhook,
			// another admission policy): whether the policy holds cannot be
			// seen. Taken as enforced: waiting for what cannot be seen would
			// make the standby impossible there.
			if warn != nil {
				warn(fmt.Sprintf("the standby policy in %s is taken as enforced without seeing it: a probe Deployment in namespace %s was refused by another admission check (%v)", c.Context, ns, err))
			}
			return nil
		case err == nil:
			if n, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas"); n == 0 {
				return nil // parked by the mutating policy
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("the standby policy is installed in %s but not enforced after %s (probe in namespace %s: %w)", c.Context, timeout, ns, err)
			}
			return fmt.Errorf("the standby policy is installed in %s but not enforced after %s (a probe Deployment in namespace %s kept its replicas)", c.Context, timeout, ns)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// firstDeployment names a Deployment of ns to probe with ("" when there is
// none, or they cannot be read): not exempt, not being deleted.
func firstDeployment(ctx context.Context, c *cluster.Conn, ns string) string {
	l, err := c.Dynamic.Resource(gvrDeployments).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: ExemptLabel + "!=true", Limit: 50})
	if err != nil {
		return ""
	}
	for _, d := range l.Items {
		if d.GetDeletionTimestamp() == nil {
			return d.GetName()
		}
	}
	return ""
}

// refusingWebhook is the name of the admission webhook that refused a
// request ("" when err is not a webhook's refusal). The apiserver words it
// `admission webhook "NAME" denied the request…`, or, for a webhook that
// may not be called with a dry run, `admission webhook "NAME" does not
// support dry run` (k8s.io/apiserver's webhook errors.ToStatusErr and
// NewDryRunUnsupportedErr).
func refusingWebhook(err error) string {
	const denied = `admission webhook `
	msg := err.Error()
	i := strings.Index(msg, denied)
	if i < 0 {
		return ""
	}
	quoted, _ := strconv.QuotedPrefix(msg[i+len(denied):])
	name, uerr := strconv.Unquote(quoted)
	rest := msg[i+len(denied)+len(quoted):]
	if uerr != nil || !strings.HasPrefix(rest, " denied the request") && !strings.HasPrefix(rest, " does not support dry run") {
		return ""
	}
	return name
}

// answer is yes, no, or not known (the cluster could not be read).
type answer int

const (
	no answer = iota
	yes
	unknown
)

// validatingWebhookRefused says whether err is the refusal of a webhook
// that only a ValidatingWebhookConfiguration of c names (a mutating one of
// the same name would have run before the policies); known memoizes it per
// webhook name. unknown when the configurations cannot be read.
func validatingWebhookRefused(ctx context.Context, c *cluster.Conn, err error, known map[string]bool) answer {
	name := refusingWebhook(err)
	if name == "" {
		return no
	}
	if v, ok := known[name]; ok {
		return answerOf(v)
	}
	in := map[string]bool{} // resource → a configuration of it names the webhook
	for _, gvr := range webhookGVRs {
		l, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return unknown // not remembered: read again next round
		}
		for _, cfg := range l.Items {
			hooks, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
			for _, h := range hooks {
				if m, _ := h.(map[string]any); m["name"] == name {
					in[gvr.Resource] = true
				}
			}
		}
	}
	known[name] = in[cluster.ValidatingWebhookConfigurations.Resource] && !in[cluster.MutatingWebhookConfigurations.Resource]
	return answerOf(known[name])
}

func answerOf(b bool) answer {
	if b {
		return yes
	}
	return no
}

// newProbe is the Deployment of 1 replica waitEnforced creates (dry run)
// where the namespace has none.
func newProbe(ns string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "tandem-standby-probe", "namespace": ns},
		"spec": map[string]any{
			"replicas": int64(1),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "tandem-standby-probe"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "tandem-standby-probe"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "p", "image": "probe"}}},
			},
		},
	}}
}
