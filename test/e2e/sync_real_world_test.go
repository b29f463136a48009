package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/internal/labtest"
	"github.com/tandem-io/tandem/pkg/standby"
)

// A release as its project ships it: the manifest (or the chart, rendered
// by helm) from the project's module at a pinned version, fetched from the
// Go module proxy as the lab's own binaries are. ns is where it is
// installed in blue; unplaced says its namespaced objects name no
// namespace (installed with kubectl -n, as its docs say); custom holds
// objects of its own kinds, made as a user of it would.
type release struct {
	name, module, ns string
	render           func(t *testing.T, dir, ns string) []byte
	unplaced         bool
	custom           string
}

func manifestAt(path string, replace ...string) func(*testing.T, string, string) []byte {
	return func(t *testing.T, dir, _ string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(strings.NewReplacer(replace...).Replace(string(b)))
	}
}

var releases = []release{
	{
		name: "argo-cd", module: "github.com/argoproj/argo-cd/v2@v2.14.21", ns: "e2e-rw-argocd", unplaced: true,
		// Its ClusterRoleBindings name the namespace argocd.
		render: func(t *testing.T, dir, ns string) []byte {
			return manifestAt("manifests/install.yaml", "namespace: argocd", "namespace: "+ns)(t, dir, ns)
		},
		custom: `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team-a}
spec:
  sourceRepos: ["https://github.com/argoproj/argocd-example-apps.git"]
  destinations: [{namespace: guestbook, server: "https://kubernetes.default.svc"}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook}
spec:
  project: team-a
  source: {repoURL: "https://github.com/argoproj/argocd-example-apps.git", targetRevision: HEAD, path: guestbook}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`,
	},
	{
		name: "prometheus-operator", module: "github.com/prometheus-operator/prometheus-operator@v0.85.0", ns: "e2e-rw-prom",
		render: func(t *testing.T, dir, ns string) []byte {
			return manifestAt("bundle.yaml", "namespace: default", "namespace: "+ns)(t, dir, ns)
		},
		custom: `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, labels: {team: a}}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: [{port: http, interval: 30s}]
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: web}
spec:
  groups:
  - name: web
    rules:
    - alert: WebDown
      expr: up{job="web"} == 0
      for: 5m
      labels: {severity: page}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: main}
spec:
  replicas: 2
  serviceMonitorSelector: {matchLabels: {team: a}}
  resources: {requests: {memory: 400Mi}}
`,
	},
	{
		name: "cert-manager", module: "github.com/cert-manager/cert-manager@v1.21.2", ns: "e2e-rw-cert-manager",
		// The chart, as `helm install` would render it. Its webhook has no
		// server in the lab, so no cert-manager objects are made.
		render: func(t *testing.T, dir, ns string) []byte {
			return helmTemplate(t, filepath.Join(dir, "deploy", "charts", "cert-manager"), ns,
				"--set", "crds.enabled=true", "--set", "image.tag=v1.21.2", "--kube-version", "1.30.14")
		},
	},
	{
		name: "kyverno", module: "github.com/kyverno/kyverno@v1.19.1", ns: "kyverno",
		// Its own namespace, kyverno, is in the manifest.
		render: manifestAt("config/install-latest-testing.yaml"),
		custom: `apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: require-team}
spec:
  validationFailureAction: Audit
  rules:
  - name: team-label
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "label team is required"
      pattern: {metadata: {labels: {team: "?*"}}}
`,
	},
}

