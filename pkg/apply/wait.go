package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// waitEstablished waits until the CRDs this wave wrote are Established, so
// their custom resources can be written in later waves.
func (r *runner) waitEstablished(ctx context.Context, w plan.Wave, results []Result) {
	ctx, cancel := context.WithTimeout(ctx, r.o.WaitTimeout)
	defer cancel()
	for _, s := range w.Steps {
		if s.Action == plan.Skip {
			continue
		}
		name := s.Ref.Name
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			crd, err := r.target.Dynamic.Resource(cluster.CRDs).Get(ctx, name, metav1.GetOptions{})
			return err == nil && conditionTrue(crd, "Established"), nil
		})
		if err != nil {
			r.o.Log.Warn("CRD not Established in time", "crd", name)
		}
	}
}

func conditionTrue(obj *unstructured.Unstructured, typ string) bool {
	c, ok := condition(obj, typ)
	return ok && c["status"] == "True"
}

// condition is obj's status condition of type typ, if it has one.
func condition(obj *unstructured.Unstructured, typ string) (map[string]any, bool) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m, true
		}
	}
	return nil, false
}

// waitBackends waits until the Service behind each webhook and each
// aggregated APIService of wave w has a ready endpoint in the target. A
// webhook whose backend never becomes ready is not written: it would
// reject every request it matches. One that fails open (failurePolicy
// Ignore, as a standby's are) rejects nothing and is not waited for. An
// APIService whose backend never becomes ready is not written either:
// the target's discovery of its group would fail, and with it every
// namespace deletion and the garbage collector there. The backends are
// waited for together, each looked at until it is ready or the wait is
// over: one that never comes does not fail the others. It returns the
// steps to fail, with why.
func (r *runner) waitBackends(ctx context.Context, w plan.Wave) map[int]string {
	blocked := map[int]string{}
	needs := map[int][]backend{}
	pending := map[string]bool{} // namespace/name of each Service not seen ready yet
	for i, s := range w.Steps {
		if s.Action != plan.Create && s.Action != plan.Update {
			continue
		}
		kind := s.Ref.Kind
		if kind != "ValidatingWebhookConfiguration" && kind != "MutatingWebhookConfiguration" && kind != "APIService" {
			continue
		}
		obj, err := s.Full()
		if err != nil {
			blocked[i] = err.Error()
			continue
		}
		for _, b := range backendsOf(obj) {
			needs[i] = append(needs[i], b)
			pending[b.namespace+"/"+b.name] = true
		}
	}
	if len(pending) == 0 {
		return blocked
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.WaitTimeout)
	defer cancel()
	_ = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for svc := range pending {
			ns, name, _ := strings.Cut(svc, "/")
			if r.serviceReady(ctx, ns, name) {
				delete(pending, svc)
			}
		}
		return len(pending) == 0, nil
	})
	for i, bs := range needs {
		for _, b := range bs {
			if pending[b.namespace+"/"+b.name] {
				blocked[i] = fmt.Sprintf("%s backend Service %s/%s has no ready endpoints in the target after %s: not written, %s", b.what, b.namespace, b.name, r.o.WaitTimeout, b.harm)
				break
			}
		}
	}
	return blocked
}

// backend is a Service a webhook or an aggregated API calls, and what
// calling it with no endpoint does to the target.
type backend struct {
	what, namespace, name, harm string
}

// backendsOf lists the Services obj, a webhook configuration or an
// APIService, cannot work without: a fail-open webhook's are left out.
func backendsOf(obj *unstructured.Unstructured) []backend {
	if obj.GetKind() == "APIService" {
		svc, _, _ := unstructured.NestedMap(obj.Object, "spec", "service")
		ns, _ := svc["namespace"].(string)
		name, _ := svc["name"].(string)
		if name == "" {
			return nil // served by the apiserver itself
		}
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		return []backend{{what: "APIService", namespace: ns, name: name,
			harm: "the target's discovery of " + group + " would fail, and with it its namespace deletions and garbage collection"}}
	}
	var out []backend
	hooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
	for _, h := range hooks {
		hm, _ := h.(map[string]any)
		ns, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "namespace")
		name, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "name")
		if policy, _ := hm["failurePolicy"].(string); name == "" || policy == "Ignore" {
			continue
		}
		out = append(out, backend{what: "webhook", namespace: ns, name: name, harm: "it would reject every request it matches"})
	}
	return out
}

// serviceReady says whether the Service has a ready endpoint now. One of
// type ExternalName has none to have: its name is called, and counts as
// ready. An error (the target busy) counts as not ready: looked at again.
func (r *runner) serviceReady(ctx context.Context, ns, name string) bool {
	svc, err := r.target.Typed.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return true
	}
	slices, err := r.target.Typed.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + name})
	if err != nil {
		return false
	}
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				return true
			}
		}
	}
	return false
}

// availableWait bounds how long a sync waits for the aggregation layer to
// call the APIServices it wrote: its availability controller calls a new
// one's backend as it sees it, with a 5 s timeout.
const availableWait = 20 * time.Second

// checkAvailable waits (availableWait at most, all together) until each
// APIService the wave wrote is Available in the target, and notes on the
// result of each that is not why (its last condition), with what it
// breaks: its backend's pods may be ready and still not serve the API (a
// wrong port, a certificate, a version the backend does not serve).
func (r *runner) checkAvailable(ctx context.Context, results []Result) {
	why := map[int]string{} // the results not seen Available yet, with why
	for i, res := range results {
		if res.Kind == "APIService" && res.Wrote() {
			why[i] = "no Available condition yet"
		}
	}
	if len(why) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, min(availableWait, r.o.WaitTimeout))
	defer cancel()
	_ = wait.PollUntilContextCancel(wctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for i := range why {
			obj, err := r.target.Dynamic.Resource(cluster.APIServices).Get(ctx, results[i].Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() == nil {
					why[i] = shortErr(err)
				}
				continue
			}
			switch c, ok := condition(obj, "Available"); {
			case ok && c["status"] == "True":
				delete(why, i)
			case ok:
				why[i] = fmt.Sprintf("%v: %v", c["reason"], c["message"])
			}
		}
		return len(why) == 0, nil
	})
	for i, w := range why {
		results[i].Notes = append(results[i].Notes, fmt.Sprintf("%s (%s): until it is, the target's discovery of this API fails, and with it namespace deletions and garbage collection there", notAvailable, w))
	}
}

// notAvailable begins the note of an APIService written and not Available.
const notAvailable = "not Available in the target"

// Unavailable says which APIServices among results were written and were
// not Available after the wait, and what that breaks: one line each.
func Unavailable(results []Result) []string {
	var out []string
	for _, r := range results {
		if r.Kind != "APIService" || !r.Wrote() {
			continue
		}
		for _, n := range r.Notes {
			if strings.HasPrefix(n, notAvailable) {
				out = append(out, "APIService "+r.Name+" "+n)
			}
		}
	}
	return out
}
