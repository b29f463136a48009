package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandem-io/tandem/pkg/plan"
)

// A full sync copies every seeded object: each one it reports as written or
// unchanged is, after normalization, the same in green as in blue; the
// workloads become available there, Services get green's own IPs, and RBAC
// answers the same.
func TestSyncCopiesSeededWorkload(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	waitNoTerminating(t)
	out, r := syncJSON(t, t.TempDir(), 0, "-v")
	synced := out.with("created", "updated", "unchanged")
	if len(synced) < 50 {
		t.Fatalf("only %d objects synced: %+v", len(synced), out.Total)
	}
	// The cluster-scoped start of the plan (namespaces, classes, cluster
	// RBAC) went ahead before the namespaced objects were read, and no
	// object is in both parts.
	early, read := strings.Index(r.stderr, "the cluster-scoped start of the plan goes ahead"), strings.Index(r.stderr, `msg="read the source"`)
	if early < 0 || read < 0 || early > read {
		t.Errorf("the plan's cluster-scoped start did not go ahead of reading the namespaced objects (at %d, read at %d); stderr:\n%s", early, read, r.stderr)
	}
	once := map[string]int{}
	namespaces := 0
	for _, row := range out.Results {
		if once[row.key()]++; once[row.key()] == 2 {
			t.Errorf("%s is in the results twice", row.key())
		}
		if row.Kind == "Namespace" && row.Group == "" && row.Status != "skipped" {
			namespaces++
		}
	}
	if namespaces < 3 {
		t.Errorf("only %d Namespaces synced", namespaces)
	}
	t.Logf("sync: %v; comparing %d objects", out.Total, len(synced))
	blue, green := getObjects(t, "blue", synced), getObjects(t, "green", synced)
	for _, r := range synced {
		b, g := blue[r.key()], green[r.key()]
		switch {
		case b == nil:
			t.Errorf("%s (%s): not found in blue", r.key(), r.Status)
		case g == nil:
			t.Errorf("%s (%s): not found in green", r.key(), r.Status)
		default:
			if d := cmp.Diff(normalize(b), normalize(g)); d != "" {
				t.Errorf("%s (%s) differs (-blue +green):\n%s", r.key(), r.Status, d)
			}
		}
	}

	// Services: green allocates its own IPs; headless stays headless; a user-set node port is kept.
	_, greenCIDR, _ := net.ParseCIDR("10.112.0.0/16")
	svcs := 0
	for _, r := range synced {
		b, g := blue[r.key()], green[r.key()]
		if r.Kind != "Service" || r.Group != "" || b == nil || g == nil {
			continue
		}
		svcs++
		bip, gip := jsonStr(b, "spec", "clusterIP"), jsonStr(g, "spec", "clusterIP")
		if bip == "None" || gip == "None" {
			if bip != gip {
				t.Errorf("Service %s/%s: clusterIP %q in blue, %q in green", r.Namespace, r.Name, bip, gip)
			}
			continue
		}
		if ip := net.ParseIP(gip); bip == gip || ip == nil || !greenCIDR.Contains(ip) {
			t.Errorf("Service %s/%s: clusterIP %q in green (blue %q), want a new one in %s", r.Namespace, r.Name, gip, bip, greenCIDR)
		}
	}
	if svcs < 4 {
		t.Errorf("only %d Services synced", svcs)
	}
	if g := green[objKey("", "Service", "shop-data", "db")]; g == nil || jsonStr(g, "spec", "clusterIP") != "None" {
		t.Errorf("headless Service shop-data/db in green: %v", g["spec"])
	}
	for _, c := range []string{"blue", "green"} {
		np := mustKubectl(t, "--context", c, "-n", "ingress-nginx", "get", "service", "ingress-nginx-controller",
			"-o", `jsonpath={.spec.ports[?(@.name=="http")].nodePort}`)
		if np != "30080" {
			t.Errorf("%s: ingress-nginx-controller http nodePort %q, want 30080", c, np)
		}
	}

	// Custom resources came along, nothing a controller makes was created by tandem.
	backups := mustKubectl(t, "--context", "green", "get", "backups.platform.example.com", "-A",
		"-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {end}`)
	for _, want := range []string{"payments/payments-ledger", "shop-data/db-nightly"} {
		if !strings.Contains(backups, want) {
			t.Errorf("Backup %s not in green; has %q", want, backups)
		}
	}
	for _, r := range out.with("created") {
		switch r.Kind {
		case "Pod", "ReplicaSet", "EndpointSlice", "Event", "Endpoints", "ControllerRevision":
			t.Errorf("tandem created generated object %s", r.key())
		}
	}

	// Workloads become available in green.
	var workloads []syncRow
	for _, r := range synced {
		if r.Group == "apps" && (r.Kind == "Deployment" || r.Kind == "StatefulSet") {
			workloads = append(workloads, r)
		}
	}
	if len(workloads) < 4 {
		t.Errorf("only %d Deployments/StatefulSets synced", len(workloads))
	}
	eventually(t, 3*time.Minute, func() error {
		var notReady []string
		for key, o := range getObjects(t, "green", workloads) {
			spec, _ := o["spec"].(map[string]any)
			st, _ := o["status"].(map[string]any)
			if fmt.Sprint(spec["replicas"]) != fmt.Sprint(st["readyReplicas"]) {
				notReady = append(notReady, fmt.Sprintf("%s %v/%v", key, st["readyReplicas"], spec["replicas"]))
			}
		}
		if len(notReady) > 0 {
			return fmt.Errorf("not ready in green: %v", notReady)
		}
		return nil
	})

	// RBAC gives the shop's ServiceAccount the same rights in both clusters.
	for _, c := range []struct{ verb, resource, want string }{
		{"get", "configmaps", "yes"}, {"list", "configmaps", "yes"},
		{"delete", "secrets", "no"}, {"get", "secrets", "no"}, {"create", "deployments.apps", "no"},
	} {
		for _, ctx := range []string{"blue", "green"} {
			got := strings.TrimSpace(kubectl(t, "--context", ctx, "auth", "can-i", c.verb, c.resource, "-n", "shop",
				"--as", "system:serviceaccount:shop:web").stdout)
			if got != c.want {
				t.Errorf("%s: can shop:web %s %s? %q, want %q", ctx, c.verb, c.resource, got, c.want)
			}
		}
	}
}

// A second sync with nothing changed in blue writes nothing: no created or
// updated rows, and no object in green is written by tandem again.
func TestSyncSecondRunWritesNothing(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	waitNoTerminating(t)
	jd := t.TempDir()
	first, _ := syncJSON(t, jd, 0)
	synced := first.with("created", "updated", "unchanged")
	before := getObjects(t, "green", synced)
	second, _ := syncJSON(t, jd, 0)
	for _, r := range second.wrote() {
		t.Errorf("second run wrote %s: %s (%s)", r.key(), r.Status, r.Reason)
	}
	if n := second.Total["created"] + second.Total["updated"]; n != 0 {
		t.Errorf("second run total: %v, want 0 created and updated", second.Total)
	}
	status := map[string]string{}
	for _, r := range second.Results {
		status[r.key()] = r.Status
	}
	for _, r := range synced {
		if s := status[r.key()]; s != "unchanged" {
			t.Errorf("%s: %q in the second run, want unchanged", r.key(), s)
		}
	}
	after := getObjects(t, "green", synced)
	for k, b := range before {
		a := after[k]
		if a == nil {
			t.Errorf("%s: gone from green after the second run", k)
			continue
		}
		if jsonStr(b, "metadata", "resourceVersion") == jsonStr(a, "metadata", "resourceVersion") {
			continue
		}
		// Controllers keep writing status; only a change outside status, or a new tandem entry, is a write by sync.
		if d := cmp.Diff(withoutStatus(b), withoutStatus(a)); d != "" {
			t.Errorf("%s: changed in green by the second run (-before +after):\n%s", k, d)
		}
		if managerEntry(b, "tandem") != managerEntry(a, "tandem") {
			t.Errorf("%s: tandem's managedFields entry changed:\nbefore %s\nafter  %s", k, managerEntry(b, "tandem"), managerEntry(a, "tandem"))
		}
	}
}

// sync -9'd halfway resumes: the re-run writes only what is missing, every
// ConfigMap exists once in green, and a third run writes nothing.
func TestSyncResumesAfterKill(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	const n = 300
	ns := fmt.Sprintf("e2e-resume-%d", time.Now().Unix()%100000)
	seedConfigMaps(t, ns, n, "resume")
	cms := func(ctx string) []string {
		var out []string
		for _, name := range kubeNames(t, ctx, ns, "configmaps") {
			if strings.HasPrefix(name, "configmap/cm-") {
				out = append(out, name)
			}
		}
		return out
	}
	if got := len(cms("blue")); got != n {
		t.Fatalf("blue has %d ConfigMaps, want %d", got, n)
	}

	jd := t.TempDir()
	// Paced by a client-side limit, so that there is something left to
	// kill: unpaced, 300 objects are written in under a second.
	args := syncArgs(jd, "--namespace", ns, "--workers", "2", "--qps", "100", "--burst", "10", "-o", "json")
	cmd := exec.Command(lab.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+lab.kubeconfig, "TANDEM_SOURCE=", "TANDEM_TARGET=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	started := time.Now()
	for len(kubectl(t, "--context", "green", "-n", ns, "get", "configmaps", "-l", "e2e=resume", "-o", "name").stdout) == 0 {
		select {
		case err := <-done:
			t.Fatalf("sync ended (%v) before any ConfigMap was seen in green\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(started) > 2*time.Minute {
			_ = cmd.Process.Kill()
			t.Fatalf("no ConfigMap in green after 2 minutes\n%s", stderr.String())
		}
	}
	delay := time.Duration(100+rand.IntN(500)) * time.Millisecond
	select {
	case err := <-done:
		t.Fatalf("sync ended (%v) within %s of its first write: nothing left to interrupt\n%s", err, time.Since(started), stderr.String())
	case <-time.After(delay):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("sync was not killed (%v): it had finished\n%s", err, stderr.String())
	}
	// Requests the killed sync had already sent may still land: count once
	// the ConfigMaps in green have stopped changing.
	present := settledCount(t, func() int { return len(cms("green")) })
	t.Logf("killed %s after the first write seen, %s after start: %d of %d ConfigMaps in green", delay, time.Since(started).Round(time.Millisecond), present, n)

	second, r := syncJSON(t, jd, 0, "--namespace", ns, "--workers", "2")
	if !strings.Contains(r.stderr, "resuming interrupted sync") {
		t.Errorf("re-run does not say it resumes; stderr:\n%s", r.stderr)
	}
	count := map[string]int{}
	for _, row := range second.Results {
		if row.Kind == "ConfigMap" && strings.HasPrefix(row.Name, "cm-") {
			count[row.Status]++
		}
	}
	if count["created"] != n-present || count["unchanged"] != present || count["created"]+count["unchanged"] != n {
		t.Errorf("re-run ConfigMaps: %v; want %d created, %d unchanged", count, n-present, present)
	}
	if d := cmp.Diff(cms("blue"), cms("green")); d != "" {
		t.Errorf("ConfigMaps (-blue +green):\n%s", d)
	}
	third, _ := syncJSON(t, jd, 0, "--namespace", ns, "--workers", "2")
	for _, row := range third.wrote() {
		t.Errorf("third run wrote %s: %s (%s)", row.key(), row.Status, row.Reason)
	}
}

// A target admission webhook that denies some objects makes sync exit 1,
// reports each with the webhook's message, and still copies the rest.
func TestSyncWebhookRejectionIsReported(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	const msg = "e2e-reject: no ConfigMaps here"
	url, ca, calls := startWebhook(t, msg)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", "e2e-reject", "e2e-accept", "--ignore-not-found", "--timeout=120s")
		}
	})
	hook, _ := json.Marshal(map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "e2e-sync-reject"},
		"webhooks": []any{map[string]any{
			"name": "reject.sync.e2e.example.com", "sideEffects": "None", "admissionReviewVersions": []string{"v1"},
			"failurePolicy": "Fail", "clientConfig": map[string]any{"url": url, "caBundle": ca},
			"rules": []any{map[string]any{"apiGroups": []string{""}, "apiVersions": []string{"v1"},
				"resources": []string{"configmaps"}, "operations": []string{"CREATE", "UPDATE"}}},
			"namespaceSelector": map[string]any{"matchLabels": map[string]string{"kubernetes.io/metadata.name": "e2e-reject"}},
		}},
	})
	t.Cleanup(func() {
		kubectl(t, "--context", "green", "delete", "validatingwebhookconfiguration", "e2e-sync-reject", "--ignore-not-found")
	})
	kubectlCreate(t, "green", string(hook))
	// The namespace exists in green already so the webhook can be seen to work before sync runs.
	mustKubectl(t, "--context", "green", "create", "namespace", "e2e-reject")
	eventually(t, 30*time.Second, func() error {
		r := kubectl(t, "--context", "green", "-n", "e2e-reject", "create", "configmap", "probe", "--dry-run=server")
		if r.code == 0 || !strings.Contains(r.stderr, msg) {
			return fmt.Errorf("webhook not active yet: exit %d %s", r.code, r.stderr)
		}
		return nil
	})
	for ns, count := range map[string]int{"e2e-reject": 3, "e2e-accept": 2} {
		mustKubectl(t, "--context", "blue", "create", "namespace", ns)
		for i := 0; i < count; i++ {
			mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", fmt.Sprintf("cm-%d", i), "--from-literal=i="+fmt.Sprint(i))
		}
	}
	before := calls.Load()
	out, _ := syncJSON(t, t.TempDir(), 1, "--namespace", "e2e-reject,e2e-accept")
	for i := 0; i < 3; i++ {
		r, ok := out.find("ConfigMap", "e2e-reject", fmt.Sprintf("cm-%d", i))
		if !ok || r.Status != "failed" || !strings.Contains(r.Reason, msg) {
			t.Errorf("e2e-reject/cm-%d: %+v (found %v); want failed with %q", i, r, ok, msg)
		}
	}
	if calls.Load()-before < 3 {
		t.Errorf("webhook saw %d reviews during sync, want ≥ 3", calls.Load()-before)
	}
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("cm-%d", i)
		if r, ok := out.find("ConfigMap", "e2e-accept", name); !ok || r.Status != "created" {
			t.Errorf("e2e-accept/%s: %+v (found %v); want created", name, r, ok)
		}
		if got := kubectl(t, "--context", "green", "-n", "e2e-accept", "get", "configmap", name, "-o", "jsonpath={.data.i}").stdout; got != fmt.Sprint(i) {
			t.Errorf("green e2e-accept/%s data.i = %q, want %d", name, got, i)
		}
	}
	if bad := out.with("failed", "conflict"); len(bad) != 3 {
		t.Errorf("%d failed or conflicting rows, want the 3 rejected ConfigMaps: %+v", len(bad), bad)
	}
}