// Real releases synced: argo-cd, the prometheus-operator, cert-manager
// (its chart) and kyverno, each as its project ships it, with a few objects
// of their own kinds, installed in blue (v1.30) and synced namespace by
// namespace into green (v1.37). Every object of theirs is in green, or
// sync says why not; every CRD is Established there; and a second sync
// writes nothing: what green's apiserver defaults or converts is not
// taken for a change.
func TestSyncRealWorldReleases(t *testing.T) {
	labAtRest(t)
	var args []string
	var objects []syncRow
	for _, rel := range releases {
		dir := moduleDir(t, rel.module)
		manifest := rel.render(t, dir, rel.ns)
		f := writeManifest(t, rel.name+".yaml", string(manifest))
		t.Cleanup(func() {
			for _, c := range []string{"blue", "green"} {
				del := []string{"--context", c, "delete", "-f", f, "--ignore-not-found", "--timeout=120s"}
				if rel.unplaced {
					del = append(del, "-n", rel.ns)
				}
				kubectl(t, del...)
				kubectl(t, "--context", c, "delete", "namespace", rel.ns, "--ignore-not-found", "--timeout=120s")
			}
		})
		if r := kubectl(t, "--context", "blue", "get", "namespace", rel.ns); r.code != 0 {
			mustKubectl(t, "--context", "blue", "create", "namespace", rel.ns)
		}
		apply := []string{"--context", "blue", "apply", "--server-side", "--field-manager", rel.name, "-f", f}
		if rel.unplaced {
			apply = append(apply, "-n", rel.ns)
		}
		mustKubectl(t, apply...)
		rows := manifestRows(t, manifest, rel.ns)
		if rel.custom != "" {
			var crds []string
			for _, r := range rows {
				if r.Kind == "CustomResourceDefinition" {
					crds = append(crds, r.Name)
				}
			}
			mustKubectl(t, append([]string{"--context", "blue", "wait", "--for", "condition=established", "--timeout=60s"}, crdRefs(crds)...)...)
			mustKubectl(t, "--context", "blue", "-n", rel.ns, "apply", "--server-side", "--field-manager", "e2e", "-f", writeManifest(t, rel.name+"-custom.yaml", rel.custom))
			rows = append(rows, manifestRows(t, []byte(rel.custom), rel.ns)...)
		}
		t.Logf("%s (%s): %d objects in blue", rel.name, rel.module, len(rows))
		objects = append(objects, rows...)
		args = append(args, "--namespace", rel.ns)
	}

	journal := t.TempDir()
	out, _ := syncJSON(t, journal, 0, args...)
	if bad := out.with("failed", "conflict"); len(bad) > 0 {
		t.Fatalf("sync of the releases: %d objects not written: %+v", len(bad), bad)
	}
	inBlue := getObjects(t, "blue", objects)
	inGreen := getObjects(t, "green", objects)
	// A cluster-scoped object is keyed without the namespace its row guessed.
	keyIn := func(objs map[string]map[string]any, r syncRow) (string, bool) {
		for _, ns := range []string{r.Namespace, ""} {
			if _, ok := objs[objKey(r.Group, r.Kind, ns, r.Name)]; ok {
				return objKey(r.Group, r.Kind, ns, r.Name), true
			}
		}
		return "", false
	}
	var missing []string
	skipped := 0
	for _, r := range objects {
		k, ok := keyIn(inBlue, r)
		if !ok {
			t.Fatalf("%s %s/%s of the releases is not in blue", r.Kind, r.Namespace, r.Name)
		}
		if _, ok := inGreen[k]; ok {
			continue
		}
		ns := jsonStr(inBlue[k], "metadata", "namespace")
		if s, ok := out.find(r.Kind, ns, r.Name); ok && s.Status == "skipped" && s.Reason != "" {
			skipped++
			t.Logf("not copied, as sync says: %s %s/%s: %s", r.Kind, ns, r.Name, s.Reason)
			continue
		}
		missing = append(missing, k)
	}
	if len(missing) > 0 {
		t.Fatalf("%d objects of the releases are neither in green nor said skipped by sync: %v", len(missing), missing)
	}
	var crds []string
	for _, o := range inGreen {
		if jsonStr(o, "kind") == "CustomResourceDefinition" {
			crds = append(crds, jsonStr(o, "metadata", "name"))
		}
	}
	if len(crds) < 30 {
		t.Fatalf("only %d CRDs of the releases in green", len(crds))
	}
	mustKubectl(t, append([]string{"--context", "green", "wait", "--for", "condition=established", "--timeout=60s"}, crdRefs(crds)...)...)

	again, _ := syncJSON(t, journal, 0, args...)
	if w := again.wrote(); len(w) > 0 {
		t.Fatalf("a second sync of the releases wrote %d objects (green's defaults or conversions taken for a change): %+v", len(w), w)
	}
	if len(again.Results) < len(objects)-skipped {
		t.Fatalf("the second sync looked at %d objects, want at least %d", len(again.Results), len(objects)-skipped)
	}

	// Parked as a standby: every workload of the releases in green is held
	// where it runs no pod, each with its original recorded.
	leaveLabAtRest(t)
	// Before the lab is put at rest (cleanups run last first): the
	// releases' namespaces leave green, so activating it restores none of
	// their workloads.
	t.Cleanup(func() {
		for _, rel := range releases {
			kubectl(t, "--context", "green", "delete", "namespace", rel.ns, "--ignore-not-found", "--wait=false")
		}
	})
	if _, r := syncJSON(t, journal, 0, append([]string{"--standby"}, args...)...); r.code != 0 {
		t.Fatalf("sync --standby of the releases: exit %d\n%s", r.code, r.stderr)
	}
	inGreen = getObjects(t, "green", objects)
	parked := 0
	for _, r := range objects {
		k, ok := keyIn(inGreen, r)
		if !ok {
			continue // not copied, said so above
		}
		o := inGreen[k]
		var held bool
		var recorded string
		switch r.Kind {
		case "Deployment", "StatefulSet":
			held, recorded = fmt.Sprint(nested(o, "spec", "replicas")) == "0", standby.ReplicasAnnotation
		case "DaemonSet":
			held, recorded = fmt.Sprint(nested(o, "spec", "template", "spec", "nodeSelector", standby.ParkedKey)) == standby.ParkedValue, standby.NodeSelectorAnnotation
		case "CronJob":
			held, recorded = nested(o, "spec", "suspend") == true, standby.SuspendAnnotation
		default:
			continue
		}
		annotations, _ := nested(o, "metadata", "annotations").(map[string]any)
		if _, ok := annotations[recorded]; !held || !ok {
			t.Errorf("%s in green is not parked by sync --standby (held %v, %s recorded %v)", k, held, recorded, ok)
		}
		parked++
	}
	if parked < 10 {
		t.Errorf("only %d workloads of the releases checked parked in green", parked)
	}
}

