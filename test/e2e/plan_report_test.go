package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/russross/blackfriday/v2"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// planJSON runs plan with -o json and the extra flags, checks the exit code
// and parses the report.
func planJSON(t *testing.T, wantCode int, extra ...string) *preflight.Report {
	t.Helper()
	args := append([]string{"plan", "--source", "blue", "--target", "green", "-o", "json"}, extra...)
	r := tandem(t, args...)
	if r.code != wantCode {
		t.Fatalf("tandem %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, r.stdout)
	}
	return &rep
}

// Given objects deployed by Helm and by Argo CD (with the Application CRD
// and an Application), a pod requesting more than green has, a pod pinned
// to a node group green does not have, replicas kept one per zone, more
// than green has zones, a LoadBalancer
// Service, an Ingress and a TargetGroupBinding, plan reports the owners, the
// capacity error with its numbers, and each entry point with the router
// that moves it (the binding: what the target needs instead of a copy).
func TestPlanOwnersCapacityExposure(t *testing.T) {
	const ns = "e2e-plan-owners"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		kubectl(t, "--context", "blue", "delete", "crd", "applications.argoproj.io", "--ignore-not-found", "--wait=false")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shop-settings","namespace":"`+ns+`",
"labels":{"app.kubernetes.io/managed-by":"Helm"},"annotations":{"meta.helm.sh/release-name":"shop","meta.helm.sh/release-namespace":"`+ns+`"}},"data":{"a":"1"}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"guestbook-ui","namespace":"`+ns+`",
"annotations":{"argocd.argoproj.io/tracking-id":"guestbook:/ConfigMap:`+ns+`/guestbook-ui"}},"data":{"b":"2"}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"applications.argoproj.io"},
"spec":{"group":"argoproj.io","scope":"Namespaced","names":{"plural":"applications","singular":"application","kind":"Application","shortNames":["app"]},
"versions":[{"name":"v1alpha1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	mustKubectl(t, "--context", "blue", "wait", "--for", "condition=established", "--timeout=60s", "crd/applications.argoproj.io")
	kubectlCreate(t, "blue", `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"guestbook","namespace":"`+ns+`"},
"spec":{"project":"default","source":{"repoURL":"https://git.example/guestbook.git","path":"guestbook"},
"destination":{"server":"https://kubernetes.default.svc","namespace":"`+ns+`"}}}`)
	// One pod asking for more CPU than all of green's nodes have (it stays Pending in blue too).
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"hungry","namespace":"`+ns+`"},"spec":{"replicas":1,
"selector":{"matchLabels":{"app":"hungry"}},"template":{"metadata":{"labels":{"app":"hungry"}},"spec":{
"tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],
"containers":[{"name":"c","image":"registry.example/hungry:1","resources":{"requests":{"cpu":"5000","memory":"1Gi"}}}]}}}}`)
	// One pinned to the old cluster's node group, a label no node of green has.
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"pinned","namespace":"`+ns+`"},"spec":{"replicas":1,
"selector":{"matchLabels":{"app":"pinned"}},"template":{"metadata":{"labels":{"app":"pinned"}},"spec":{
"nodeSelector":{"eks.amazonaws.com/nodegroup":"ng-blue"},
"containers":[{"name":"c","image":"registry.example/pinned:1"}]}}}}`)
	// Four replicas kept one per zone: green's nodes are in three.
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"apart","namespace":"`+ns+`"},"spec":{"replicas":4,
"selector":{"matchLabels":{"app":"apart"}},"template":{"metadata":{"labels":{"app":"apart"}},"spec":{
"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"apart"}},"topologyKey":"topology.kubernetes.io/zone"}]}},
"containers":[{"name":"c","image":"registry.example/apart:1"}]}}}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"edge","namespace":"`+ns+`"},
"spec":{"type":"LoadBalancer","selector":{"app":"hungry"},"ports":[{"port":443,"targetPort":8443}]}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"shop","namespace":"`+ns+`",
"annotations":{"external-dns.alpha.kubernetes.io/hostname":"shop.example"}},
"spec":{"rules":[{"host":"shop.example","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"edge","port":{"number":443}}}}]}}]}}`)
	// A TargetGroupBinding written by hand (the CRD as TestShiftALBIngress leaves it).
	if r := kubectl(t, "--context", "blue", "get", "crd", "targetgroupbindings.elbv2.k8s.aws"); r.code != 0 {
		kubectlCreate(t, "blue", tgbCRD)
	}
	mustKubectl(t, "--context", "blue", "wait", "--for=condition=Established", "crd/targetgroupbindings.elbv2.k8s.aws", "--timeout=60s")
	eventually(t, 30e9, func() error {
		r := kubectl(t, "--context", "blue", "-n", ns, "get", "targetgroupbindings")
		if r.code != 0 {
			return errString("the TargetGroupBinding resource is not served yet: " + r.stderr)
		}
		return nil
	})
	kubectlCreate(t, "blue", `{"apiVersion":"elbv2.k8s.aws/v1beta1","kind":"TargetGroupBinding","metadata":{"name":"edge","namespace":"`+ns+`"},
"spec":{"targetGroupARN":"arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/edge-blue/6d0ecf831eec9f09","serviceRef":{"name":"edge","port":443}}}`)
	eventually(t, 60e9, func() error {
		for _, app := range []string{"hungry", "pinned"} {
			if out := kubectl(t, "--context", "blue", "-n", ns, "get", "pods", "-l", "app="+app, "-o", "name").stdout; out == "" {
				return errString("no pod of " + app + " yet")
			}
		}
		return nil
	})

	rep := planJSON(t, 1, "--only", "owners,capacity,exposure")
	cases := []struct {
		name, check, object string
		severity            preflight.Severity
		want                string // in the message or the fix
	}{
		{"helm release", "owners", "Helm release " + ns + "/shop", preflight.Warning, "helm --kube-context"},
		{"argo application", "owners", "Argo CD Application", preflight.Warning, "https://kubernetes.default.svc"},
		{"capacity", "capacity", "target green", preflight.Error, "cpu: source requests"},
		{"placement", "capacity", "Deployment " + ns + "/pinned", preflight.Warning, "didn't match the pod's nodeSelector eks.amazonaws.com/nodegroup=ng-blue"},
		{"kept apart", "capacity", "Deployment " + ns + "/apart", preflight.Warning, "1 of its 4 pods cannot be placed: its required pod anti-affinity keeps them one per topology.kubernetes.io/zone, and the target's nodes that can run them have 3"},
		{"load balancer", "exposure", "Service " + ns + "/edge", preflight.Info, "route53://"},
		{"ingress host", "exposure", "Ingress.networking.k8s.io " + ns + "/shop", preflight.Info, "externaldns://ingress/" + ns + "/shop"},
		{"target group binding", "exposure", "TargetGroupBinding.elbv2.k8s.aws " + ns + "/edge", preflight.Warning, "sync does not copy it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range planFind(rep, c.check, c.object, "") {
				if strings.Contains(f.Message+" "+f.Fix, c.want) {
					if f.Severity != c.severity {
						t.Errorf("severity %s, want %s: %+v", f.Severity, c.severity, f)
					}
					return
				}
			}
			t.Errorf("no %s finding on %q mentioning %q; findings: %+v", c.check, c.object, c.want, planFind(rep, c.check, "", ""))
		})
	}
	if fs := planFind(rep, "owners", "Argo CD Application", ""); len(fs) != 1 || !strings.Contains(fs[0].Message, "manages 1 objects") {
		t.Errorf("the tracked ConfigMap and the Application must be one Argo CD finding: %+v", fs)
	}
}