// A field another manager changed in green is reported as a conflict and
// kept; --force takes it back.
func TestSyncDoesNotOverwriteOtherManagers(t *testing.T) {
	labAtRest(t) // blue active (sync refuses to copy out of a standby), green a plain target
	jd := t.TempDir()
	syncJSON(t, jd, 0, "--namespace", "shop")
	if got := mustKubectl(t, "--context", "blue", "-n", "shop", "get", "configmap", "web-config", "-o", "jsonpath={.data.SHOP_CURRENCY}"); got != "EUR" {
		t.Fatalf("blue web-config SHOP_CURRENCY = %q, want EUR", got)
	}
	t.Cleanup(func() {
		// Back to a copy only tandem manages.
		kubectl(t, "--context", "green", "-n", "shop", "delete", "configmap", "web-config", "--ignore-not-found")
		tandem(t, syncArgs(t.TempDir(), "--namespace", "shop", "--include-kinds", "ConfigMap")...)
	})
	cm := getObjects(t, "green", []syncRow{{Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}})[objKey("", "ConfigMap", "shop", "web-config")]
	if cm == nil {
		t.Fatal("shop/web-config not in green after sync")
	}
	md := cm["metadata"].(map[string]any)
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields"} {
		delete(md, f)
	}
	cm["data"].(map[string]any)["SHOP_CURRENCY"] = "USD"
	doc, _ := json.Marshal(cm)
	applyJSON(t, "green", string(doc)) // kubectl's client-side apply
	currency := func() string {
		return mustKubectl(t, "--context", "green", "-n", "shop", "get", "configmap", "web-config", "-o", "jsonpath={.data.SHOP_CURRENCY}")
	}

	out, _ := syncJSON(t, jd, 1, "--namespace", "shop")
	r, ok := out.find("ConfigMap", "shop", "web-config")
	if !ok || r.Status != "conflict" || !strings.Contains(r.Reason, "kubectl") {
		t.Errorf("web-config: %+v (found %v); want conflict naming kubectl's field manager", r, ok)
	}
	if got := currency(); got != "USD" {
		t.Errorf("after sync, green SHOP_CURRENCY = %q, want kubectl's USD kept", got)
	}
	if bad := out.with("failed", "conflict"); len(bad) != 1 {
		t.Errorf("failed or conflicting rows: %+v; want only web-config", bad)
	}

	out, _ = syncJSON(t, jd, 0, "--namespace", "shop", "--force")
	if r, ok := out.find("ConfigMap", "shop", "web-config"); !ok || r.Status != "updated" {
		t.Errorf("web-config with --force: %+v (found %v); want updated", r, ok)
	}
	if got := currency(); got != "EUR" {
		t.Errorf("after sync --force, green SHOP_CURRENCY = %q, want blue's EUR", got)
	}
}

