package preflight

import (
	"context"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/cluster"
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
	// standby: its configuration is in a standby's form (failing open,
	// the originals kept in standby.FailurePolicyAnnotation), or the target
	// is a standby that parks the namespace of its service.
	standby bool
}

// closed says whether h rejects what it matches when nothing answers it
// (an unset policy is Fail in admissionregistration/v1).
func (h hook) closed() bool { return h.failurePolicy == nil || *h.failurePolicy != admissionv1.Ignore }

// Run checks the target's webhooks' backends and lists the source's.
func (Webhooks) Run(ctx context.Context, env *Env) ([]Finding, error) {
	// In a standby target, what its parked namespaces serve answers
	// nothing by design: those its standby policy covers, not those
	// exempt from it. (Without the right to list namespaces, none is.)
	parked := map[string]bool{}
	if nss, err := env.Target.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: standby.NamespaceLabel + "=true," + standby.ExemptLabel + "!=true"}); err == nil {
		for _, ns := range nss.Items {
			parked[ns.Name] = true
		}
	}
	ar := env.Target.Typed.AdmissionregistrationV1()
	var hooks []hook
	vs, err := ar.ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list validating webhooks in the target: %w", err)
	}
	for _, c := range vs.Items {
		_, sb := c.Annotations[standby.FailurePolicyAnnotation]
		for _, w := range c.Webhooks {
			hooks = append(hooks, hook{config: c.Name, kind: "ValidatingWebhookConfiguration", name: w.Name, service: w.ClientConfig.Service, url: w.ClientConfig.URL, failurePolicy: w.FailurePolicy, standby: sb})
		}
	}
	ms, err := ar.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list mutating webhooks in the target: %w", err)
	}
	targetConfigs := map[string]bool{}
	for _, c := range ms.Items {
		targetConfigs[c.Name] = true
		_, sb := c.Annotations[standby.FailurePolicyAnnotation]
		for _, w := range c.Webhooks {
			hooks = append(hooks, hook{config: c.Name, kind: "MutatingWebhookConfiguration", name: w.Name, service: w.ClientConfig.Service, url: w.ClientConfig.URL, failurePolicy: w.FailurePolicy, standby: sb})
		}
	}
	// One finding per configuration, service and policy: a configuration
	// of 21 webhooks on one Service (Cluster API's) is one thing to fix.
	type unanswered struct {
		config, kind, service string
		closed                bool
	}
	var order []unanswered
	groups := map[unanswered][]hook{}
	ready := map[string]int{}
	var out []Finding
	for _, h := range hooks {
		if h.service == nil {
			continue // a URL webhook lives outside the cluster; nothing to look at here
		}
		h.standby = h.standby || parked[h.service.Namespace]
		svc := h.service.Namespace + "/" + h.service.Name
		n, seen := ready[svc]
		if !seen {
			var err error
			if n, err = readyEndpoints(ctx, env, h.service.Namespace, h.service.Name); err != nil {
				return out, err
			}
			ready[svc] = n
		}
		if n > 0 {
			continue
		}
		g := unanswered{h.config, h.kind, svc, h.closed()}
		if groups[g] == nil {
			order = append(order, g)
		}
		groups[g] = append(groups[g], h)
	}
	for _, g := range order {
		out = append(out, unansweredHooks(groups[g]))
	}
	for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		for _, c := range env.Of("admissionregistration.k8s.io", kind) {
			if f, behind := staysBehind(c); behind {
				out = append(out, f)
				continue
			}
			if ms := plan.PodMutators(c); len(ms) > 0 {
				if _, there := targetConfigs[c.GetName()]; !there {
					out = append(out, podMutatorFinding(c, ms))
					continue
				}
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
			continue
		}
		if f, parked := parkedInStandby(a, exempt); parked {
			out = append(out, f)
		}
		f, arrives, err := arrivingAPI(ctx, env, a)
		if err != nil {
			return out, err
		}
		if arrives {
			out = append(out, f)
		}
	}
	return out, nil
}

