package labtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir       = "../../charts/tandem"
	chartNamespace = "tandem-system"
)

// TestHelmChart renders charts/tandem with the real helm and checks the
// objects a controller install needs.
func TestHelmChart(t *testing.T) {
	helm := Helm(t)
	env := append(os.Environ(), // keep helm off the user's config, cache and repositories
		"HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())

	t.Run("lint", func(t *testing.T) {
		out, err := runHelm(t, helm, env, "lint", "--strict", chartDir)
		if err != nil {
			t.Fatalf("helm lint: %v\n%s", err, out)
		}
	})

	var role rbacv1.ClusterRole
	data, err := os.ReadFile(filepath.Join(chartDir, "files", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatalf("files/role.yaml: %v", err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("files/role.yaml has no rules")
	}

	for _, tc := range []struct {
		name     string
		set      []string
		replicas int32
		shard    string
	}{
		{name: "defaults", replicas: 2},
		{name: "shard", set: []string{"--set", "shard=team-a", "--set", "replicaCount=3"}, replicas: 3, shard: "team-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"template", "tandem", chartDir, "--namespace", chartNamespace, "--include-crds"}, tc.set...)
			out, err := runHelm(t, helm, env, args...)
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, out)
			}
			objs := decodeDocuments(t, out)
			checkChart(t, objs, role.Rules, tc.replicas, tc.shard)
		})
	}
}

func runHelm(t *testing.T, helm string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// decodeDocuments splits a multi-document YAML stream into objects, skipping
// documents that are empty or only comments.
func decodeDocuments(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("split rendered YAML: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("decode rendered document: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			t.Fatalf("rendered document without kind or apiVersion:\n%s", doc)
		}
		objs = append(objs, u)
	}
	return objs
}

// only returns the one object of kind, converted strictly (an unknown field,
// e.g. one indented at the wrong level, fails the test) into into.
func only(t *testing.T, objs []*unstructured.Unstructured, kind string, into any) {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(found))
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(found[0].Object, into, true); err != nil {
		t.Fatalf("%s %s: %v", kind, found[0].GetName(), err)
	}
}

func checkChart(t *testing.T, objs []*unstructured.Unstructured, rules []rbacv1.PolicyRule, replicas int32, shard string) {
	var crds []string
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.GetName())
		}
	}
	slices.Sort(crds)
	if want := []string{"clusterpairs.tandem.io", "drills.tandem.io", "mirrors.tandem.io", "switchovers.tandem.io"}; !slices.Equal(crds, want) {
		t.Errorf("CRDs: got %v, want %v", crds, want)
	}

	var dep appsv1.Deployment
	only(t, objs, "Deployment", &dep)
	if dep.Namespace != chartNamespace {
		t.Errorf("Deployment namespace %q, want %q", dep.Namespace, chartNamespace)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != replicas {
		t.Errorf("Deployment replicas %v, want %d", dep.Spec.Replicas, replicas)
	}
	pod := dep.Spec.Template
	for k, v := range dep.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v {
			t.Errorf("pod label %s=%q, the selector wants %q", k, pod.Labels[k], v)
		}
	}
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"} {
		if dep.Labels[k] == "" {
			t.Errorf("Deployment has no label %s: %v", k, dep.Labels)
		}
	}
	if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Name != "tandem" {
		t.Fatalf("want one container named tandem, got %+v", pod.Spec.Containers)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "ghcr.io/tandem-io/tandem:0.1.0" {
		t.Errorf("image %q, want ghcr.io/tandem-io/tandem:0.1.0 (appVersion)", c.Image)
	}
	wantArgs := []string{"controller", "--leader-elect", "--leader-election-namespace=" + chartNamespace, "--metrics-addr=:8080", "--health-addr=:8081"}
	if shard != "" {
		wantArgs = append(wantArgs, "--shard="+shard)
	}
	if diff := cmp.Diff(wantArgs, c.Args); diff != "" {
		t.Errorf("container args (-want +got):\n%s", diff)
	}

	port := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.Int {
			return p.IntVal
		}
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				return cp.ContainerPort
			}
		}
		return -1
	}
	for _, pr := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an httpGet, got %+v", pr.name, pr.probe)
			continue
		}
		if g := pr.probe.HTTPGet; g.Path != pr.path || port(g.Port) != 8081 {
			t.Errorf("%s probe: httpGet %s on port %s (%d), want %s on 8081", pr.name, g.Path, g.Port.String(), port(g.Port), pr.path)
		}
	}
	if port(intstr.FromString("metrics")) != 8080 {
		t.Errorf("no container port metrics=8080: %+v", c.Ports)
	}

	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod securityContext: want runAsNonRoot, got %+v", sc)
	}
	if sc := c.SecurityContext; sc == nil ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext: want readOnlyRootFilesystem, no privilege escalation, drop ALL; got %+v", sc)
	}

	// State under XDG_STATE_HOME and /tmp are writable emptyDirs.
	if !slices.Contains(c.Env, corev1.EnvVar{Name: "XDG_STATE_HOME", Value: "/var/lib/tandem"}) {
		t.Errorf("env: no XDG_STATE_HOME=/var/lib/tandem in %+v", c.Env)
	}
	for _, path := range []string{"/var/lib/tandem", "/tmp"} {
		i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path })
		if i < 0 {
			t.Errorf("no volume mounted at %s", path)
			continue
		}
		j := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
		if j < 0 || pod.Spec.Volumes[j].EmptyDir == nil {
			t.Errorf("volume %s at %s: want an emptyDir", c.VolumeMounts[i].Name, path)
		}
	}

	// The replicas prefer different nodes.
	if a := pod.Spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 ||
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("affinity: want a preferred podAntiAffinity on kubernetes.io/hostname, got %+v", a)
	}

	var sa corev1.ServiceAccount
	only(t, objs, "ServiceAccount", &sa)
	if sa.Namespace != chartNamespace || pod.Spec.ServiceAccountName != sa.Name {
		t.Errorf("ServiceAccount %s/%s; the pod runs as %q", sa.Namespace, sa.Name, pod.Spec.ServiceAccountName)
	}

	var cr rbacv1.ClusterRole
	only(t, objs, "ClusterRole", &cr)
	if diff := cmp.Diff(rules, cr.Rules); diff != "" {
		t.Errorf("ClusterRole rules differ from files/role.yaml (-file +rendered):\n%s", diff)
	}

	var crb rbacv1.ClusterRoleBinding
	only(t, objs, "ClusterRoleBinding", &crb)
	if crb.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name}) {
		t.Errorf("ClusterRoleBinding roleRef %+v, want ClusterRole %s", crb.RoleRef, cr.Name)
	}
	if want := (rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: chartNamespace}); !slices.Contains(crb.Subjects, want) {
		t.Errorf("ClusterRoleBinding subjects %+v, want %+v", crb.Subjects, want)
	}

	var svc corev1.Service
	only(t, objs, "Service", &svc)
	if svc.Namespace != chartNamespace {
		t.Errorf("Service namespace %q, want %q", svc.Namespace, chartNamespace)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics" })
	if i < 0 || svc.Spec.Ports[i].Port != 8080 || port(svc.Spec.Ports[i].TargetPort) != 8080 {
		t.Errorf("Service ports %+v: want metrics 8080 -> container 8080", svc.Spec.Ports)
	}
	if len(svc.Spec.Selector) == 0 {
		t.Error("Service has no selector")
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("Service selector %s=%q does not match the pod (%q)", k, v, pod.Labels[k])
		}
	}
}