// A new object is written with a create (plan.CreateManager owns its
// fields); the first sync that changes it makes those fields tandem's
// apply's, so a field the source dropped is dropped in the target too.
func TestSyncDropsWhatTheSourceDropped(t *testing.T) {
	labAtRest(t)
	const ns = "e2e-dropped"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"`+ns+`","labels":{"tier":"web","old":"yes"}},"data":{"keep":"1","drop":"2"}}`)
	jd := t.TempDir()
	out, _ := syncJSON(t, jd, 0, "--namespace", ns)
	if r, ok := out.find("ConfigMap", ns, "settings"); !ok || r.Status != "created" {
		t.Fatalf("settings: %+v (found %v), want created", r, ok)
	}
	green := func() map[string]any {
		return getObjects(t, "green", []syncRow{{Kind: "ConfigMap", Namespace: ns, Name: "settings"}})[objKey("", "ConfigMap", ns, "settings")]
	}
	cm := green()
	if managerEntry(cm, plan.CreateManager) == "" {
		t.Errorf("a new object's fields: want them owned by %s's create, managers %s", plan.CreateManager, jsonStr(cm, "metadata", "managedFields"))
	}

	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", "settings", "--type", "json",
		"-p", `[{"op":"remove","path":"/data/drop"},{"op":"remove","path":"/metadata/labels/old"},{"op":"replace","path":"/data/keep","value":"3"}]`)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=hunter2")

	// --dry-run --diff: the change against green's copy (read for the
	// diff: the plan holds none), the new Secret without its value, and
	// nothing written.
	rv := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.metadata.resourceVersion}").stdout
	r := tandem(t, syncArgs(jd, "--namespace", ns, "--dry-run", "--diff")...)
	if r.code != 0 {
		t.Fatalf("sync --dry-run --diff: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"--- target/ConfigMap " + ns + "/settings", `-  drop: "2"`, `-  keep: "1"`, `+  keep: "3"`, "-    old: \"yes\"", "+++ source/Secret " + ns + "/creds", "<redacted hmac:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the diff lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "hunter2") || strings.Contains(r.stdout, "aHVudGVyMg") {
		t.Errorf("the diff shows the Secret's value:\n%s", r.stdout)
	}
	if now := kubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.metadata.resourceVersion}").stdout; now != rv {
		t.Errorf("a dry run changed green's settings (resourceVersion %s → %s)", rv, now)
	}

	out, _ = syncJSON(t, jd, 0, "--namespace", ns)
	if r, ok := out.find("ConfigMap", ns, "settings"); !ok || r.Status != "updated" {
		t.Fatalf("settings after the change: %+v (found %v), want updated", r, ok)
	}
	cm = green()
	data, _ := cm["data"].(map[string]any)
	labels, _ := cm["metadata"].(map[string]any)["labels"].(map[string]any)
	if _, still := data["drop"]; still || data["keep"] != "3" {
		t.Errorf("green's data %v: want keep=3 and no drop (removed in blue)", data)
	}
	if _, still := labels["old"]; still || labels["tier"] != "web" {
		t.Errorf("green's labels %v: want tier=web and no old (removed in blue)", labels)
	}
	if e := managerEntry(cm, plan.CreateManager); e != "" {
		t.Errorf("the create's entry is still there after an apply: %s", e)
	}
	if e := managerEntry(cm, plan.FieldManager); !strings.Contains(e, `"operation":"Apply"`) || !strings.Contains(e, "f:keep") {
		t.Errorf("tandem's entry %s: want an Apply owning data.keep", e)
	}
}

// Bad input exits 2 with exactly one line on stderr naming the problem.
func TestSyncBadInput(t *testing.T) {
	const onlyInBlue = "e2e-only-in-blue"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", onlyInBlue, "--ignore-not-found", "--wait=false")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", onlyInBlue)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"same cluster", []string{"sync", "--source", "blue", "--target", "blue"}, "same cluster"},
		{"unknown kind", []string{"sync", "--source", "blue", "--target", "green", "--include-kinds", "Frobnicator"}, `unknown kind "Frobnicator"`},
		{"unknown namespace", []string{"sync", "--source", "blue", "--target", "green", "--namespace", "nope"}, `namespace "nope" not found`},
		{"no workers", []string{"sync", "--source", "blue", "--target", "green", "--workers", "0"}, "--workers 0"},
		// A script's unset variable must not widen the copy to everything.
		{"empty namespace", []string{"sync", "--source", "blue", "--target", "green", "--namespace", ""}, "--namespace is empty"},
		{"empty stack", []string{"sync", "--source", "blue", "--target", "green", "--stack", ""}, "--stack is empty"},
		{"only Secrets of a namespace the target lacks", []string{"sync", "--source", "blue", "--target", "green", "--namespace", onlyInBlue, "--include-kinds", "Secret"}, "the target green has no namespace \"" + onlyInBlue + "\""},
		{"a kind in and out", []string{"sync", "--source", "blue", "--target", "green", "--include-kinds", "Secret", "--exclude-kinds", "secret"}, "both name Secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tandem(t, append(c.args, "--journal-dir", t.TempDir())...)
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", r.code, r.stderr, c.want)
			}
		})
	}
}

// --stack shop --dry-run lists the shop's objects in both its namespaces and
// what they depend on, says why each dependency came, leaves payments out,
// and writes nothing.
func TestSyncStackDryRun(t *testing.T) {
	// A fresh workload of the stack whose dependencies carry no stack label.
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "-n", "shop", "delete", "deployment/e2e-stack", "configmap/e2e-stack", "secret/e2e-stack",
				"serviceaccount/e2e-stack", "--ignore-not-found")
		}
	})
	mustKubectl(t, "--context", "blue", "-n", "shop", "create", "configmap", "e2e-stack", "--from-literal=a=b")
	mustKubectl(t, "--context", "blue", "-n", "shop", "create", "secret", "generic", "e2e-stack", "--from-literal=a=b")
	mustKubectl(t, "--context", "blue", "-n", "shop", "create", "serviceaccount", "e2e-stack")
	kubectlCreate(t, "blue", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"e2e-stack","namespace":"shop","labels":{"app.kubernetes.io/part-of":"shop"}},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"e2e-stack"}},"template":{"metadata":{"labels":{"app":"e2e-stack"}},
"spec":{"serviceAccountName":"e2e-stack","priorityClassName":"shop-critical","containers":[{"name":"c","image":"registry.k8s.io/pause:3.10",
"envFrom":[{"configMapRef":{"name":"e2e-stack"}},{"secretRef":{"name":"e2e-stack"}}]}]}}}}`)
	rvBefore := kubectl(t, "--context", "green", "-n", "shop", "get", "configmap", "web-config", "-o", "jsonpath={.metadata.resourceVersion}").stdout

	r := tandem(t, syncArgs(t.TempDir(), "--stack", "shop", "--dry-run", "-o", "json")...)
	if r.code != 0 {
		t.Fatalf("sync --stack shop --dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var out syncOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Steps) == 0 {
		t.Fatalf("dry run -o json (%v): no steps\n%s", err, r.stdout)
	}
	for _, s := range out.Steps {
		if s.Namespace == "payments" || (s.Kind == "Namespace" && s.Name == "payments") {
			t.Errorf("payments object in the shop stack: %+v", s)
		}
		if s.Status != "planned" {
			t.Errorf("%s: status %q in a dry run, want planned", s.key(), s.Status)
		}
	}
	cases := []struct{ kind, ns, name, why string }{
		// The stack's own objects, in both namespaces.
		{"Namespace", "", "shop", ""}, {"Namespace", "", "shop-data", ""},
		{"Deployment", "shop", "web", ""}, {"Deployment", "shop", "api", ""}, {"CronJob", "shop", "report", ""},
		{"StatefulSet", "shop-data", "db", ""}, {"Service", "shop-data", "db", ""}, {"Backup", "shop-data", "db-nightly", ""},
		// What the pod templates reference (labelled as part of the shop themselves).
		{"ConfigMap", "shop", "web-config", ""}, {"ConfigMap", "shop", "api-config", ""}, {"Secret", "shop", "web-secrets", ""},
		{"ServiceAccount", "shop", "web", ""}, {"ServiceAccount", "shop", "report", ""},
		{"ConfigMap", "shop-data", "db-config", ""}, {"Secret", "shop-data", "db-credentials", ""},
		{"PriorityClass", "", "shop-critical", ""},
		// Dependencies without the label, each with its reason.
		{"ServiceAccount", "shop-data", "default", "ServiceAccount of StatefulSet shop-data/db"},
		{"IngressClass", "", "nginx", "IngressClass of Ingress shop/"},
		{"CustomResourceDefinition", "", "backups.platform.example.com", "CRD of Backup shop-data/db-nightly"},
		{"ConfigMap", "shop", "e2e-stack", "ConfigMap referenced by Deployment shop/e2e-stack"},
		{"Secret", "shop", "e2e-stack", "Secret referenced by Deployment shop/e2e-stack"},
		{"ServiceAccount", "shop", "e2e-stack", "ServiceAccount of Deployment shop/e2e-stack"},
	}
	for _, c := range cases {
		s, ok := out.find(c.kind, c.ns, c.name)
		switch {
		case !ok:
			t.Errorf("%s %s/%s not in the stack's plan", c.kind, c.ns, c.name)
		case c.why != "" && !strings.HasPrefix(s.Why, c.why):
			t.Errorf("%s %s/%s: why %q, want %q…", c.kind, c.ns, c.name, s.Why, c.why)
		case c.why == "" && s.Why != "":
			t.Logf("%s %s/%s: why %q", c.kind, c.ns, c.name, s.Why)
		}
	}
	if s, _ := out.find("Deployment", "shop", "e2e-stack"); s.Action != "create" {
		t.Errorf("Deployment shop/e2e-stack: action %q, want create", s.Action)
	}

	// Nothing was written.
	for _, ref := range []string{"deployment/e2e-stack", "configmap/e2e-stack", "secret/e2e-stack", "serviceaccount/e2e-stack"} {
		if g := kubectl(t, "--context", "green", "-n", "shop", "get", ref, "--ignore-not-found", "-o", "name").stdout; g != "" {
			t.Errorf("dry run created %s in green", ref)
		}
	}
	if rv := kubectl(t, "--context", "green", "-n", "shop", "get", "configmap", "web-config", "-o", "jsonpath={.metadata.resourceVersion}").stdout; rv != rvBefore {
		t.Errorf("green shop/web-config resourceVersion %q → %q across a dry run", rvBefore, rv)
	}

	// A stack nothing is labelled with is said, not a clean empty plan.
	if r := tandem(t, syncArgs(t.TempDir(), "--stack", "e2e-no-such-stack", "--dry-run")...); r.code != 0 || !strings.Contains(r.stderr, "nothing was selected") {
		t.Errorf("sync --stack e2e-no-such-stack --dry-run: exit %d, want 0 and a warning that nothing was selected\n%s", r.code, r.stderr)
	}
}

