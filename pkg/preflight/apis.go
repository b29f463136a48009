package preflight

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// APIs finds clients that use group/versions the target does not serve. A
// live object's apiVersion proves nothing (the apiserver serves every stored
// object at every served version), so the evidence is what clients wrote
// with: managedFields, Helm releases, last-applied annotations, and the
// source apiserver's apiserver_requested_deprecated_apis metric.
type APIs struct{}

// Name is the check's name.
func (APIs) Name() string { return "apis" }

// Scope says what was read.
func (APIs) Scope(env *Env) string {
	return fmt.Sprintf("managedFields and last-applied of %d objects, %d Helm release Secrets, the source's /metrics", env.Seen.Objects, len(helmSecrets(env)))
}

// Evidence kinds, as findings label them.
const (
	EvidenceManagedFields = "managedFields"
	EvidenceHelm          = "helm"
	EvidenceLastApplied   = "last-applied"
	EvidenceMetrics       = "metrics"
)

// Usage is one piece of evidence that a client uses an API version.
type Usage struct {
	GroupVersion schema.GroupVersion
	Kind         string // empty when only the resource is known
	Resource     string // for metrics evidence
	Object       string
	Evidence     string
	Detail       string // who or where: the field manager, the Helm release, the removal release
	// Sole (metrics evidence): the source serves the resource at this
	// version only, so every reader of it calls this version (its own
	// garbage collector and quota controllers, tandem's reads): the
	// metric names no client that could have called another.
	Sole bool
	// Objects (with Sole) is how many objects of it the source holds.
	Objects int
}

// Run collects the evidence and flags group/versions the target does not serve.
func (APIs) Run(ctx context.Context, env *Env) ([]Finding, error) {
	usages := slices.Clone(env.Seen.usages) // of every object, those the target does not serve
	namespaced := map[schema.GroupKind]bool{}
	for _, r := range env.Resources {
		namespaced[r.GroupKind()] = r.Namespaced
	}
	isNamespaced := func(gk schema.GroupKind) bool {
		n, known := namespaced[gk]
		return n || !known // most kinds are namespaced; unknown ones are assumed to be
	}
	var out []Finding
	for _, s := range helmSecrets(env) {
		us, err := HelmSecretUsages(s, isNamespaced)
		if err != nil {
			out = append(out, Finding{Severity: Warning, Object: Ref(s), Evidence: EvidenceHelm,
				Message: "cannot read the Helm release: " + err.Error(), Fix: "check the release with `helm history`"})
			continue
		}
		usages = append(usages, us...)
	}
	metrics, err := env.Source.Typed.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		out = append(out, Finding{Severity: Info, Object: "apiserver " + env.Source.Context, Evidence: EvidenceMetrics,
			Message: "cannot read the source apiserver's /metrics: " + firstLine(err.Error()),
			Fix:     "grant get on the non-resource URL /metrics to see which deprecated APIs clients still call"})
	} else {
		kinds := map[schema.GroupResource]string{}
		versions := map[schema.GroupResource][]string{}
		for _, r := range env.Resources {
			kinds[r.GroupResource()] = r.Kind
			versions[r.GroupResource()] = r.Source
		}
		used, err := ParseDeprecatedMetrics(string(metrics))
		if err != nil {
			out = append(out, Finding{Severity: Info, Object: "apiserver " + env.Source.Context, Evidence: EvidenceMetrics,
				Message: firstLine(err.Error()) + "; the deprecated API calls it lists may be incomplete",
				Fix:     "check the source apiserver's /metrics with `kubectl get --raw /metrics`"})
		}
		for _, m := range used {
			detail := "deprecated"
			if m.RemovedRelease != "" {
				detail = "removed in " + m.RemovedRelease
			}
			gr := schema.GroupResource{Group: m.Group, Resource: m.Resource}
			usages = append(usages, Usage{GroupVersion: schema.GroupVersion{Group: m.Group, Version: m.Version}, Resource: m.Resource,
				Kind: kinds[gr], Evidence: EvidenceMetrics, Object: "apiserver " + env.Source.Context, Detail: detail,
				Sole: slices.Equal(versions[gr], []string{m.Version}), Objects: env.Seen.Count(m.Group, kinds[gr])})
		}
	}
	return append(out, Unserved(withoutPending(usages, env), env.TargetServed)...), nil
}

// withoutPending drops usages of custom resources whose CRD the sync brings
// over: the crds check reports those, and the target will serve them.
func withoutPending(usages []Usage, env *Env) []Usage {
	pending := map[schema.GroupVersionKind]bool{}
	for _, r := range env.Resources {
		if r.Pending {
			for _, v := range r.Source {
				pending[schema.GroupVersionKind{Group: r.Group, Version: v, Kind: r.Kind}] = true
			}
		}
	}
	out := usages[:0]
	for _, u := range usages {
		if !pending[u.GroupVersion.WithKind(u.Kind)] {
			out = append(out, u)
		}
	}
	return out
}

