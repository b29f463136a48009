package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Addons compares the add-ons of both clusters: the Deployments and
// DaemonSets of kube-system and of the namespaces add-ons live in. An add-on
// only in the source must be installed in the target (by whoever installs
// add-ons there: they are cluster-specific and sync does not copy
// kube-system); one only in the target is worth knowing; the same add-on with
// other image tags means other versions, which must suit the target's
// Kubernetes version (seed 002: "add-ons and plugins … might fail").
type Addons struct{}

// Name implements Check.
func (Addons) Name() string { return "addons" }

// addonNamespace says whether ns is where add-ons live: kube-system, any
// kube-* namespace, and the usual homes of ingress controllers, cert-manager,
// DNS, service meshes, monitoring, logging, policy engines and autoscalers.
func addonNamespace(ns string) bool {
	// kube-system and every kube-* namespace but the other system ones (kube-public, kube-node-lease).
	if ns == "kube-system" || (strings.HasPrefix(ns, "kube-") && !plan.SystemNamespace(ns)) {
		return true
	}
	for _, known := range []string{"ingress", "cert-manager", "external-dns", "istio", "linkerd", "cilium", "calico", "tigera",
		"monitoring", "prometheus", "grafana", "logging", "fluent", "gatekeeper", "kyverno", "karpenter", "cluster-autoscaler",
		"argocd", "flux-system", "velero", "metallb", "keda", "amazon-", "aws-", "gke-", "azure-"} {
		if strings.Contains(ns, known) {
			return true
		}
	}
	return false
}

// Scope implements Scoped.
func (Addons) Scope(env *Env) string {
	n := len(addonsOf(env.Of("apps", "Deployment"), env.Of("apps", "DaemonSet")))
	return fmt.Sprintf("%d add-on Deployments/DaemonSets of the source (kube-system and add-on namespaces) against the target's", n)
}

// addon is one add-on workload: its images by container.
type addon struct {
	ref    string
	images map[string]string
	// copied: sync copies it (it is not in a system namespace, and not
	// ExternalDNS, whose copy would act as the source's owner).
	copied bool
	// externalDNS: it runs ExternalDNS.
	externalDNS bool
}

func addonsOf(lists ...[]*unstructured.Unstructured) map[string]addon {
	out := map[string]addon{}
	for _, list := range lists {
		for _, o := range list {
			// ExternalDNS in any namespace: sync leaves it, whatever its home.
			_, dns := sanitize.ExternalDNSOwner(o)
			if !addonNamespace(o.GetNamespace()) && !dns {
				continue
			}
			a := addon{ref: Ref(o), images: map[string]string{}, copied: !plan.SystemNamespace(o.GetNamespace()) && !dns, externalDNS: dns}
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				m, _ := c.(map[string]any)
				name, _ := m["name"].(string)
				img, _ := m["image"].(string)
				a.images[name] = img
			}
			out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = a
		}
	}
	return out
}

// Run implements Check.
func (Addons) Run(ctx context.Context, env *Env) ([]Finding, error) {
	source := addonsOf(env.Of("apps", "Deployment"), env.Of("apps", "DaemonSet"))
	// The target's workloads of the add-on namespaces only: a target that
	// already runs a large platform has many others.
	var target []*unstructured.Unstructured
	inAddonNamespace := func(o *unstructured.Unstructured) bool {
		_, dns := sanitize.ExternalDNSOwner(o)
		return addonNamespace(o.GetNamespace()) || dns
	}
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		r := inventory.Resource{Group: "apps", Version: "v1", Resource: strings.ToLower(kind) + "s", Kind: kind, Namespaced: true}
		objs, err := targetObjects(ctx, env, r, inAddonNamespace, []string{"spec", "template", "spec", "containers"})
		if err != nil {
			return nil, err
		}
		target = append(target, objs...)
	}
	return compareAddons(source, addonsOf(target)), nil
}

// compareAddons is the pure part of Run.
func compareAddons(source, target map[string]addon) []Finding {
	var out []Finding
	keys := make([]string, 0, len(source))
	for k := range source {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := source[k]
		t, ok := target[k]
		if !ok {
			fix := "install it in the target at a version made for the target's Kubernetes (its chart or manifests; sync does not copy system namespaces)"
			switch {
			case s.externalDNS:
				fix = "sync does not copy ExternalDNS (a copy would take the source's DNS records for its own): install the target's own, with an owner id of its own (--txt-owner-id), before traffic moves"
			case s.copied:
				fix = "sync copies it with the source's images: make sure that version supports the target's Kubernetes, or install the target's own version first (its chart or manifests) and leave it out of the sync"
			}
			out = append(out, Finding{Severity: Warning, Check: "addons", Object: s.ref,
				Message: "add-on runs in the source only (" + imageList(s.images) + ")", Fix: fix})
			continue
		}
		var diffs []string
		for c, img := range s.images {
			if ti, ok := t.images[c]; ok && ti != img {
				diffs = append(diffs, fmt.Sprintf("%s: %s → %s", c, tagOf(img), tagOf(ti)))
			}
		}
		sort.Strings(diffs)
		if len(diffs) > 0 {
			out = append(out, Finding{Severity: Info, Check: "addons", Object: s.ref,
				Message: "add-on runs other images in the target (" + strings.Join(diffs, "; ") + ")",
				Fix:     "make sure the target's version supports the target's Kubernetes and the source's configuration"})
		}
	}
	tkeys := make([]string, 0, len(target))
	for k := range target {
		if _, ok := source[k]; !ok {
			tkeys = append(tkeys, k)
		}
	}
	sort.Strings(tkeys)
	for _, k := range tkeys {
		out = append(out, Finding{Severity: Info, Check: "addons", Object: target[k].ref,
			Message: "add-on runs in the target only (" + imageList(target[k].images) + ")"})
	}
	return out
}

func imageList(images map[string]string) string {
	var out []string
	for _, img := range images {
		out = append(out, img)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// tagOf is an image's tag or digest ("latest" when it has none).
func tagOf(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}
