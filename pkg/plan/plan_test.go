package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

const desiredCM = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data: {k: v}
`

// current builds the target's copy of desiredCM with the given hash annotation,
// labels/annotations and field managers ("manager" or "manager/subresource").
func current(t *testing.T, hash string, labels, annotations map[string]string, managers ...string) *unstructured.Unstructured {
	t.Helper()
	u := parse(t, desiredCM)
	ann := map[string]string{}
	for k, v := range annotations {
		ann[k] = v
	}
	if hash != "" {
		ann[HashAnnotation] = hash
	}
	if len(ann) > 0 {
		u.SetAnnotations(ann)
	}
	if len(labels) > 0 {
		u.SetLabels(labels)
	}
	var mf []any
	for _, m := range managers {
		e := map[string]any{"manager": m, "operation": "Update"}
		for i := range m {
			if m[i] == '/' {
				e["manager"], e["subresource"] = m[:i], m[i+1:]
				break
			}
		}
		mf = append(mf, e)
	}
	if mf != nil {
		if err := unstructured.SetNestedSlice(u.Object, mf, "metadata", "managedFields"); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func TestBuildDecisions(t *testing.T) {
	h := Hash(parse(t, desiredCM))
	// decision is the part of a Step Build decides.
	type decision struct {
		Action  Action
		Reason  string
		Hashed  bool
		Foreign []string
		GitOps  string
		// OwnersDropped: the step keeps the target's hash.
		OwnersDropped bool
	}
	helm := map[string]string{"app.kubernetes.io/managed-by": "Helm"}
	helmRelease := map[string]string{"meta.helm.sh/release-name": "shop"}
	cases := []struct {
		name    string
		skip    *sanitize.Decision
		current *unstructured.Unstructured
		force   bool
		want    decision
	}{
		{"sanitize skips", &sanitize.Decision{Skip: true, Reason: "token Secret"}, nil, false,
			decision{Action: Skip, Reason: "token Secret"}},
		{"absent", nil, nil, false, decision{Action: Create, Hashed: true}},
		{"same hash", nil, current(t, h, nil, nil, "tandem", "kube-controller-manager"), false,
			decision{Action: Unchanged, Hashed: true}},
		{"same hash, foreign kept", nil, current(t, h, nil, nil, "tandem", "kubectl-edit", "kubectl-edit", "hpa"), false,
			decision{Action: Unchanged, Hashed: true, Foreign: []string{"hpa", "kubectl-edit"}}},
		{"same hash, foreign taken with force", nil, current(t, h, nil, nil, "tandem", "kubectl-edit"), true,
			decision{Action: Update, Reason: "taking over fields from kubectl-edit (--force)", Hashed: true, Foreign: []string{"kubectl-edit"}}},
		{"same hash, force without foreign", nil, current(t, h, nil, nil, "tandem"), true,
			decision{Action: Unchanged, Hashed: true}},
		{"cluster managers are not foreign", nil, current(t, h, nil, nil, "tandem", "kube-scheduler", "kube-apiserver",
			"kubelet", "system:serviceaccount:x:y", "before-first-apply", "editor/status"), false,
			decision{Action: Unchanged, Hashed: true}},
		{"changed", nil, current(t, "old", nil, nil, "tandem"), false,
			decision{Action: Update, Reason: "differs from what tandem last wrote", Hashed: true}},
		{"written without some owner references", nil, current(t, OwnersDroppedHash(h, []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}), nil, nil, "tandem"), false,
			decision{Action: Update, Reason: "written without owner references whose owners were not in the target then: written again with those that are there now", Hashed: true, OwnersDropped: true}},
		{"written without some owner references by an earlier tandem", nil, current(t, h+"+owners-dropped", nil, nil, "tandem"), false,
			decision{Action: Update, Reason: "written without owner references whose owners were not in the target then: written again with those that are there now", Hashed: true, OwnersDropped: true}},
		{"written by tandem, its hash dropped", nil, current(t, "", nil, nil, "tandem", "kube-controller-manager"), false,
			decision{Action: Update, Reason: "no hash of tandem's on it, though tandem has written to it (activate and deactivate drop the hash of what they change)", Hashed: true}},
		{"never written", nil, current(t, "", nil, nil, "kubectl-create"), false,
			decision{Action: Update, Reason: "not yet written by tandem", Hashed: true, Foreign: []string{"kubectl-create"}}},
		{"helm", nil, current(t, "", helm, helmRelease, "helm"), false,
			decision{Action: Skip, Reason: "managed by Helm release shop in the target: let that pipeline deploy it (--force copies anyway)",
				Hashed: true, Foreign: []string{"helm"}, GitOps: "Helm release shop"}},
		{"helm chart rendered without a release", nil, current(t, "", map[string]string{"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "web"}, nil, "kubectl"), false,
			decision{Action: Skip, Reason: "managed by Helm chart web in the target: let that pipeline deploy it (--force copies anyway)",
				Hashed: true, Foreign: []string{"kubectl"}, GitOps: "Helm chart web"}},
		{"helm with force", nil, current(t, "", helm, helmRelease, "helm"), true,
			decision{Action: Update, Reason: "managed by Helm release shop in the target, copied anyway (--force)",
				Hashed: true, Foreign: []string{"helm"}, GitOps: "Helm release shop"}},
		{"argo tracking id", nil, current(t, "", helm, map[string]string{"argocd.argoproj.io/tracking-id": "shop:/ConfigMap:shop/app"}, "argocd-controller"), false,
			decision{Action: Skip, Reason: "managed by Argo CD in the target: let that pipeline deploy it (--force copies anyway)",
				Hashed: true, Foreign: []string{"argocd-controller"}, GitOps: "Argo CD"}},
		{"argo instance label", nil, current(t, "", map[string]string{"argocd.argoproj.io/instance": "shop"}, nil), false,
			decision{Action: Skip, Reason: "managed by Argo CD in the target: let that pipeline deploy it (--force copies anyway)",
				Hashed: true, GitOps: "Argo CD"}},
		{"flux", nil, current(t, "", map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}, nil, "kustomize-controller"), false,
			decision{Action: Skip, Reason: "managed by Flux in the target: let that pipeline deploy it (--force copies anyway)",
				Hashed: true, Foreign: []string{"kustomize-controller"}, GitOps: "Flux"}},
		{"gitops labels on a tandem object", nil, current(t, h, helm, helmRelease, "tandem"), false,
			decision{Action: Unchanged, Hashed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := Item{
				Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"},
				Desired:  parse(t, desiredCM),
				Current:  tc.current,
			}
			if tc.skip != nil {
				it.Decision = *tc.skip
			}
			p := Build([]Item{it}, Options{Force: tc.force})
			if len(p.Waves) != 1 || len(p.Waves[0].Steps) != 1 {
				t.Fatalf("Build gave %+v, want one step", p)
			}
			s := p.Waves[0].Steps[0]
			got := decision{Action: s.Action, Reason: s.Reason, Hashed: s.Hash == h, Foreign: s.Foreign, GitOps: s.GitOps, OwnersDropped: s.OwnersDropped != "" && s.OwnersDropped == tc.current.GetAnnotations()[HashAnnotation]}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("step (-want +got):\n%s", diff)
			}
		})
	}
}

// An object sync now leaves behind because its copy would act, which an
// earlier tandem copied, is skipped with a note to delete the copy; one
// tandem never wrote, or one the cluster writes for itself, without.
func TestSkipNamesACopyLeftInTheTarget(t *testing.T) {
	ours := current(t, "old", nil, nil, "tandem")
	theirs := current(t, "", nil, nil, "helm")
	for _, c := range []struct {
		name    string
		intent  bool
		current *unstructured.Unstructured
		note    bool
	}{
		{"copied before", true, ours, true},
		{"the target's own", true, theirs, false},
		{"a controller's, its owner's hash passed on", true, current(t, "old", nil, nil, "tekton-pipelines-controller"), false},
		{"none in the target", true, nil, false},
		{"the cluster's own kind", false, ours, false},
	} {
		it := Item{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Desired: parse(t, desiredCM), Current: c.current,
			Decision: sanitize.Decision{Skip: true, Reason: "would act", Intent: c.intent}}
		s := Build([]Item{it}, Options{}).Waves[0].Steps[0]
		if got := slices.Contains(s.Decision.Notes, LeftInTarget); s.Action != Skip || got != c.note {
			t.Errorf("%s: action %s, notes %q; want skip, the note %v", c.name, s.Action, s.Decision.Notes, c.note)
		}
	}
}

func TestBuildWaves(t *testing.T) {
	item := func(y, resource string) Item {
		u := parse(t, y)
		gv := u.GroupVersionKind().GroupVersion()
		return Item{Resource: gv.WithResource(resource), Namespaced: u.GetNamespace() != "", Desired: u}
	}
	items := []Item{
		item("{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}}", "deployments"),
		item("{apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: shop}}", "configmaps"),
		item("{apiVersion: v1, kind: Secret, metadata: {name: a, namespace: shop}}", "secrets"),
		item("{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: shop}}", "configmaps"),
		item("{apiVersion: v1, kind: ConfigMap, metadata: {name: z, namespace: blog}}", "configmaps"),
		item("{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration, metadata: {name: hook}}", "validatingwebhookconfigurations"),
		item("{apiVersion: v1, kind: Namespace, metadata: {name: shop}}", "namespaces"),
		item("{apiVersion: velero.io/v1, kind: Backup, metadata: {name: nightly, namespace: shop}}", "backups"),
	}
	items[2].Decision = sanitize.Decision{Skip: true, Reason: "token"}
	p := Build(items, Options{})

	type step struct{ Resource, Namespace, Name string }
	type wave struct {
		Index int
		Name  string
		Steps []step
	}
	var got []wave
	for _, w := range p.Waves {
		gw := wave{Index: w.Index, Name: w.Name}
		for _, s := range w.Steps {
			gw.Steps = append(gw.Steps, step{s.Resource.Resource, s.Desired.GetNamespace(), s.Desired.GetName()})
		}
		got = append(got, gw)
	}
	want := []wave{
		{WaveNamespaces, "namespaces", []step{{"namespaces", "", "shop"}}},
		{WaveConfig, "config", []step{{"configmaps", "blog", "z"}, {"configmaps", "shop", "a"}, {"configmaps", "shop", "b"}, {"secrets", "shop", "a"}}},
		{WaveWorkloads, "workloads", []step{{"deployments", "shop", "web"}}},
		{WaveCustomResources, "custom resources", []step{{"backups", "shop", "nightly"}}},
		{WaveAdmission, "admission", []step{{"validatingwebhookconfigurations", "", "hook"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[Action]int{Create: 7, Skip: 1}, p.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	if n := len(Build(nil, Options{}).Waves); n != 0 {
		t.Errorf("empty plan has %d waves", n)
	}
}

// A step keeps the target copy's UID and nothing more of it; an item whose object waits on disk (Ref and Load, no Desired) is
// planned by its Ref and hash alone, and a Builder fed in any order gives
// the plan Build gives.
func TestBuilderKeepsTargetUIDAndPlansObjectsOnDisk(t *testing.T) {
	cur := current(t, "h1", nil, nil)
	cur.SetUID("uid-1")
	onDisk := parse(t, desiredCM)
	onDisk.SetName("other")
	items := []Item{
		{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Namespaced: true, Desired: parse(t, desiredCM), Current: cur},
		{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Namespaced: true, Ref: RefOf(onDisk), DesiredHash: "h2",
			Stored: inMemory{onDisk}},
	}
	{
		p := Build(items, Options{})
		if len(p.Waves) != 1 || len(p.Waves[0].Steps) != 2 {
			t.Fatalf("plan %+v: want one wave of two steps", p)
		}
		app, other := p.Waves[0].Steps[0], p.Waves[0].Steps[1]
		if app.Ref.Name != "app" || other.Ref.Name != "other" {
			t.Fatalf("steps %q, %q: want app then other", app.Ref.Name, other.Ref.Name)
		}
		if app.TargetUID != "uid-1" || app.Action != Update {
			t.Errorf("step of an object the target has: uid %q action %s, want uid-1 update", app.TargetUID, app.Action)
		}
		if app.Current != nil || app.Target != nil {
			t.Errorf("the step holds the target's copy: %v %v", app.Current, app.Target)
		}
		if other.TargetUID != "" || other.Action != Create || other.Hash != "h2" || other.Desired != nil {
			t.Errorf("step of an object on disk: uid %q action %s hash %q desired %v, want a create with the item's hash and no object held", other.TargetUID, other.Action, other.Hash, other.Desired)
		}
		if full, err := other.Full(); err != nil || full.GetName() != "other" {
			t.Errorf("the object on disk read back: %v %v", full, err)
		}
	}
	b := NewBuilder(Options{})
	b.Add(items[1])
	b.Add(items[0])
	if got, want := b.Plan(), Build(items, Options{}); !cmp.Equal(got, want, cmpopts.IgnoreFields(Item{}, "Stored")) {
		t.Errorf("a Builder fed out of order: %s", cmp.Diff(want, got, cmpopts.IgnoreFields(Item{}, "Stored")))
	}
}

// inMemory is a plan.Stored that holds its object.
type inMemory struct{ o *unstructured.Unstructured }

func (m inMemory) Load() (*unstructured.Unstructured, error) { return m.o.DeepCopy(), nil }
func (m inMemory) Body() ([]byte, error)                     { return m.o.MarshalJSON() }

// A Builder told what is coming allocates each wave's steps once: the plan
// is the same, and no step array is larger than its wave.
func TestBuilderExpectAllocatesOnce(t *testing.T) {
	var items []Item
	for _, n := range []string{"a", "b", "c"} {
		o := parse(t, desiredCM)
		o.SetName(n)
		items = append(items, Item{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Namespaced: true, Desired: o})
	}
	b := NewBuilder(Options{})
	for _, it := range items {
		b.Expect(it.Desired.GroupVersionKind().GroupKind())
	}
	for _, it := range items {
		b.Add(it)
	}
	i, _ := WaveOf(items[0].Desired.GroupVersionKind().GroupKind())
	if n := cap(b.byWave[i]); n != len(items) {
		t.Errorf("the wave's steps have room for %d, want exactly %d", n, len(items)) // appended one by one: 4
	}
	if got, want := b.Plan(), Build(items, Options{}); !cmp.Equal(got, want) {
		t.Errorf("plan with Expect: %s", cmp.Diff(want, got))
	}
}

// An object tandem created is tandem's: no foreign manager, no GitOps
// guess, and a change is applied after its fields move to the apply.
func TestCreatedByTandemIsOursAndUpgraded(t *testing.T) {
	it := Item{Resource: schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Namespaced: true, Desired: parse(t, desiredCM)}
	for _, c := range []struct {
		managers []string
		upgrade  bool
		foreign  int
		action   Action
	}{
		{[]string{CreateManager}, true, 0, Update},
		{[]string{CreateManager, "kubectl-edit"}, true, 1, Update},
		{[]string{FieldManager}, false, 0, Update},
		{[]string{CreateManager + "/status"}, false, 0, Update},
	} {
		it.Current = current(t, "old", nil, nil, c.managers...)
		s := decide(it, Options{})
		if s.Upgrade != c.upgrade || len(s.Foreign) != c.foreign || s.Action != c.action || s.GitOps != "" {
			t.Errorf("managers %v: upgrade %v foreign %v action %s gitops %q, want upgrade %v, %d foreign, %s, no GitOps",
				c.managers, s.Upgrade, s.Foreign, s.Action, s.GitOps, c.upgrade, c.foreign, c.action)
		}
	}
}

// A CRD an operator makes from another object (Gatekeeper's constraint
// kinds) is written where the target lacks it, so its custom resources can
// come across before the operator runs there; one the target's operator
// made is left to it, and one tandem wrote is kept in step as any copy.
func TestMadeCRDIsWrittenOnlyWhereTheTargetLacksIt(t *testing.T) {
	crd := parse(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: k8srequiredlabels.constraints.gatekeeper.sh
  ownerReferences:
  - {apiVersion: templates.gatekeeper.sh/v1beta1, kind: ConstraintTemplate, name: k8srequiredlabels, uid: u1, controller: true}
spec: {group: constraints.gatekeeper.sh}
`)
	it := Item{Resource: schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, Desired: crd, Ref: RefOf(crd)}
	target := func(hash string, managers ...string) *Target {
		var entries []ManagedEntry
		for _, m := range managers {
			entries = append(entries, ManagedEntry{Manager: m})
		}
		return &Target{UID: "t1", Managers: entries, Hash: hash, Hashed: hash != ""}
	}
	adopted := func(t *Target) *Target { t.Controlled = true; return t }
	helm := func(t *Target) *Target {
		t.Labels = map[string]string{"app.kubernetes.io/managed-by": "Helm"}
		t.Annotations = map[string]string{"meta.helm.sh/release-name": "gk", "meta.helm.sh/release-namespace": "gatekeeper-system"}
		return t
	}
	for _, c := range []struct {
		name   string
		target *Target
		action Action
		says   string
	}{
		{"the target lacks it", nil, Create, "copied as the target lacks it"},
		{"the target's operator made it", target("", "gatekeeper"), Skip, "made in the target by the controller of its owner ConstraintTemplate/k8srequiredlabels"},
		{"tandem wrote it, the source changed it", target("old", FieldManager), Update, ""},
		{"tandem wrote it, the operator adopted it", adopted(target("old", FieldManager, "gatekeeper")), Skip, "adopted in the target by the controller of its owner ConstraintTemplate/k8srequiredlabels"},
		{"Helm installed it in the target", helm(target("")), Skip, "managed by Helm release gk in the target"},
	} {
		t.Run(c.name, func(t *testing.T) {
			it.Target = c.target
			s := decide(it, Options{})
			got := s.Reason + " " + strings.Join(s.Decision.Notes, "; ")
			if s.Action != c.action || (c.says != "" && !strings.Contains(got, c.says)) {
				t.Errorf("%s (%q), want %s saying %q", s.Action, got, c.action, c.says)
			}
		})
	}
	// Only a CRD: a ConfigMap a controller made is no such thing.
	owned := parse(t, desiredCM)
	owned.SetOwnerReferences(crd.GetOwnerReferences())
	if made := sanitize.MadeCRD(owned.GroupVersionKind().GroupKind(), owned.GetOwnerReferences()); made != "" {
		t.Errorf("a ConfigMap is a made CRD of %s", made)
	}
}

