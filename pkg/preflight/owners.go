package preflight

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Owners finds the deployment pipelines (Helm, Argo CD, Flux) that manage
// objects in the source: sync copies the objects, but the pipeline must
// deploy to the target too, or the next release goes to the old cluster
// only (and a GitOps controller in the target may prune what sync copied).
type Owners struct{}

// Name is the check's name.
func (Owners) Name() string { return "owners" }

// Scope says what was read.
func (Owners) Scope(env *Env) string {
	return fmt.Sprintf("Helm/Argo CD/Flux labels and annotations of %d objects, %d Argo CD Applications", env.Seen.Objects, len(env.Of("argoproj.io", "Application")))
}

// managed is what one pipeline unit manages in the source.
type managed struct {
	m       plan.Manager
	objects int
	kinds   map[string]int // objects of each kind
	dest    string         // an Argo CD Application's destination
	charted *managed       // of instances: those the chart unit of the same name counts too
}

// unitOf is units' record of m, made on first use.
func unitOf(units map[string]*managed, m plan.Manager) *managed {
	u := units[m.String()]
	if u == nil {
		u = &managed{m: m, kinds: map[string]int{}}
		units[m.String()] = u
	}
	return u
}

// observeOwner counts o for the pipeline unit that manages it, if any.
func (s *Seen) observeOwner(o *unstructured.Unstructured) {
	if metav1.GetControllerOf(o) != nil {
		return // pods and ReplicaSets repeat their owner's labels
	}
	if release, ok := helmRelease(o); ok {
		unitOf(s.units, release)
		return
	}
	m, ok := plan.ManagedBy(o)
	if inst := o.GetLabels()[argoInstanceLabel]; inst != "" && (!ok || m.Unit == "chart") {
		c := s.instances[inst].add(o)
		if ok && m.Name == inst {
			c.charted = c.charted.add(o) // also counted in the chart unit of that name
		}
		s.instances[inst] = c
	}
	if ok {
		unitOf(s.units, m).add(o)
	}
}

// argoInstanceLabel is Argo CD's default tracking label before 3.0
// (application.instanceLabelKey), which Helm charts and others set too.
const argoInstanceLabel = "app.kubernetes.io/instance"

// add counts o in u (a new record when u is nil) and returns u.
func (u *managed) add(o *unstructured.Unstructured) *managed {
	if u == nil {
		u = &managed{kinds: map[string]int{}}
	}
	u.objects++
	u.kinds[o.GetKind()]++
	return u
}