// settledCount reads count until it gives the same number for a second of
// reads in a row (bounded to a minute), and returns that number.
func settledCount(t *testing.T, count func() int) int {
	t.Helper()
	last, since := count(), time.Now()
	eventually(t, time.Minute, func() error {
		n := count()
		if n != last {
			last, since = n, time.Now()
		}
		if d := time.Since(since); d < time.Second {
			return fmt.Errorf("%d, unchanged for %s", n, d.Round(time.Millisecond))
		}
		return nil
	})
	return last
}

// A service-account token Secret someone made (a CI system's long-lived
// token) comes across without its token, and the target's token
// controller fills it in for the target's own ServiceAccount: the Secret
// exists in green, and its token authenticates there.
func TestSyncServiceAccountTokenSecret(t *testing.T) {
	labAtRest(t)
	ns := fmt.Sprintf("e2e-token-%d", time.Now().Unix()%100000)
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "ci")
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token",
"metadata":{"name":"ci-token","namespace":"`+ns+`","annotations":{"kubernetes.io/service-account.name":"ci"}}}`)
	eventually(t, time.Minute, func() error {
		if kubectl(t, "--context", "blue", "-n", ns, "get", "secret", "ci-token", "-o", "jsonpath={.data.token}").stdout == "" {
			return fmt.Errorf("blue's token controller has not filled the token yet")
		}
		return nil
	})
	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	if row, ok := out.find("Secret", ns, "ci-token"); !ok || row.Status != "created" {
		t.Fatalf("ci-token: %+v (listed %v), want created", row, ok)
	}
	var token string
	eventually(t, time.Minute, func() error {
		b64 := kubectl(t, "--context", "green", "-n", ns, "get", "secret", "ci-token", "-o", "jsonpath={.data.token}").stdout
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) == 0 {
			return fmt.Errorf("green's ci-token has no token yet (%q)", b64)
		}
		token = string(raw)
		return nil
	})
	blueToken, _ := base64.StdEncoding.DecodeString(kubectl(t, "--context", "blue", "-n", ns, "get", "secret", "ci-token", "-o", "jsonpath={.data.token}").stdout)
	if token == string(blueToken) {
		t.Fatal("green's ci-token holds blue's token: it was copied, not issued by green")
	}
	// The token is green's: the apiserver takes it as the ServiceAccount
	// (asked with the token alone: the lab's user also has a client
	// certificate, which the apiserver would take first).
	server := mustKubectl(t, "config", "view", "--raw", "-o", `jsonpath={.clusters[?(@.name=="green")].cluster.server}`)
	who := kubectl(t, "--kubeconfig", os.DevNull, "--server", strings.TrimSpace(server), "--insecure-skip-tls-verify", "--token", token,
		"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if want := "system:serviceaccount:" + ns + ":ci"; strings.TrimSpace(who.stdout) != want {
		t.Errorf("green takes ci-token's token for %q (%s), want %s", who.stdout, who.stderr, want)
	}
}

// `kubectl scale` in the target writes spec.replicas through the scale
// subresource: the copy reads as unchanged (the content hash is the
// source's), so sync says so in its notes (an autoscaler of the target's
// own does the same, every run: not a conflict) and --force takes the
// replicas back.
func TestSyncSaysAScaleInTheTarget(t *testing.T) {
	labAtRest(t) // green a plain target: a standby parks the workloads and refuses kubectl scale
	ns := fmt.Sprintf("e2e-scaled-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "worker", "--image", "registry.example/worker:1", "--replicas", "1")
	jd := t.TempDir()
	syncJSON(t, jd, 0, "--namespace", ns)
	mustKubectl(t, "--context", "green", "-n", ns, "scale", "deployment", "worker", "--replicas", "3")
	replicas := func() string {
		return mustKubectl(t, "--context", "green", "-n", ns, "get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}")
	}

	out, _ := syncJSON(t, jd, 0, "--namespace", ns)
	if r, ok := out.find("Deployment", ns, "worker"); !ok || r.Status != "unchanged" || !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "through /scale by kubectl") }) {
		t.Errorf("worker scaled in green: %+v (found %v); want unchanged, its notes naming kubectl's /scale", r, ok)
	}
	if got := replicas(); got != "3" {
		t.Errorf("green's replicas after sync: %s, want kubectl's 3 kept", got)
	}
	out, _ = syncJSON(t, jd, 0, "--namespace", ns, "--force")
	if r, ok := out.find("Deployment", ns, "worker"); !ok || r.Status != "updated" {
		t.Errorf("worker with --force: %+v (found %v); want updated", r, ok)
	}
	if got := replicas(); got != "1" {
		t.Errorf("green's replicas after sync --force: %s, want blue's 1", got)
	}
}

// --dry-run --diff shows what the apply would make of the target's copy
// (a server-side dry run): a label another manager put there stays, so
// the diff does not show it removed; a copy whose content would not
// change says so instead of printing nothing.
func TestSyncDiffShowsWhatTheApplyMakes(t *testing.T) {
	labAtRest(t) // green a plain target: a standby parks the workloads and refuses kubectl scale
	ns := fmt.Sprintf("e2e-diff-%d", time.Now().Unix()%100000)
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "settings", "--from-literal=v=1")
	jd := t.TempDir()
	syncJSON(t, jd, 0, "--namespace", ns)
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"v":"2"}}`)
	syncJSON(t, jd, 0, "--namespace", ns) // the copy's fields are tandem's apply's now

	mustKubectl(t, "--context", "green", "-n", ns, "label", "configmap", "settings", "owner=ops")
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "configmap", "settings", "-p", `{"data":{"v":"3"}}`)
	// The same object made by hand in both: tandem has not written it yet.
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "-n", ns, "create", "configmap", "same", "--from-literal=k=v")
	}

	r := tandem(t, syncArgs(jd, "--namespace", ns, "--dry-run", "--diff")...)
	if r.code != 0 {
		t.Fatalf("sync --dry-run --diff: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`-  v: "2"`, `+  v: "3"`, "# ConfigMap " + ns + "/same: its content stays as it is"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the diff lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "owner: ops") {
		t.Errorf("the diff shows green's label owner=ops changed, which the apply keeps:\n%s", r.stdout)
	}
	syncJSON(t, jd, 0, "--namespace", ns)
	if got := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.metadata.labels.owner}/{.data.v}"); got != "ops/3" {
		t.Errorf("green's settings after the sync: owner/v = %s, want ops/3 (as the diff said)", got)
	}
}