// An entry owning only finalizers and status owns nothing a copy carries;
// one owning anything else does, and so does one without a field set.
func TestManagersOfTellsEntriesWithoutContent(t *testing.T) {
	o := parse(t, `
apiVersion: example.com/v1
kind: Bucket
metadata:
  name: logs
  managedFields:
  - {manager: tandem, operation: Apply, fieldsType: FieldsV1, fieldsV1: {f:spec: {f:region: {}}}}
  - {manager: bucket-operator, operation: Update, fieldsType: FieldsV1, fieldsV1: {f:metadata: {f:finalizers: {.: {}, 'v:"example.com/x"': {}}}, f:status: {f:phase: {}}}}
  - {manager: labeller, operation: Update, fieldsType: FieldsV1, fieldsV1: {f:metadata: {f:finalizers: {'v:"example.com/y"': {}}, f:labels: {f:team: {}}}}}
  - {manager: old-client, operation: Update}
`)
	got := ManagersOf(o)
	want := []ManagedEntry{{Manager: "tandem"}, {Manager: "bucket-operator", NoContent: true}, {Manager: "labeller"}, {Manager: "old-client"}}
	if len(got) != len(want) {
		t.Fatalf("ManagersOf: %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if f := foreignManagers(got); len(f) != 2 || f[0] != "labeller" || f[1] != "old-client" {
		t.Errorf("foreign managers %v, want [labeller old-client]", f)
	}
}

// A copy the target is deleting is not written over, whatever the action
// would be: the write would go with it.
func TestStepOfACopyBeingDeleted(t *testing.T) {
	desired := parse(t, desiredCM)
	hash := Hash(desired)
	for _, tc := range []struct {
		name     string
		hash     string
		skip     bool
		deleting bool
		want     Action
	}{
		{"unchanged, being deleted", hash, false, true, Unchanged},
		{"differs, being deleted", "other", false, true, Update},
		{"skipped, being deleted", hash, true, true, Skip},
		{"unchanged, not being deleted", hash, false, false, Unchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := current(t, tc.hash, nil, nil, FieldManager)
			if tc.deleting {
				now := metav1.Now()
				cur.SetDeletionTimestamp(&now)
				cur.SetFinalizers([]string{"example.com/hold"})
			}
			it := Item{Desired: desired, Current: cur}
			if tc.skip {
				it.Decision = sanitize.Decision{Skip: true, Reason: "left behind"}
			}
			s, _ := Decide(it, Options{})
			if s.Action != tc.want {
				t.Errorf("action %s, want %s", s.Action, tc.want)
			}
			if want := tc.deleting && !tc.skip; s.TargetDeleting != want || (s.Reason == DeletingReason) != want {
				t.Errorf("TargetDeleting %v, reason %q; want deleting %v", s.TargetDeleting, s.Reason, want)
			}
		})
	}
}

