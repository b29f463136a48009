package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// mirrorNS are the namespaces the mirror test writes in blue.
const mirrorNS = "mirror-e2e"

// configMaps returns name → data of the ConfigMaps of ns in a cluster ("" when the namespace is absent).
func configMaps(t *testing.T, ctxName, ns string) map[string]string {
	t.Helper()
	r := kubectl(t, "--context", ctxName, "-n", ns, "get", "configmaps", "-o", "json")
	if r.code != 0 {
		return nil
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string }
			Data     map[string]string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range list.Items {
		if it.Metadata.Name == "kube-root-ca.crt" {
			continue // each cluster's own
		}
		b, _ := json.Marshal(it.Data)
		out[it.Metadata.Name] = string(b)
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sameConfigMaps waits until green has exactly blue's ConfigMaps in each namespace.
func sameConfigMaps(t *testing.T, timeout time.Duration, namespaces ...string) {
	t.Helper()
	eventually(t, timeout, func() error {
		for _, ns := range namespaces {
			b, g := configMaps(t, "blue", ns), configMaps(t, "green", ns)
			if fmt.Sprint(b) != fmt.Sprint(g) {
				return fmt.Errorf("namespace %s: blue %v, green %v", ns, keys(b), keys(g))
			}
		}
		return nil
	})
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMirror(t *testing.T) {
	// Green a plain target, and no mirror into it left by an earlier test (a
	// killed one keeps its lease until it runs out).
	labAtRest(t)
	waitNoLiveMirror(t, "green")
	ns1, ns2 := mirrorNS+"-1", mirrorNS+"-2"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns1, ns2, "--wait=false", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns1)
	mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", "before", "--from-literal=v=0")
	mustKubectl(t, "--context", "blue", "-n", ns1, "create", "deployment", "app", "--image", "nginx:1.26", "--replicas", "1")

	t.Run("bad input", func(t *testing.T) {
		r := tandem(t, "mirror", "--source", "blue", "--target", "blue", "--duration", "5s")
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Fatalf("mirror into itself: exit %d, stderr %q; want exit 2, one line", r.code, r.stderr)
		}
	})

	// A kind blue serves when the mirror starts, uninstalled while it runs.
	const early = "sprockets.e2e-early.tandem.io"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "crd", early, "--wait=false", "--ignore-not-found")
		}
	})
	kubectlCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+early+`"},
"spec":{"group":"e2e-early.tandem.io","scope":"Namespaced","names":{"plural":"sprockets","singular":"sprocket","kind":"Sprocket"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	mustKubectl(t, "--context", "blue", "wait", "--for=condition=Established", "crd/"+early, "--timeout=60s")

	metrics := freePort(t)
	run := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--prune", "--metrics-addr", metrics,
		"--duration", "10m", "--progress-every", "2s", "-v")
	run.waitFor(t, "initial pass done", 2*time.Minute)
	sameConfigMaps(t, 30*time.Second, ns1)

	t.Run("a second mirror into the same target is refused", func(t *testing.T) {
		r := tandem(t, "mirror", "--source", "blue", "--target", "green", "--duration", "5s")
		if r.code != 2 || !strings.Contains(r.stderr, "already running") {
			t.Fatalf("second mirror: exit %d\n%s", r.code, r.stderr)
		}
	})

	t.Run("creates, updates, deletes, images and new namespaces reach green", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", fmt.Sprintf("c%02d", i), fmt.Sprintf("--from-literal=v=%d", i))
		}
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "configmap", "c03", "-p", `{"data":{"v":"changed"}}`)
		mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "configmap", "c05")
		mustKubectl(t, "--context", "blue", "-n", ns1, "set", "image", "deployment/app", "nginx=nginx:1.27")
		mustKubectl(t, "--context", "blue", "create", "namespace", ns2)
		mustKubectl(t, "--context", "blue", "-n", ns2, "create", "configmap", "fresh", "--from-literal=v=new")
		sameConfigMaps(t, 30*time.Second, ns1, ns2)
		eventually(t, 30*time.Second, func() error {
			img := kubectl(t, "--context", "green", "-n", ns1, "get", "deployment", "app", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
			if img != "nginx:1.27" {
				return fmt.Errorf("image in green %q", img)
			}
			return nil
		})
	})

	t.Run("a person's Endpoints and EndpointSlice of a Service without a selector are followed", func(t *testing.T) {
		// An external database behind a Service without a selector: its
		// address is written by hand, and moves.
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"db","namespace":"`+ns1+`"},"spec":{"ports":[{"port":5432}]}}`)
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"db","namespace":"`+ns1+`"},"subsets":[{"addresses":[{"ip":"10.9.9.1"}],"ports":[{"port":5432}]}]}`)
		kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"cache","namespace":"`+ns1+`"},"spec":{"ports":[{"port":6379}]}}`)
		kubectlCreate(t, "blue", `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"cache-1","namespace":"`+ns1+`","labels":{"kubernetes.io/service-name":"cache"}},
"addressType":"IPv4","endpoints":[{"addresses":["10.9.8.1"]}],"ports":[{"port":6379}]}`)
		addressIn := func(kind, name, path string) string {
			return kubectl(t, "--context", "green", "-n", ns1, "get", kind, name, "-o", "jsonpath="+path).stdout
		}
		follows := func(kind, name, path, want string) {
			t.Helper()
			eventually(t, 30*time.Second, func() error {
				if got := addressIn(kind, name, path); got != want {
					return fmt.Errorf("%s %s in green: %q, want %q", kind, name, got, want)
				}
				return nil
			})
		}
		follows("endpoints", "db", "{.subsets[0].addresses[0].ip}", "10.9.9.1")
		follows("endpointslices.discovery.k8s.io", "cache-1", "{.endpoints[0].addresses[0]}", "10.9.8.1")
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "endpoints", "db", "--type=json", "-p", `[{"op":"replace","path":"/subsets/0/addresses/0/ip","value":"10.9.9.2"}]`)
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "endpointslices.discovery.k8s.io", "cache-1", "--type=json", "-p", `[{"op":"replace","path":"/endpoints/0/addresses/0","value":"10.9.8.2"}]`)
		follows("endpoints", "db", "{.subsets[0].addresses[0].ip}", "10.9.9.2")
		follows("endpointslices.discovery.k8s.io", "cache-1", "{.endpoints[0].addresses[0]}", "10.9.8.2")
		// Labelled as its controller's, it leaves the mirror's watch (an
		// informer's delete), not the source: its copy is not pruned.
		mustKubectl(t, "--context", "blue", "-n", ns1, "label", "endpoints", "db", "endpoints.kubernetes.io/managed-by=endpoint-controller")
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if got := addressIn("endpoints", "db", "{.subsets[0].addresses[0].ip}"); got != "10.9.9.2" {
				t.Fatalf("endpoints db in green once out of the watch: %q, want it kept (10.9.9.2)", got)
			}
		}
	})

	t.Run("an older source's controller Endpoints cost no read of their Service each, and a Service's selector removed makes them followed", func(t *testing.T) {
		// Blue (v1.30) does not label its endpoints controller's Endpoints:
		// the mirror watches all of them.
		mustKubectl(t, "--context", "blue", "-n", ns1, "create", "service", "clusterip", "picked", "--tcp=80:80")
		eventually(t, 30*time.Second, func() error {
			if r := kubectl(t, "--context", "green", "-n", ns1, "get", "service", "picked"); r.code != 0 {
				return fmt.Errorf("service picked not in green: %s", r.stderr)
			}
			if r := kubectl(t, "--context", "blue", "-n", ns1, "get", "endpoints", "picked"); r.code != 0 {
				return fmt.Errorf("blue's controller has not made endpoints picked: %s", r.stderr)
			}
			return nil
		})
		servicesRead := func() float64 {
			return metricValue(t, mustKubectl(t, "--context", "blue", "get", "--raw", "/metrics"), "apiserver_request_total", map[string]string{"resource": "services", "verb": "GET"})
		}
		heard := func() float64 {
			return metricValue(t, scrape(t, "http://"+metrics+"/metrics"), "tandem_mirror_events_total", map[string]string{"cluster": "blue", "resource": "endpoints", "type": "update"})
		}
		reads, heardBefore := servicesRead(), heard()
		const n = 20
		for i := range n {
			mustKubectl(t, "--context", "blue", "-n", ns1, "annotate", "--overwrite", "endpoints", "picked", fmt.Sprintf("e2e.tandem.io/touch=%d", i))
		}
		eventually(t, 30*time.Second, func() error {
			if h := heard(); h < heardBefore+n {
				return fmt.Errorf("the mirror heard %v of the %d endpoints changes", h-heardBefore, n)
			}
			return nil
		})
		time.Sleep(time.Second) // the last ones through the workers
		if got := servicesRead() - reads; got > 2 {
			t.Errorf("blue's Service picked was read %v times for %d changes of its controller's Endpoints; want at most 2", got, n)
		}
		if a := kubectl(t, "--context", "green", "-n", ns1, "get", "endpoints", "picked", "-o", `jsonpath={.metadata.annotations.e2e\.tandem\.io/touch}`).stdout; a != "" {
			t.Errorf("blue's controller Endpoints were copied to green (annotation %q)", a)
		}
		// The selector removed, the Endpoints are a person's: an address
		// written by hand in blue reaches green.
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "service", "picked", "--type=json", "-p", `[{"op":"remove","path":"/spec/selector"}]`)
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "endpoints", "picked", "--type=merge", "-p", `{"subsets":[{"addresses":[{"ip":"10.9.7.1"}],"ports":[{"port":80}]}]}`)
		eventually(t, 30*time.Second, func() error {
			if ip := kubectl(t, "--context", "green", "-n", ns1, "get", "endpoints", "picked", "-o", "jsonpath={.subsets[0].addresses[0].ip}").stdout; ip != "10.9.7.1" {
				return fmt.Errorf("endpoints picked in green: %q, want 10.9.7.1", ip)
			}
			return nil
		})
	})

	t.Run("an object another manager writes in green is not pruned", func(t *testing.T) {
		mustKubectl(t, "--context", "green", "-n", ns1, "create", "configmap", "local", "--from-literal=v=green")
		mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", "local", "--from-literal=v=green")
		// The mirror has copied blue's local onto green's (same data, so the
		// two managers share it) before blue's is deleted: only then is the
		// delete a prune the mirror must refuse.
		eventually(t, 30*time.Second, func() error {
			ann := kubectl(t, "--context", "green", "-n", ns1, "get", "configmap", "local", "-o", `jsonpath={.metadata.annotations.tandem\.io/source-hash}`).stdout
			if ann == "" {
				return fmt.Errorf("green's local not written by the mirror yet")
			}
			return nil
		})
		mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "configmap", "local")
		mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", "sentinel", "--from-literal=v=1")
		eventually(t, 30*time.Second, func() error {
			if _, ok := configMaps(t, "green", ns1)["sentinel"]; !ok {
				return fmt.Errorf("sentinel not in green yet")
			}
			return nil
		})
		eventually(t, 10*time.Second, func() error {
			if !strings.Contains(run.log(), `msg="not pruned"`) || !strings.Contains(run.log(), `why="also managed by kubectl-create"`) {
				return fmt.Errorf("the mirror has not said it leaves local alone")
			}
			return nil
		})
		if _, ok := configMaps(t, "green", ns1)["local"]; !ok {
			t.Fatal("the mirror pruned a ConfigMap kubectl created in green")
		}
		mustKubectl(t, "--context", "green", "-n", ns1, "delete", "configmap", "local")
	})

	t.Run("a namespace that holds another's object is not pruned", func(t *testing.T) {
		ns3 := mirrorNS + "-3"
		const crd = "gadgets.e2e-green.tandem.io"
		t.Cleanup(func() {
			for _, c := range []string{"blue", "green"} {
				kubectl(t, "--context", c, "delete", "namespace", ns3, "--wait=false", "--ignore-not-found")
			}
			kubectl(t, "--context", "green", "delete", "crd", crd, "--wait=false", "--ignore-not-found")
		})
		// A kind only green serves, made while the mirror runs (an operator
		// of green's own): blue's kinds at the mirror's start do not name it.
		kubectlCreate(t, "green", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
"spec":{"group":"e2e-green.tandem.io","scope":"Namespaced","names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
		mustKubectl(t, "--context", "green", "wait", "--for=condition=Established", "crd/"+crd, "--timeout=60s")
		copiedNamespace(t, ns3)
		// Someone else's object in the namespace tandem made in green.
		gadget := filepath.Join(t.TempDir(), "gadget.json")
		if err := os.WriteFile(gadget, []byte(`{"apiVersion":"e2e-green.tandem.io/v1","kind":"Gadget","metadata":{"name":"theirs","namespace":"`+ns3+`"},"spec":{"keep":true}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error { // kubectl may not know the new kind at once
			if r := kubectl(t, "--context", "green", "create", "-f", gadget); r.code != 0 && !strings.Contains(r.stderr, "AlreadyExists") {
				return fmt.Errorf("create Gadget: %s", r.stderr)
			}
			return nil
		})
		keepsNamespace(t, run, ns3, "it holds Gadget "+ns3+"/theirs (written by kubectl-create)")
		if r := kubectl(t, "--context", "green", "-n", ns3, "get", "gadget", "theirs"); r.code != 0 {
			t.Fatalf("their Gadget is gone: %s", r.stderr)
		}
	})

	t.Run("a namespace that holds another's Endpoints is not pruned", func(t *testing.T) {
		ns4 := mirrorNS + "-4"
		t.Cleanup(func() {
			for _, c := range []string{"blue", "green"} {
				kubectl(t, "--context", c, "delete", "namespace", ns4, "--wait=false", "--ignore-not-found")
			}
		})
		copiedNamespace(t, ns4)
		// Green's own address of an external database, written there by
		// hand: an Endpoints no Service selects, the only thing in the
		// namespace that is not tandem's.
		kubectlCreate(t, "green", `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"external-db","namespace":"`+ns4+`"},
"subsets":[{"addresses":[{"ip":"10.9.9.9"}],"ports":[{"port":5432}]}]}`)
		keepsNamespace(t, run, ns4, "it holds Endpoints "+ns4+"/external-db (written by kubectl-create)")
		if ip := kubectl(t, "--context", "green", "-n", ns4, "get", "endpoints", "external-db", "-o", "jsonpath={.subsets[0].addresses[0].ip}").stdout; ip != "10.9.9.9" {
			t.Fatalf("their Endpoints in green: address %q, want 10.9.9.9", ip)
		}
		// What green makes in every namespace is not news in the log.
		if strings.Contains(run.log(), ns4+"/kube-root-ca.crt") {
			t.Errorf("the mirror's log speaks of green's own CA ConfigMap of %s:\n%s", ns4, run.log())
		}
	})

	t.Run("a kind blue serves since the mirror started is mirrored, and unwatched once gone", func(t *testing.T) {
		const crd = "widgets.e2e-late.tandem.io"
		const brokenGroup = "e2e-broken-target.tandem.io"
		t.Cleanup(func() {
			kubectl(t, "--context", "green", "delete", "apiservice", "v1."+brokenGroup, "--ignore-not-found")
			for _, c := range []string{"blue", "green"} {
				kubectl(t, "--context", c, "delete", "crd", crd, "--wait=false", "--ignore-not-found")
			}
		})
		// And an aggregated API of green's own whose backend is down: the
		// refresh of the kinds reads green's discovery with that group
		// failing, and the source's whole.
		brokenAPIService(t, "green", brokenGroup, "v1", "default", "e2e-nowhere")
		// An operator installed in blue while the mirror runs: its CRD and
		// its first object come after the informers were started.
		kubectlCreate(t, "blue", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"`+crd+`"},
"spec":{"group":"e2e-late.tandem.io","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
		mustKubectl(t, "--context", "blue", "wait", "--for=condition=Established", "crd/"+crd, "--timeout=60s")
		widget := filepath.Join(t.TempDir(), "widget.json")
		if err := os.WriteFile(widget, []byte(`{"apiVersion":"e2e-late.tandem.io/v1","kind":"Widget","metadata":{"name":"w1","namespace":"`+ns1+`"},"spec":{"size":1}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, func() error { // kubectl may not know the new kind at once
			if r := kubectl(t, "--context", "blue", "create", "-f", widget); r.code != 0 && !strings.Contains(r.stderr, "AlreadyExists") {
				return fmt.Errorf("create Widget: %s", r.stderr)
			}
			return nil
		})
		size := func() string {
			return kubectl(t, "--context", "green", "-n", ns1, "get", "widgets.e2e-late.tandem.io", "w1", "-o", "jsonpath={.spec.size}").stdout
		}
		eventually(t, 90*time.Second, func() error {
			if got := size(); got != "1" {
				return fmt.Errorf("Widget w1 in green: size %q", got)
			}
			return nil
		})
		if !strings.Contains(run.log(), `msg="watching a kind the source serves since the mirror started" resource=widgets.e2e-late.tandem.io version=v1`) {
			t.Errorf("the mirror did not say it watches the new kind:\n%s", run.log())
		}
		// Its changes follow as any kind's.
		mustKubectl(t, "--context", "blue", "-n", ns1, "patch", "widgets.e2e-late.tandem.io", "w1", "--type=merge", "-p", `{"spec":{"size":2}}`)
		eventually(t, 30*time.Second, func() error {
			if got := size(); got != "2" {
				return fmt.Errorf("Widget w1 in green: size %q, want 2", got)
			}
			return nil
		})
		mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "widgets.e2e-late.tandem.io", "w1")
		eventually(t, 30*time.Second, func() error {
			if r := kubectl(t, "--context", "green", "-n", ns1, "get", "widgets.e2e-late.tandem.io", "w1"); r.code == 0 {
				return fmt.Errorf("Widget w1 still in green")
			}
			return nil
		})
		// The operators uninstalled, this one and one blue had when the
		// mirror started: neither kind is watched any more (an informer
		// left running would fail its watch for the rest of the run).
		mustKubectl(t, "--context", "blue", "delete", "crd", crd, early)
		for _, resource := range []string{"widgets.e2e-late.tandem.io", "sprockets.e2e-early.tandem.io"} {
			eventually(t, 90*time.Second, func() error {
				if !strings.Contains(run.log(), `msg="no longer watching a kind the source does not serve (at this version) any more" resource=`+resource+` version=v1`) {
					return fmt.Errorf("the mirror still watches %s", resource)
				}
				return nil
			})
		}
		after := len(run.log())
		time.Sleep(8 * time.Second) // an informer not stopped relists within a second or two, and says so each time
		if tail := run.log()[after:]; strings.Contains(tail, `resource=sprockets`) || strings.Contains(tail, `resource=widgets`) {
			t.Errorf("an informer of a kind no longer watched still runs:\n%s", tail)
		}
	})

	t.Run("pause holds changes until resume", func(t *testing.T) {
		mustTandem(t, "mirror", "pause", "--target", "green")
		st := mustTandem(t, "mirror", "status", "--target", "green", "-o", "json")
		if !strings.Contains(st, `"paused": true`) || !strings.Contains(st, `"live": true`) {
			t.Fatalf("mirror status after pause:\n%s", st)
		}
		// Once the mirror has taken the change in (its event counted) it holds
		// it: the copy, if it were made, would be made then.
		before, err := mirrorEvents(metrics, "configmaps", "add")
		if err != nil {
			t.Fatal(err)
		}
		mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", "held", "--from-literal=v=1")
		waitMirrorEvents(t, metrics, "configmaps", "add", before)
		if _, ok := configMaps(t, "green", ns1)["held"]; ok {
			t.Fatal("a paused mirror copied a change")
		}
		mustTandem(t, "mirror", "resume", "--target", "green")
		sameConfigMaps(t, 30*time.Second, ns1)
	})

	t.Run("blue's apiserver restarts: the mirror recovers and misses nothing", func(t *testing.T) {
		mustKubectl(t, "--context", "blue", "-n", ns1, "create", "configmap", "before-restart", "--from-literal=v=1")
		restartAPIServer(t, "blue")
		// The restart reset blue's apiserver metrics, which TestPlanFlagsBlockers reads
		// (apiserver_requested_deprecated_apis): seed again, as the suite began.
		defer mustTandem(t, "lab", "seed", "--dir", lab.dir)
		// Changes right after the restart, while the mirror's watches come back.
		for i := 0; i < 10; i++ {
			mustKubectl(t, "--context", "blue", "-n", ns2, "create", "configmap", fmt.Sprintf("after-%d", i), "--from-literal=v=1")
		}
		mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "configmap", "c07")
		mustKubectl(t, "--context", "blue", "-n", ns2, "patch", "configmap", "fresh", "-p", `{"data":{"v":"after-restart"}}`)
		sameConfigMaps(t, 90*time.Second, ns1, ns2)
		select {
		case <-run.done:
			t.Fatalf("the mirror stopped when blue's apiserver restarted:\n%s", run.log())
		default:
		}
	})

	t.Run("green's apiserver goes away and comes back: what changed meanwhile reaches it", func(t *testing.T) {
		before := len(run.log())
		stopAPIServer(t, "green")
		// Changes while the target is gone: their writes fail and are
		// requeued with backoff until it answers again.
		for i := 0; i < 5; i++ {
			mustKubectl(t, "--context", "blue", "-n", ns2, "create", "configmap", fmt.Sprintf("while-down-%d", i), "--from-literal=v=1")
		}
		mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "configmap", "c06")
		mustKubectl(t, "--context", "blue", "-n", ns2, "patch", "configmap", "fresh", "-p", `{"data":{"v":"while-green-was-down"}}`)
		mustTandem(t, "lab", "up", "--dir", lab.dir)
		sameConfigMaps(t, 90*time.Second, ns1, ns2)
		select {
		case <-run.done:
			t.Fatalf("the mirror stopped while green's apiserver was away:\n%s", run.log())
		default:
		}
		// Every other change that came while green was away (a
		// Deployment's status, a lease) is in step too: the first write
		// that went through woke them all, whatever their backoff.
		eventually(t, time.Minute, func() error {
			body := scrape(t, "http://"+metrics+"/metrics")
			if n := metricValue(t, body, "tandem_mirror_not_in_step", map[string]string{"cluster": "blue"}); n != 0 {
				return fmt.Errorf("tandem_mirror_not_in_step = %v", n)
			}
			return nil
		})
		if !strings.Contains(run.log()[before:], "the target cluster answers again") {
			t.Errorf("the mirror did not say it tried again at once what waited for green:\n%s", run.log())
		}
	})

	t.Run("metrics count events, writes and lag per cluster", func(t *testing.T) {
		body := scrape(t, "http://"+metrics+"/metrics")
		for _, want := range []string{
			`tandem_mirror_events_total{cluster="blue",resource="configmaps",type="add"}`,
			`tandem_mirror_applied_total{cluster="blue",outcome="applied",resource="configmaps"}`,
			`tandem_mirror_applied_total{cluster="blue",outcome="deleted",resource="configmaps"}`,
			`tandem_mirror_lag_seconds_count{cluster="blue"}`,
			`tandem_mirror_not_in_step{cluster="blue"}`,
			// Every watched resource's series from the start, at 0 until something happens.
			`tandem_mirror_failed_total{cluster="blue",resource="secrets"}`,
			`tandem_mirror_events_total{cluster="blue",resource="serviceaccounts",type="delete"}`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(body, `tandem_mirror_lag_seconds_count{cluster="blue"} 0`) {
			t.Error("no lag observed")
		}
		// Most changes are written from the object their watch event
		// brought; the source is read again only when that copy is not the
		// one the informer's cache is at (the relist after the restart).
		// (applied counts the initial pass's writes too; events are the watch's alone.)
		events := metricValue(t, body, "tandem_mirror_events_total", map[string]string{"cluster": "blue", "resource": "configmaps", "type": "add"}) +
			metricValue(t, body, "tandem_mirror_events_total", map[string]string{"cluster": "blue", "resource": "configmaps", "type": "update"})
		applied := metricValue(t, body, "tandem_mirror_applied_total", map[string]string{"cluster": "blue", "outcome": "applied", "resource": "configmaps"})
		reads := metricValue(t, body, "tandem_mirror_source_reads_total", map[string]string{"cluster": "blue", "resource": "configmaps"})
		if events < 20 || applied < 20 || reads >= events/2 {
			t.Errorf("configmaps: %v add/update events, %v applied, %v read from the source; want most taken from their watch events", events, applied, reads)
		}
	})

	run.stop(t)
	if !strings.Contains(run.log(), "mirror stopped:") {
		t.Fatalf("no final summary:\n%s", run.log())
	}
	if st := mustTandem(t, "mirror", "status", "--target", "green", "-o", "json"); !strings.Contains(st, `"live": false`) {
		t.Fatalf("the lease is still live after the mirror stopped:\n%s", st)
	}

	// Deleted in blue while no mirror runs: the next mirror with --prune
	// prunes it in green once its initial pass is done.
	if _, ok := configMaps(t, "green", ns1)["c12"]; !ok {
		t.Fatal("c12 not in green before the test")
	}
	mustKubectl(t, "--context", "blue", "-n", ns1, "delete", "configmap", "c12")
	// Green's ReplicaSets of the Deployment copied there carry its
	// annotations, tandem's hash among them (its controller passes them
	// on), under a name blue has not (the pod template's hash differs
	// between the two apiservers' defaults): the target's own, not copies.
	replicaSets := func() string {
		return kubectl(t, "--context", "green", "-n", ns1, "get", "replicasets", "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid} {end}").stdout
	}
	rsBefore := replicaSets()
	if !strings.Contains(rsBefore, "app-") {
		t.Fatalf("no ReplicaSet of deployment app in green: %q", rsBefore)
	}
	next := startTandem(t, "mirror", "--source", "blue", "--target", "green", "--prune", "--duration", "10m", "-v")
	next.waitFor(t, "initial pass done", 2*time.Minute)
	eventually(t, 30*time.Second, func() error {
		if _, ok := configMaps(t, "green", ns1)["c12"]; ok {
			return fmt.Errorf("c12, deleted in blue while no mirror ran, still in green")
		}
		return nil
	})
	if _, ok := configMaps(t, "green", ns1)["c13"]; !ok {
		t.Error("c13, still in blue, was pruned in green")
	}
	time.Sleep(2 * time.Second) // what the look for deletes queued with c12 has gone through
	if got := replicaSets(); got != rsBefore {
		t.Errorf("green's ReplicaSets changed when the mirror started (pruned as copies, made again by their Deployment): %q, then %q", rsBefore, got)
	}
	if err := next.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-next.done
	_ = next.cmd.Wait()
}