// nested is the value at path in o, nil when there is none.
func nested(o map[string]any, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// moduleDir downloads module (path@version) from the Go module proxy into
// the module cache, outside any module of ours, and returns its directory.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	out, err := cmd.Output()
	var got struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &got); jerr != nil || got.Dir == "" {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go mod download %s: %v %s\n%s%s", module, err, got.Error, out, ee.Stderr)
		}
		t.Fatalf("go mod download %s: %v %v %s\n%s", module, err, jerr, got.Error, out)
	}
	return got.Dir
}

// helmTemplate renders the chart in dir as a release of its name in ns.
func helmTemplate(t *testing.T, dir, ns string, extra ...string) []byte {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(labtest.Helm(t), append([]string{"template", filepath.Base(dir), dir, "--namespace", ns}, extra...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", dir, err, stderr.String())
	}
	return out
}

// manifestRows names each object of a multi-document manifest, in ns
// unless it names its own namespace (cluster-scoped objects too: getObjects
// keys them by the namespace the cluster gives them).
func manifestRows(t *testing.T, manifest []byte, ns string) []syncRow {
	t.Helper()
	var rows []syncRow
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct{ Name, Namespace string }
		}
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatal(err)
		}
		if o.Kind == "" {
			continue // an empty document
		}
		group, _, found := strings.Cut(o.APIVersion, "/")
		if !found {
			group = ""
		}
		if o.Metadata.Namespace == "" {
			o.Metadata.Namespace = ns
		}
		rows = append(rows, syncRow{Group: group, Kind: o.Kind, Namespace: o.Metadata.Namespace, Name: o.Metadata.Name})
	}
	return rows
}