// A write through the scale subresource set the main resource's replicas:
// its manager is told apart (ScaledBy), not counted among those whose
// fields make a conflict; a controller writing status, or the cluster's own
// scaler (an HPA), is neither.
func TestForeignManagersTellTheScaleSubresource(t *testing.T) {
	entries := []ManagedEntry{
		{Manager: "tandem"},
		{Manager: "kubectl", Subresource: "scale"},
		{Manager: "kube-controller-manager", Subresource: "scale"}, // an HPA
		{Manager: "web-operator", Subresource: "status"},
	}
	if got := foreignManagers(entries); len(got) != 0 {
		t.Errorf("foreign managers %v, want none", got)
	}
	if got := foreignManagers(entries, "scale"); len(got) != 1 || got[0] != "kubectl" {
		t.Errorf("scaled by %v, want [kubectl]", got)
	}
}

// An object whose namespace the target is deleting is not written there
// either, whether or not it has a copy.
func TestStepInANamespaceBeingDeleted(t *testing.T) {
	desired := parse(t, desiredCM)
	for _, cur := range []*unstructured.Unstructured{nil, current(t, "other", nil, nil, FieldManager)} {
		s, _ := Decide(Item{Desired: desired, Current: cur, NamespaceDeleting: true}, Options{})
		if !s.TargetDeleting || s.Reason != NamespaceDeletingReason {
			t.Errorf("copy %v: TargetDeleting %v, reason %q; want the namespace's reason", cur != nil, s.TargetDeleting, s.Reason)
		}
	}
	s, _ := Decide(Item{Desired: desired, NamespaceDeleting: true, Decision: sanitize.Decision{Skip: true, Reason: "left behind"}}, Options{})
	if s.TargetDeleting || s.Action != Skip {
		t.Errorf("a skipped object in a namespace being deleted: %+v", s)
	}
}