// Run groups the source's objects by the pipeline unit that manages them.
func (Owners) Run(_ context.Context, env *Env) ([]Finding, error) {
	units := map[string]*managed{}
	for k, u := range env.Seen.units {
		c := *u // Run adds the Applications' destinations and objects; Seen stays as it was
		c.kinds = maps.Clone(u.kinds)
		units[k] = &c
	}
	instances := maps.Clone(env.Seen.instances) // each label goes to one Application
	apps := env.Of("argoproj.io", "Application")
	named := map[string]int{} // Applications of each name, in any namespace
	for _, app := range apps {
		named[app.GetName()]++
	}
	for _, app := range apps {
		server, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "server")
		name, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "name")
		ns, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace")
		dest := strings.TrimSpace(strings.Join([]string{server, name}, " "))
		if ns != "" {
			dest += " namespace " + ns
		}
		// Tracking names the app <namespace>_<name> outside Argo CD's own
		// namespace and by its name inside it, which is the app's when no
		// other Application has that name.
		qualified := plan.Manager{Tool: "Argo CD", Unit: "Application", Namespace: app.GetNamespace(), Name: app.GetName()}
		u := units[qualified.String()]
		if bare := units[plan.Manager{Tool: "Argo CD", Unit: "Application", Name: app.GetName()}.String()]; u == nil && named[app.GetName()] == 1 {
			u = bare
		}
		if u == nil {
			u = unitOf(units, qualified)
		}
		u.dest = dest
		// Argo CD's label tracking: the objects labelled with the name of an
		// Application deploying into this cluster are its, Helm's labels on
		// them included (the label as tracking-ids name the app; each label
		// is given once).
		if server != "https://kubernetes.default.svc" && name != "in-cluster" || !env.Seen.labelTracking(app.GetNamespace()) {
			continue
		}
		keys := []string{app.GetNamespace() + "_" + app.GetName()}
		if named[app.GetName()] == 1 {
			keys = append(keys, app.GetName())
		}
		for _, key := range keys {
			c := instances[key]
			if c == nil {
				continue
			}
			delete(instances, key)
			u.objects += c.objects
			for k, n := range c.kinds {
				u.kinds[k] += n
			}
			chart := plan.Manager{Tool: "Helm", Unit: "chart", Name: key}.String()
			if h, in := units[chart], c.charted; h != nil && in != nil {
				h.objects -= in.objects
				for k, n := range in.kinds {
					if h.kinds[k] -= n; h.kinds[k] <= 0 {
						delete(h.kinds, k)
					}
				}
				if h.objects <= 0 {
					delete(units, chart)
				}
			}
			break
		}
	}
	var out []Finding
	for _, u := range units {
		out = append(out, Finding{Severity: Warning, Object: u.m.String(), Message: u.message(), Fix: u.fix()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	return out, nil
}

// helmRelease recognises a Helm v3 release Secret (the release, not an object
// it manages): type helm.sh/release.v1, labels owner=helm and name.
func helmRelease(o *unstructured.Unstructured) (plan.Manager, bool) {
	if o.GetKind() != "Secret" || o.GetAPIVersion() != "v1" {
		return plan.Manager{}, false
	}
	typ, _, _ := unstructured.NestedString(o.Object, "type")
	l := o.GetLabels()
	if typ != "helm.sh/release.v1" || l["owner"] != "helm" || l["name"] == "" {
		return plan.Manager{}, false
	}
	return plan.Manager{Tool: "Helm", Unit: "release", Namespace: o.GetNamespace(), Name: l["name"]}, true
}

func (u *managed) message() string {
	var kinds []string
	for k := range u.kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	what := fmt.Sprintf("manages %d objects in the source", u.objects)
	if len(kinds) > 0 {
		what += " (" + strings.Join(kinds, ", ") + ")"
	}
	if u.objects == 0 {
		what = "is installed in the source"
	}
	if u.dest != "" {
		what += "; it deploys to " + u.dest
	}
	return what + ": sync copies what it made, not the pipeline that keeps it up to date"
}

func (u *managed) fix() string {
	switch u.m.Tool {
	case "Argo CD":
		return "add the target cluster to Argo CD and point the Application's destination at it (or run Argo CD in the target) before traffic moves; until then releases keep going to the source"
	case "Flux":
		return "bootstrap Flux in the target from the same Git source: it adopts the copied objects (they carry its labels); until then releases keep going to the source"
	}
	if u.m.Unit == "chart" {
		return "deploy the next versions of this chart to the target from the pipeline that renders it (its objects carry Helm's labels but no release annotations: there is no release Secret to copy, and `helm install` in the target refuses objects no release owns)"
	}
	return "deploy the next releases of this chart to the target (helm --kube-context) from your pipeline; sync copies the release Secret, so helm in the target continues its history"
}

// labelTracking says whether the Argo CD that serves Applications in
// namespace tracks by the instance label: its argocd-cm (in that namespace,
// or the only one the cluster has) does not say annotation tracking alone.
// Unset, the default was the label before Argo CD 3.0 and is the
// annotation since; which release runs is not read, so the label counts.
func (s *Seen) labelTracking(namespace string) bool {
	method, ok := s.argoTracking[namespace]
	if !ok && len(s.argoTracking) == 1 {
		for _, m := range s.argoTracking {
			method = m
		}
	}
	return method != "annotation"
}
