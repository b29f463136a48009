package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Deprecated asks the target itself which of the versions sync would write
// with it deprecates: for every resource the source has objects of, one
// LIST (limit 1) on the target at that version, collecting the `Warning`
// headers the apiserver returns ("policy/v1beta1 PodDisruptionBudget is
// deprecated in v1.21+, unavailable in v1.25+; use policy/v1
// PodDisruptionBudget"). The target's own words, so no table goes stale.
type Deprecated struct{}

// Name implements Check.
func (Deprecated) Name() string { return "deprecated" }

// Scope implements Scoped.
func (Deprecated) Scope(env *Env) string {
	return fmt.Sprintf("%d resources read at the version sync writes with, for the target's deprecation warnings", len(usedResources(env)))
}

// warningCollector keeps the apiserver's warnings (a rest.WarningHandler).
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeader(code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	w.msgs = append(w.msgs, text)
	w.mu.Unlock()
}

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// usedResources are the shared resources the source has objects of.
func usedResources(env *Env) []int {
	var out []int
	seen := map[string]bool{}
	for i, r := range env.Resources {
		if r.Unshared || r.ReadOnly || seen[r.GroupKind().String()] || env.Seen.Count(r.Group, r.Kind) == 0 {
			continue
		}
		seen[r.GroupKind().String()] = true
		out = append(out, i)
	}
	return out
}

// Run implements Check.
func (Deprecated) Run(ctx context.Context, env *Env) ([]Finding, error) {
	collector := &warningCollector{}
	cfg := rest.CopyConfig(env.Target.Config)
	cfg.WarningHandler = collector
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, i := range usedResources(env) {
		r := env.Resources[i]
		if _, err := client.Resource(r.GVR()).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			continue // unreadable: other checks say why
		}
		msgs := collector.take()
		sort.Strings(msgs)
		for _, m := range dedupe(msgs) {
			if !strings.Contains(m, "deprecated") {
				continue
			}
			n := env.Seen.Copied(r.Group, r.Kind)
			if n == 0 {
				continue // every object of it is one the target makes itself (Endpoints of selector Services…)
			}
			f := Finding{Severity: Warning, Check: "deprecated", Evidence: "target-warning",
				Object:  r.Kind + " " + schema.GroupVersion{Group: r.Group, Version: r.Version}.String(),
				Message: fmt.Sprintf("the target warns: %q (%d object(s) of the source would be written at this version)", m, n),
				Fix:     "move the manifests (and charts) to the version the warning names before the target stops serving this one"}
			if _, after, ok := strings.Cut(m, "; use "); ok {
				f.Fix = "use " + after + " in the manifests and charts before the target stops serving this version"
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
