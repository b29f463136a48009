package e2e

import (
	"strings"
	"testing"
)

// A CRD an operator makes from another object (Gatekeeper a constraint
// kind from each ConstraintTemplate, Crossplane a composite kind from each
// CompositeResourceDefinition) is controller-owned, yet the custom
// resources of it that sync copies cannot be written without it, and the
// target's operator may start after the sync or, in a standby, not at all.
// Sync copies it where the target lacks it, without its owner reference
// (the operator adopts it), and leaves one the target's operator made.
func TestSyncCopiesACRDAnOperatorMadeWhereTheTargetLacksIt(t *testing.T) {
	const (
		group     = "e2e-made.example.io"
		templates = "widgettemplates." + group
		widgets   = "widgets." + group
	)
	crd := func(plural, kind, owner string) string {
		return `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"` + plural + `.` + group + `"` + owner + `},
		  "spec":{"group":"` + group + `","scope":"Cluster","names":{"plural":"` + plural + `","singular":"` + strings.ToLower(kind) + `","kind":"` + kind + `"},
		  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`
	}
	ownedBy := func(ctxName string) string {
		uid := strings.TrimSpace(mustKubectl(t, "--context", ctxName, "get", templates, "w", "-o", "jsonpath={.metadata.uid}"))
		return `,"ownerReferences":[{"apiVersion":"` + group + `/v1","kind":"WidgetTemplate","name":"w","uid":"` + uid + `","controller":true,"blockOwnerDeletion":true}]`
	}
	cleanup := func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "crd", widgets, templates, "--ignore-not-found", "--timeout=60s")
		}
	}
	cleanup()
	t.Cleanup(cleanup)
	established := func(ctxName, name string) {
		mustKubectl(t, "--context", ctxName, "wait", "--for", "condition=Established", "crd/"+name, "--timeout=60s")
	}

	// Blue: the template, and the kind "its operator" made from it.
	kubectlCreate(t, "blue", crd("widgettemplates", "WidgetTemplate", ""))
	established("blue", templates)
	kubectlCreate(t, "blue", `{"apiVersion":"`+group+`/v1","kind":"WidgetTemplate","metadata":{"name":"w"},"spec":{"kind":"Widget"}}`)
	kubectlCreate(t, "blue", crd("widgets", "Widget", ownedBy("blue")))
	established("blue", widgets)
	kubectlCreate(t, "blue", `{"apiVersion":"`+group+`/v1","kind":"Widget","metadata":{"name":"x"},"spec":{"size":3}}`)

	kinds := []string{"--include-kinds", "CustomResourceDefinition.apiextensions.k8s.io,WidgetTemplate." + group + ",Widget." + group}
	journal := t.TempDir()
	out, _ := syncJSON(t, journal, 0, kinds...)
	r, ok := out.find("CustomResourceDefinition", "", widgets)
	if !ok || r.Status != "created" || !strings.Contains(strings.Join(r.Notes, "; "), "copied as the target lacks it") {
		t.Fatalf("the made CRD: %+v (found %v); want created, with the note saying why", r, ok)
	}
	if w, ok := out.find("Widget", "", "x"); !ok || w.Status != "created" {
		t.Fatalf("the Widget: %+v (found %v); want created", w, ok)
	}
	if refs := mustKubectl(t, "--context", "green", "get", "crd", widgets, "-o", "jsonpath={.metadata.ownerReferences}"); strings.TrimSpace(refs) != "" {
		t.Fatalf("green's copy has owner references %s; want none (the operator sets its own)", refs)
	}
	if out, _ = syncJSON(t, journal, 0, kinds...); len(out.wrote()) != 0 {
		t.Fatalf("the second sync wrote %+v; want nothing", out.wrote())
	}

	// Green's operator adopts the copy (a controller reference to green's
	// WidgetTemplate, which sync copied), and the
	// source's changes after that are the operator's to make, not sync's.
	mustKubectl(t, "--context", "green", "patch", "crd", widgets, "--type", "merge", "--field-manager", "widget-operator", "-p",
		`{"metadata":{"ownerReferences":[`+strings.TrimPrefix(strings.TrimSuffix(ownedBy("green"), "]"), `,"ownerReferences":[`)+`]}}`)
	mustKubectl(t, "--context", "blue", "label", "crd", widgets, "e2e-changed=yes")
	out, _ = syncJSON(t, journal, 0, kinds...)
	if r, ok = out.find("CustomResourceDefinition", "", widgets); !ok || r.Status != "skipped" || !strings.Contains(r.Reason, "adopted in the target by the controller of its owner WidgetTemplate/w") {
		t.Fatalf("the copy green's operator adopted: %+v (found %v); want skipped, left to it", r, ok)
	}

	// Green's own operator made the kind from green's template: left to it.
	kubectl(t, "--context", "green", "delete", "crd", widgets, "--timeout=60s")
	kubectlCreateAs(t, "green", "widget-operator", crd("widgets", "Widget", ownedBy("green")))
	established("green", widgets)
	out, _ = syncJSON(t, journal, 0, kinds...)
	r, ok = out.find("CustomResourceDefinition", "", widgets)
	if !ok || r.Status != "skipped" || !strings.Contains(r.Reason, "made in the target by the controller of its owner WidgetTemplate/w") {
		t.Fatalf("the CRD green's operator made: %+v (found %v); want skipped, left to it", r, ok)
	}
	if w, ok := out.find("Widget", "", "x"); !ok || w.Status != "created" {
		t.Fatalf("the Widget in the operator's CRD: %+v (found %v); want created", w, ok)
	}
	if m := mustKubectl(t, "--context", "green", "get", "crd", widgets, "-o", "jsonpath={.metadata.managedFields[*].manager}"); strings.Contains(m, "tandem") {
		t.Fatalf("managers of green's own CRD: %s; want tandem not among them", m)
	}
}