// Unserved turns usages of group/versions the target does not serve into
// findings naming the replacement, one per object, version, kind and evidence.
func Unserved(usages []Usage, target *Served) []Finding {
	type key struct{ gv, kind, object, evidence string }
	seen := map[key]int{}
	details := map[key]map[string]bool{}
	var out []Finding
	for _, u := range usages {
		if u.GroupVersion.Version == "" || target.Serves(u.GroupVersion, u.Kind) {
			continue
		}
		k := key{u.GroupVersion.String(), u.Kind, u.Object, u.Evidence}
		if i, dup := seen[k]; dup {
			if u.Detail != "" && !details[k][u.Detail] {
				details[k][u.Detail] = true
				out[i].Message += ", " + u.Detail
			}
			continue
		}
		seen[k] = len(out)
		details[k] = map[string]bool{u.Detail: true}
		what := u.Kind
		if what == "" {
			what = u.Resource
		}
		repl, note := Replacement(u.GroupVersion, u.Kind, target)
		f := Finding{Severity: Error, Object: u.Object, Evidence: u.Evidence}
		switch u.Evidence {
		case EvidenceManagedFields:
			f.Severity = Warning
			f.Message = fmt.Sprintf("written as %s %s, which the target does not serve; field manager: %s", u.GroupVersion, what, u.Detail)
		case EvidenceHelm:
			f.Message = fmt.Sprintf("Helm release %s renders %s %s, which the target does not serve: the next upgrade fails there", u.Detail, u.GroupVersion, what)
		case EvidenceLastApplied:
			f.Message = fmt.Sprintf("last applied with kubectl as %s %s, which the target does not serve", u.GroupVersion, what)
		case EvidenceMetrics:
			f.Message = fmt.Sprintf("clients (any, the source's own control plane included) still call %s %s on the source apiserver (%s); the target does not serve it", u.GroupVersion, what, u.Detail)
		}
		if repl != "" {
			f.Fix = fmt.Sprintf("use %s %s instead (%s)", repl, u.Kind, note)
		} else {
			f.Fix = note
		}
		if u.Kind == "" {
			f.Fix = fmt.Sprintf("move the client calling %s %s to a version the target serves", u.GroupVersion, u.Resource)
		}
		switch {
		case u.Evidence == EvidenceMetrics && u.Sole && u.Objects > 0:
			f.Message = fmt.Sprintf("the source holds %d %s objects, served only at %s (%s), which the target does not serve: sync cannot copy them as they are", u.Objects, what, u.GroupVersion, u.Detail)
		case u.Evidence == EvidenceMetrics && u.Sole:
			f.Severity = Info
			f.Message = fmt.Sprintf("the source serves %s only at %s (%s), so every client of it calls that version, its own control plane and tandem's reads included: the metric names no client to move; the target does not serve it", what, u.GroupVersion, u.Detail)
			f.Fix = "a client that writes it must use what the target serves: " + f.Fix
		}
		out = append(out, f)
	}
	return out
}

// knownMoves are kinds that changed group when their old version was removed.
var knownMoves = map[schema.GroupVersionKind]schema.GroupVersion{
	{Group: "extensions", Version: "v1beta1", Kind: "Ingress"}:       {Group: "networking.k8s.io", Version: "v1"},
	{Group: "extensions", Version: "v1beta1", Kind: "NetworkPolicy"}: {Group: "networking.k8s.io", Version: "v1"},
	{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}:    {Group: "apps", Version: "v1"},
	{Group: "extensions", Version: "v1beta1", Kind: "DaemonSet"}:     {Group: "apps", Version: "v1"},
	{Group: "extensions", Version: "v1beta1", Kind: "ReplicaSet"}:    {Group: "apps", Version: "v1"},
	{Group: "apps", Version: "v1beta1", Kind: "Deployment"}:          {Group: "apps", Version: "v1"},
	{Group: "apps", Version: "v1beta2", Kind: "Deployment"}:          {Group: "apps", Version: "v1"},
	{Group: "events.k8s.io", Version: "v1beta1", Kind: "Event"}:      {Group: "events.k8s.io", Version: "v1"},
}

// removedKinds have no replacement at all.
var removedKinds = map[schema.GroupKind]string{
	{Group: "extensions", Kind: "PodSecurityPolicy"}: "PodSecurityPolicy was removed in 1.25 without a replacement kind: use Pod Security Admission labels on namespaces",
	{Group: "policy", Kind: "PodSecurityPolicy"}:     "PodSecurityPolicy was removed in 1.25 without a replacement kind: use Pod Security Admission labels on namespaces",
}

// Replacement names the group/version the target serves kind at instead of
// gv, and how it was found; "" when none is known.
func Replacement(gv schema.GroupVersion, kind string, target *Served) (string, string) {
	if why, ok := removedKinds[schema.GroupKind{Group: gv.Group, Kind: kind}]; ok {
		return "", why
	}
	for _, c := range target.Kinds[kind] {
		if c.Group == gv.Group {
			return c.String(), "served by the target"
		}
	}
	if to, ok := knownMoves[gv.WithKind(kind)]; ok {
		if target.Serves(to, kind) {
			return to.String(), "known move, served by the target"
		}
		return to.String(), "known move; the target does not serve it either: install what provides it"
	}
	if cs := target.Kinds[kind]; len(cs) > 0 {
		var names []string
		for _, c := range cs {
			names = append(names, c.String())
		}
		sort.Strings(names)
		return names[0], "the target serves a kind of this name only in another group: check it is the same API"
	}
	return "", fmt.Sprintf("the target serves no %s at any version: install the CRD or add-on that provides it, or stop using it", kind)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
