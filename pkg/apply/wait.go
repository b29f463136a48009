package apply

import (
	"context"
	"fmt"
	"time"

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
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}

// waitWebhookBackends waits until each webhook's Service has a ready endpoint
// in the target; a webhook whose backend never becomes ready is not written,
// since it would reject every request it matches. One that fails open
// (failurePolicy Ignore, as a standby's are) rejects nothing and is not
// waited for. It returns the steps to fail, with why.
func (r *runner) waitWebhookBackends(ctx context.Context, w plan.Wave) map[int]string {
	blocked := map[int]string{}
	ctx, cancel := context.WithTimeout(ctx, r.o.WaitTimeout)
	defer cancel()
	for i, s := range w.Steps {
		if s.Action != plan.Create && s.Action != plan.Update {
			continue
		}
		kind := s.Ref.Kind
		if kind != "ValidatingWebhookConfiguration" && kind != "MutatingWebhookConfiguration" {
			continue
		}
		obj, err := s.Full()
		if err != nil {
			blocked[i] = err.Error()
			continue
		}
		hooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			ns, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "namespace")
			name, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "name")
			if policy, _ := hm["failurePolicy"].(string); name == "" || policy == "Ignore" {
				continue
			}
			if !r.serviceReady(ctx, ns, name) {
				blocked[i] = fmt.Sprintf("webhook backend Service %s/%s has no ready endpoints in the target after %s: not written, it would reject every request it matches", ns, name, r.o.WaitTimeout)
				break
			}
		}
	}
	return blocked
}

// serviceReady waits (bounded by ctx) until the Service has a ready endpoint.
func (r *runner) serviceReady(ctx context.Context, ns, name string) bool {
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		slices, err := r.target.Typed.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + name})
		if err != nil {
			return false, nil // the target may be busy; look again
		}
		for _, sl := range slices.Items {
			for _, ep := range sl.Endpoints {
				if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
					return true, nil
				}
			}
		}
		return false, nil
	})
	return err == nil
}