// arrivingAPI is the finding of a source APIService served by a Service
// (an aggregated API: metrics-server's, Kueue's visibility API) that the
// target lacks: sync writes it in its last wave, once its backend has a
// ready endpoint there, and until its backend answers there, the target's discovery of its group fails — and with it
// the target's namespace controller, which deletes no namespace while any
// API is unavailable (NamespaceDeletionDiscoveryFailure).
func arrivingAPI(ctx context.Context, env *Env, a *unstructured.Unstructured) (Finding, bool, error) {
	ns, _, _ := unstructured.NestedString(a.Object, "spec", "service", "namespace")
	name, _, _ := unstructured.NestedString(a.Object, "spec", "service", "name")
	if name == "" {
		return Finding{}, false, nil // served by the apiserver itself
	}
	_, err := env.Target.Dynamic.Resource(cluster.APIServices).Get(ctx, a.GetName(), metav1.GetOptions{})
	switch {
	case err == nil:
		return Finding{}, false, nil
	case !apierrors.IsNotFound(err):
		return Finding{}, false, fmt.Errorf("get APIService %s in the target: %w", a.GetName(), err)
	}
	group, _, _ := unstructured.NestedString(a.Object, "spec", "group")
	version, _, _ := unstructured.NestedString(a.Object, "spec", "version")
	return Finding{Severity: Info, Object: Ref(a),
		Message: fmt.Sprintf("comes across in the last wave of the sync, once its backend has a ready endpoint in the target (sync waits a minute for one, else leaves it to the next run): until its backend %s/%s answers in the target, the target's discovery of %s/%s fails, and its namespace controller deletes no namespace", ns, name, group, version),
		Fix:     "make sure its backend runs in the target by then (its workloads come in an earlier wave), or leave it out with --exclude-kinds APIService.apiregistration.k8s.io and let its add-on register it"}, true, nil
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

// podMutatorFinding is the finding of a source MutatingWebhookConfiguration
// that mutates pods (a sidecar injector) and that the target lacks: sync
// writes it in its last wave, after the workloads whose pods the target
// starts at once, so those pods are made without it (sync names them
// afterwards: syncer.Unmutated).
func podMutatorFinding(c *unstructured.Unstructured, ms []plan.PodMutator) Finding {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	fix := "restart the workloads it matches in the target once its backend runs there (sync names them)"
	if ns := ms[0].Namespace; ms[0].Service != "" {
		fix = fmt.Sprintf("sync the namespace of its backend first (tandem sync -n %s, which brings it along), wait until the backend runs in the target, then sync the rest; or %s", ns, fix)
	}
	return Finding{Severity: Warning, Object: Ref(c),
		Message: fmt.Sprintf("mutates pods as they are created (%s), and the target lacks it: sync writes it in its last wave, after the workloads, so the pods the target starts for them are made without it (a sidecar it injects is missing)", strings.Join(names, ", ")),
		Fix:     fix}
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

// unansweredHooks is the finding of target webhooks of one configuration
// whose service has no ready endpoints, all failing closed or all open:
// failing closed they reject what they match, the sync's writes included;
// failing open (Ignore) they let them through (a Service without endpoints
// refuses the call at once, through the apiserver's endpoint routing or
// kube-proxy's reject rule), and what is lost is the webhooks' work on
// them: a policy not enforced, a sidecar not injected. In a standby's form
// (failing open while the standby parks their backends, failing closed
// again at activate) that is the design, and said as such.
func unansweredHooks(hs []hook) Finding {
	h := hs[0]
	obj := "target " + h.kind + ".admissionregistration.k8s.io " + h.config
	svc := h.service.Namespace + "/" + h.service.Name
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.name
	}
	who, calls, they, them, their := "webhook "+names[0], "calls", "it", "it", "its"
	if len(hs) > 1 {
		who, calls, they, them, their = fmt.Sprintf("its %d webhooks %s", len(hs), strings.Join(names, ", ")), "call", "they", "them", "their"
	}
	if h.closed() {
		return Finding{Severity: Error, Object: obj,
			Message: fmt.Sprintf("%s %s service %s, which has no ready endpoints: every request %s %s is rejected, the sync's included", who, calls, svc, they, match(they)),
			Fix:     fmt.Sprintf("start the webhook's backend (service %s) in the target, or delete the webhook configuration %s", svc, h.config)}
	}
	if h.standby {
		return Finding{Severity: Info, Object: obj,
			Message: fmt.Sprintf("%s %s service %s, which has no ready endpoints: the target is a standby, which parks the backend until activate (and makes a webhook failing closed fail open until then)", who, calls, svc)}
	}
	what := "pass unchecked by " + their + " policy"
	if h.kind == "MutatingWebhookConfiguration" {
		what = fmt.Sprintf("are not mutated by %s (a sidecar or default %s %s is missing until they are recreated)", them, they, inject(they))
	}
	return Finding{Severity: Warning, Object: obj,
		Message: fmt.Sprintf("%s %s service %s, which has no ready endpoints: with failurePolicy Ignore the requests %s %s go through, and objects written before its backend runs %s", who, calls, svc, they, match(they), what),
		Fix:     fmt.Sprintf("start the webhook's backend (service %s) in the target before the sync writes what it matches", svc)}
}

func match(they string) string {
	if they == "it" {
		return "matches"
	}
	return "match"
}

func inject(they string) string {
	if they == "it" {
		return "injects"
	}
	return "inject"
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