// copiedNamespace makes ns in blue, with a ConfigMap, and waits until the
// mirror has copied both to green.
func copiedNamespace(t *testing.T, ns string) {
	t.Helper()
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "copied", "--from-literal=v=1")
	eventually(t, 30*time.Second, func() error {
		if _, ok := configMaps(t, "green", ns)["copied"]; !ok {
			return fmt.Errorf("%s not in green yet", ns)
		}
		return nil
	})
}

// keepsNamespace deletes ns in blue and waits until the mirror says why it
// does not prune green's copy (why, as its log words it), which must be
// left Active.
func keepsNamespace(t *testing.T, run *bgRun, ns, why string) {
	t.Helper()
	mustKubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false")
	// The mirror hears of the namespace once blue has finished deleting it.
	eventually(t, 2*time.Minute, func() error {
		if r := kubectl(t, "--context", "blue", "get", "namespace", ns, "-o", "jsonpath={.status.conditions}"); r.code == 0 {
			return fmt.Errorf("%s still in blue: %s", ns, r.stdout)
		}
		return nil
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(run.log(), `why="`+why+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the mirror has not said why it keeps %s (%s); its log:\n%s", ns, why, run.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if phase := kubectl(t, "--context", "green", "get", "namespace", ns, "-o", "jsonpath={.status.phase}").stdout; phase != "Active" {
		t.Fatalf("the mirror pruned %s in green (phase %q) with someone else's object in it", ns, phase)
	}
}

// metricValue is the value of the counter or gauge name with labels in a
// /metrics text, summed over the series that have those labels and others
// (0 when there is no such series yet).
func metricValue(t *testing.T, text, name string, labels map[string]string) float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		matched := 0
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				matched++
			}
		}
		if matched == len(labels) {
			if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			} else {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