// --fail-on sets the severity that fails the plan: the pdb and stateful
// checks find only warnings on the lab, so warning fails and error passes.
func TestPlanFailOn(t *testing.T) {
	labAtRest(t) // blue's workloads running, as the pdb findings assume
	rep := planJSON(t, 1, "--only", "pdb,stateful", "--fail-on", "warning")
	if rep.Blocking(preflight.Warning) == 0 || rep.Errors() != 0 {
		t.Fatalf("want warnings and no errors on pdb,stateful: %+v", rep.Findings)
	}
	// The lab's volumes are hostPath directories without node affinity:
	// each bound one is named, its data being on the machine that wrote it.
	var hostPaths int
	for _, f := range planFind(rep, "stateful", "PersistentVolume ", "") {
		if strings.Contains(f.Message, "a hostPath volume (") && f.Severity == preflight.Warning {
			hostPaths++
		}
	}
	bound := len(strings.Fields(mustKubectl(t, "--context", "blue", "get", "pv", "-o", `jsonpath={range .items[?(@.spec.claimRef)]}{.spec.hostPath.path}{"\n"}{end}`)))
	if bound == 0 || hostPaths != bound {
		t.Errorf("%d hostPath findings, want one per bound hostPath PV of blue (%d)", hostPaths, bound)
	}
	planJSON(t, 0, "--checks", "pdb,stateful", "--fail-on", "error")
	if r := tandem(t, "plan", "--source", "blue", "--target", "green", "--fail-on", "fatal"); r.code != 2 || !strings.Contains(r.stderr, "--fail-on") {
		t.Errorf("--fail-on fatal: exit %d, stderr %q; want 2 naming the flag", r.code, r.stderr)
	}
}

