package preflight

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// Webhooks finds admission webhooks in the target that would reject the sync
// because nothing answers them, and source webhooks that will come across
// (or, with the APIServices, stay behind with an add-on).
type Webhooks struct{}

// Name is the check's name.
func (Webhooks) Name() string { return "webhooks" }

// Scope says what was read.
func (Webhooks) Scope(env *Env) string {
	n := len(env.Of("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")) + len(env.Of("admissionregistration.k8s.io", "MutatingWebhookConfiguration"))
	return fmt.Sprintf("admission webhooks of the target, %d webhook configurations and %d APIServices of the source", n, len(env.Of("apiregistration.k8s.io", "APIService")))
}

// hook is one webhook of a configuration, reduced to what the check needs.
type hook struct {
	config, kind, name string
	service            *admissionv1.ServiceReference
	url                *string
	failurePolicy      *admissionv1.FailurePolicyType
}

// Run checks the target's webhooks' backends and lists the source's.
func (Webhooks) Run(ctx context.Context, env *Env) ([]Finding, error) {
	ar := env.Target.Typed.AdmissionregistrationV1()
	var hooks []hook
	vs, err := ar.ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list validating webhooks in the target: %w", err)
	}
	for _, c := range vs.Items {
		for _, w := range c.Webhooks {
			hooks = append(hooks, hook{config: c.Name, kind: "ValidatingWebhookConfiguration", name: w.Name, service: w.ClientConfig.Service, url: w.ClientConfig.URL, failurePolicy: w.FailurePolicy})
		}
	}
	ms, err := ar.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list mutating webhooks in the target: %w", err)
	}
	for _, c := range ms.Items {
		for _, w := range c.Webhooks {
			hooks = append(hooks, hook{config: c.Name, kind: "MutatingWebhookConfiguration", name: w.Name, service: w.ClientConfig.Service, url: w.ClientConfig.URL, failurePolicy: w.FailurePolicy})
		}
	}
	var out []Finding
	for _, h := range hooks {
		if h.service == nil {
			continue // a URL webhook lives outside the cluster; nothing to look at here
		}
		ready, err := readyEndpoints(ctx, env, h.service.Namespace, h.service.Name)
		if err != nil {
			return out, err
		}
		if ready > 0 {
			continue
		}
		out = append(out, unansweredHook(h))
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		for _, c := range env.Of("admissionregistration.k8s.io", kind) {
			if f, behind := staysBehind(c); behind {
				out = append(out, f)
				continue
			}
			out = append(out, Finding{Severity: Info, Object: Ref(c),
				Message: "comes across in the last wave of the sync",
				Fix:     "make sure its backend runs in the target by then, or leave it out with --exclude-kinds " + kind + ".admissionregistration.k8s.io"})
		}
	}
	exempt := map[string]bool{}
	for _, ns := range env.Of("", "Namespace") {
		exempt[ns.GetName()] = ns.GetLabels()[standby.ExemptLabel] == "true"
	}
	for _, a := range env.Of("apiregistration.k8s.io", "APIService") {
		if f, behind := staysBehind(a); behind {
			out = append(out, f)
		} else if f, parked := parkedInStandby(a, exempt); parked {
			out = append(out, f)
		}
	}
	return out, nil
}

// parkedInStandby is the finding of a source APIService served from a
// namespace a standby parks (every one but the system namespaces and those
// labelled standby.ExemptLabel): in a standby its backend runs no pods, the
// API would answer nothing, and the cluster's discovery of its group would
// fail — so a standby holds it back until activate (standby.Hold), and the
// standby serves no such API.
func parkedInStandby(o *unstructured.Unstructured, exempt map[string]bool) (Finding, bool) {
	why, ns := standby.ParkedAPI(o, func(ns string) bool { return !plan.SystemNamespace(ns) && !exempt[ns] })
	if why == "" {
		return Finding{}, false
	}
	return Finding{Severity: Info, Object: Ref(o),
		Message: "in a standby (sync or mirror --standby, deactivate) it is held back until activate: " + why,
		Fix:     fmt.Sprintf("to serve it in a standby too, label namespace %s %s=true in the source: its workloads then run in the standby", ns, standby.ExemptLabel)}, true
}

// staysBehind is the finding of a source webhook configuration or
// APIService that sync leaves behind (plan.Selector.CallsUncopied): its
// backend is an add-on in a system namespace.
func staysBehind(o *unstructured.Unstructured) (Finding, bool) {
	svc := plan.Selector{}.CallsUncopied(o)
	if svc == "" {
		return Finding{}, false
	}
	return Finding{Severity: Info, Object: Ref(o),
		Message: "stays behind: it calls " + svc + ", in a system namespace sync does not copy",
		Fix:     "install the add-on behind it in the target (it brings its own " + o.GetKind() + "), or sync with --include-system"}, true
}

// unansweredHook is the finding of a target webhook whose service has no
// ready endpoints: failing closed it rejects what it matches, the sync's
// writes included; failing open (Ignore) it lets them through (a Service
// without endpoints refuses the call at once, through the apiserver's
// endpoint routing or kube-proxy's reject rule), and what is lost is the
// webhook's work on them: a policy not enforced, a sidecar not injected.
func unansweredHook(h hook) Finding {
	obj := "target " + h.kind + ".admissionregistration.k8s.io " + h.config
	svc := h.service.Namespace + "/" + h.service.Name
	if h.failurePolicy == nil || *h.failurePolicy != admissionv1.Ignore {
		return Finding{Severity: Error, Object: obj,
			Message: fmt.Sprintf("webhook %s calls service %s, which has no ready endpoints: every request it matches is rejected, the sync's included", h.name, svc),
			Fix:     fmt.Sprintf("start the webhook's backend (service %s) in the target, or delete the webhook configuration %s", svc, h.config)}
	}
	what := "pass unchecked by its policy"
	if h.kind == "MutatingWebhookConfiguration" {
		what = "are not mutated by it (a sidecar or default it injects is missing until they are recreated)"
	}
	return Finding{Severity: Warning, Object: obj,
		Message: fmt.Sprintf("webhook %s calls service %s, which has no ready endpoints: with failurePolicy Ignore the requests it matches go through, and objects written before its backend runs %s", h.name, svc, what),
		Fix:     fmt.Sprintf("start the webhook's backend (service %s) in the target before the sync writes what it matches", svc)}
}

// readyEndpoints counts the ready endpoints of a target Service; a missing
// Service has none.
func readyEndpoints(ctx context.Context, env *Env, namespace, name string) (int, error) {
	if _, err := env.Target.Typed.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("get service %s/%s in the target: %w", namespace, name, err)
	}
	slices, err := env.Target.Typed.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + name})
	if err != nil {
		return 0, fmt.Errorf("list endpoint slices of %s/%s in the target: %w", namespace, name, err)
	}
	n := 0
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				n++
			}
		}
	}
	return n, nil
}