// An aggregated API whose backend is down: the plan finishes, names what it
// could not check, and exits 3 (not 1: nothing it saw blocks the move).
func TestPlanUnreadableResourceIsUncheckedExitThree(t *testing.T) {
	labAtRest(t) // blue's workloads running, as the pdb findings assume
	const ns = "e2e-plan-broken"
	const apiservice = "v1alpha1.broken.e2e.example.com"
	t.Cleanup(func() {
		// The APIService first: a namespace is not deleted while discovery fails.
		kubectl(t, "--context", "blue", "delete", "apiservice", apiservice, "--ignore-not-found")
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"api","namespace":"`+ns+`"},"spec":{"ports":[{"port":443}]}}`)
	brokenAPIService(t, "blue", "broken.e2e.example.com", "v1alpha1", ns, "api")
	rep := planJSON(t, 3, "--only", "pdb,stateful")
	fs := planFind(rep, preflight.CheckUnchecked, "broken.e2e.example.com/v1alpha1", "")
	if len(fs) == 0 || len(rep.Unchecked) == 0 {
		t.Fatalf("no unchecked finding naming broken.e2e.example.com/v1alpha1: %+v / %+v", rep.Findings, rep.Unchecked)
	}
	if len(rep.Checks) != 2 || rep.Objects == 0 {
		t.Errorf("the report must go on: checks %+v, %d objects", rep.Checks, rep.Objects)
	}
	// Blockers still win over "could not look".
	planJSON(t, 1, "--only", "pdb,stateful", "--fail-on", "warning")
}

// -o markdown is a report a team attaches to a change request: it parses as
// markdown with the title, the summary, findings by severity and the checks.
func TestPlanMarkdownReport(t *testing.T) {
	r := tandem(t, "plan", "--source", "blue", "--target", "green", "-o", "markdown")
	if r.code != 1 && r.code != 0 {
		t.Fatalf("plan -o markdown: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	html := string(blackfriday.Run([]byte(r.stdout), blackfriday.WithExtensions(blackfriday.CommonExtensions)))
	for _, want := range []string{"<h1>Migration preflight: blue → green</h1>", "<h2>Summary</h2>", "<h2>Warnings (", "<h2>What was checked</h2>",
		"<table>", "<th>severity</th>", "<th>fix</th>", "<td>v1.30.14</td>", "<td>v1.37.2</td>", "<td>capacity</td>"} {
		if !strings.Contains(html, want) {
			t.Errorf("markdown rendered to HTML lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Count(html, "<table>") < 4 {
		t.Errorf("want the clusters, summary, findings and checks tables; got %d tables:\n%s", strings.Count(html, "<table>"), r.stdout)
	}
}

// brokenAPIService creates in cluster the APIService version.group served
// by the Service namespace/name, which has no backend, and waits until the
// cluster says it is not available (its discovery then fails). The caller
// deletes it.
func brokenAPIService(t *testing.T, cluster, group, version, namespace, name string) {
	t.Helper()
	apiservice := version + "." + group
	kubectlCreate(t, cluster, `{"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService","metadata":{"name":"`+apiservice+`"},
"spec":{"group":"`+group+`","version":"`+version+`","groupPriorityMinimum":1000,"versionPriority":15,"insecureSkipTLSVerify":true,
"service":{"namespace":"`+namespace+`","name":"`+name+`","port":443}}}`)
	eventually(t, 60e9, func() error {
		st := kubectl(t, "--context", cluster, "get", "apiservice", apiservice, "-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`).stdout
		if st != "False" {
			return errString("APIService Available=" + st)
		}
		return nil
	})
}

type errString string

func (e errString) Error() string { return string(e) }
