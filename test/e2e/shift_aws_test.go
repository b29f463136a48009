package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// The AWS routers through the CLI, against the local fake of the AWS APIs
// (the real SDK clients, pointed at it with endpoint=).
func TestShiftAWSRouters(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("ZFAKE")
	ttl := int64(1)
	fake.PutRecord("ZFAKE", awsfake.RecordSet{Name: "app.example.com", Type: "A", TTL: &ttl, Values: []string{"192.0.2.10"}})
	r53 := "route53://ZFAKE/app.example.com?ttl=1&blue=192.0.2.10&green=192.0.2.20&endpoint=" + fake.URL
	// A weighted ALIAS set that has blue's record only.
	fake.AddZone("ZALIAS")
	w255 := int64(255)
	fake.PutRecord("ZALIAS", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w255,
		AliasTarget: &awsfake.AliasTarget{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "blue-1.eu-west-1.elb.amazonaws.com.", EvaluateTargetHealth: true}})
	jdir := t.TempDir()

	t.Run("route53: a simple record becomes weighted, shifted in steps, verified INSYNC", func(t *testing.T) {
		r := tandem(t, "shift", "--router", r53, "--from", "blue", "--to", "green", "--steps", "25,100", "--pause", "1s", "--journal-dir", jdir, "-o", "json")
		if r.code != 0 {
			t.Fatalf("shift: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{"converting it to weighted records", "INSYNC", "waiting out the DNS TTL 1s"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("the shift did not say %q (it converts the simple record, waits for INSYNC, then the TTL):\n%s", want, r.stderr)
			}
		}
		recs := fake.Records("ZFAKE")
		if len(recs) != 2 || *recs[0].Weight != 0 || *recs[1].Weight != 255 || recs[1].SetIdentifier != "green" {
			t.Fatalf("records after the shift: %+v", recs)
		}
		if fake.Calls["GetChange"] == 0 {
			t.Fatal("no step waited for INSYNC")
		}
		// Run again (a CI retry): nothing moves back to blue.
		changes := fake.Calls["ChangeResourceRecordSets"]
		again := tandem(t, "shift", "--router", r53, "--from", "blue", "--to", "green", "--steps", "25,100", "--pause", "1s", "--journal-dir", jdir)
		if again.code != 0 || !strings.Contains(again.stderr, "already shifted") || fake.Calls["ChangeResourceRecordSets"] != changes {
			t.Fatalf("the finished shift run again: exit %d, %d changes (want 0 and none)\n%s", again.code, fake.Calls["ChangeResourceRecordSets"]-changes, again.stderr)
		}
		// A first step below green's share now: refused, nothing changed.
		back := tandem(t, "shift", "--router", r53, "--from", "blue", "--to", "green", "--steps", "10,50", "--pause", "1s", "--journal-dir", jdir)
		if back.code != 2 || !strings.Contains(back.stderr, "would move traffic back to blue") || fake.Calls["ChangeResourceRecordSets"] != changes {
			t.Fatalf("a shift whose first step is below green's share: exit %d, want 2\n%s", back.code, back.stderr)
		}
	})

	t.Run("a third weighted record with weight is refused", func(t *testing.T) {
		fake.AddZone("ZTHIRD")
		for id, w := range map[string]int64{"blue": 255, "green": 0, "purple": 26} {
			weight, ttl := w, int64(1)
			fake.PutRecord("ZTHIRD", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: id, Weight: &weight, TTL: &ttl, Values: []string{"192.0.2.30"}})
		}
		changes := fake.Calls["ChangeResourceRecordSets"]
		r := tandem(t, "shift", "--router", "route53://ZTHIRD/app.example.com?endpoint="+fake.URL, "--from", "blue", "--to", "green", "--steps", "100", "--pause", "0s", "--journal-dir", t.TempDir())
		if r.code != 2 || !strings.Contains(r.stderr, "also sends") || !strings.Contains(r.stderr, `to "purple"`) || fake.Calls["ChangeResourceRecordSets"] != changes {
			t.Fatalf("shift with a third weighted record: exit %d, want 2 naming purple\n%s", r.code, r.stderr)
		}
	})

	t.Run("shift status shows what Route53 has, not what tandem wrote", func(t *testing.T) {
		w, ttl := int64(51), int64(1)
		fake.PutRecord("ZFAKE", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w, TTL: &ttl, Values: []string{"192.0.2.10"}})
		out := mustTandem(t, "shift", "status", "--router", r53, "-o", "json")
		var st struct {
			Weights map[string]map[string]int `json:"weights"`
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatal(err)
		}
		if got := st.Weights["app.example.com."]; got["blue"] != 20 || got["green"] != 100 {
			t.Fatalf("status weights %v, want blue 20 (51/255) and green 100", st.Weights)
		}
	})

	t.Run("alb: shift and rollback through one listener rule", func(t *testing.T) {
		rule := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
		blueTG := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"
		greenTG := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1a2b3c4d5e6f7a8b"
		fake.AddRule(rule, map[string]int64{blueTG: 999, greenTG: 0})
		router := "alb://" + rule + "?blue=" + blueTG + "&green=" + greenTG + "&endpoint=" + fake.URL
		mustTandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "10,50", "--pause", "0s", "--journal-dir", jdir)
		st := mustTandem(t, "shift", "status", "--router", router)
		if !strings.Contains(st, "green") || !strings.Contains(st, "50%") {
			t.Fatalf("alb status after 10,50:\n%s", st)
		}
		mustTandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--rollback", "--journal-dir", jdir)
		if out := mustTandem(t, "shift", "status", "--router", router, "-o", "json"); !strings.Contains(out, `"blue": 100`) || !strings.Contains(out, `"green": 0`) {
			t.Fatalf("after --rollback:\n%s", out)
		}
	})

	t.Run("bad weights and unknown schemes: one line, exit 2", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"shift", "--router", r53, "--steps", "10,140", "--journal-dir", jdir}, "out of range"},
			{[]string{"shift", "--router", r53, "--steps", "-5,100", "--journal-dir", jdir}, "out of range"},
			{[]string{"shift", "--router", "consul://x/y"}, "unknown router scheme"},
			{[]string{"shift", "--router", "route53://ZALIAS/app.example.com?endpoint=" + fake.URL, "--from", "blue", "--to", "green", "--steps", "50", "--journal-dir", jdir}, "alias target is missing"},
			{[]string{"shift", "status", "--router", "alb://arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee?blue=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067&green=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1a2b3c4d5e6f7a8b&listener=arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/other/0000000000000000/1111111111111111"}, "belongs to listener"},
			{[]string{"shift", "status", "--router", "route53://ZFAKE/?endpoint=" + fake.URL}, "no record name"},
			{[]string{"shift", "status", "--router", "alb://nope?blue=x"}, "target group ARN"},
		} {
			r := tandem(t, c.args...)
			if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("tandem %s: exit %d, stderr %q; want exit 2, one line with %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
			}
		}
	})
}

// ExternalDNS: the weights go into each cluster's Ingress annotations, with
// the prefix each cluster's ExternalDNS reads; the preflight warns that both
// share a txt-owner-id.
func TestShiftExternalDNS(t *testing.T) {
	const ns = "e2e-edns"
	// Their sync intervals: nothing verifies the publishing (no verify=), so
	// each step waits the longer one (green's, event-driven, 2s) and the TTL.
	for _, c := range []struct{ ctx, image, interval string }{
		{"blue", "registry.k8s.io/external-dns/external-dns:v0.14.2", `,"--interval=1s"`},
		{"green", "registry.k8s.io/external-dns/external-dns:v0.23.0", `,"--events","--min-event-sync-interval=2s"`},
	} {
		mustKubectl(t, "--context", c.ctx, "create", "namespace", ns)
		ctx := c.ctx
		t.Cleanup(func() { kubectl(t, "--context", ctx, "delete", "namespace", ns, "--wait=false") })
		mustKubectl(t, "--context", c.ctx, "-n", ns, "create", "ingress", "web", "--rule=edns.example/=web:80")
		mustKubectl(t, "--context", c.ctx, "-n", ns, "annotate", "ingress", "web", "external-dns.alpha.kubernetes.io/ttl=1", "external-dns.kubernetes.io/ttl=1")
		kubectlCreate(t, c.ctx, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"external-dns","namespace":"`+ns+`"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"external-dns"}},"template":{"metadata":{"labels":{"app":"external-dns"}},
"spec":{"containers":[{"name":"external-dns","image":"`+c.image+`","args":["--source=ingress","--provider=aws","--txt-owner-id=shared-id"`+c.interval+`]}]}}}}`)
	}
	router := "externaldns://ingress/" + ns + "/web?clusters=blue,green"
	// Two clusters' ExternalDNS with one owner id would delete each other's records: refused.
	r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50,100", "--pause", "0s", "--journal-dir", t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "share --txt-owner-id=shared-id") {
		t.Fatalf("shift with a shared txt-owner-id: exit %d, want 2 naming it\n%s", r.code, r.stderr)
	}
	mustKubectl(t, "--context", "green", "-n", ns, "patch", "deployment", "external-dns", "--type=json",
		"-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/args/2","value":"--txt-owner-id=green"}]`)
	// A prefix that a cluster's ExternalDNS does not read: refused before any change.
	r = tandem(t, "shift", "--router", router+"&prefix=external-dns.kubernetes.io/", "--from", "blue", "--to", "green", "--steps", "50", "--journal-dir", t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "none would see the weights") {
		t.Fatalf("shift with a prefix blue's ExternalDNS does not read: exit %d, want 2\n%s", r.code, r.stderr)
	}
	// A cluster that is no context: one line, exit 2.
	if r := tandem(t, "shift", "status", "--router", "externaldns://ingress/"+ns+"/web?clusters=blue,purple"); r.code != 2 || !strings.Contains(r.stderr, "purple") {
		t.Fatalf("clusters=blue,purple: exit %d\n%s", r.code, r.stderr)
	}
	r = tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50,100", "--pause", "0s", "--journal-dir", t.TempDir())
	if r.code != 0 {
		t.Fatalf("shift: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"reads annotations with prefix external-dns.kubernetes.io/", "reads annotations with prefix external-dns.alpha.kubernetes.io/", "waiting up to 2s for the change to be published", "then the DNS TTL 1s"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("shift stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	blue := mustKubectl(t, "--context", "blue", "-n", ns, "get", "ingress", "web", "-o", `jsonpath={.metadata.annotations.external-dns\.alpha\.kubernetes\.io/aws-weight} {.metadata.annotations.external-dns\.alpha\.kubernetes\.io/set-identifier}`)
	green := mustKubectl(t, "--context", "green", "-n", ns, "get", "ingress", "web", "-o", `jsonpath={.metadata.annotations.external-dns\.kubernetes\.io/aws-weight} {.metadata.annotations.external-dns\.kubernetes\.io/set-identifier}`)
	if blue != "0 blue" || green != "255 green" {
		t.Fatalf("annotations after the shift: blue %q, green %q; want \"0 blue\" and \"255 green\"", blue, green)
	}
	st := mustTandem(t, "shift", "status", "--router", router, "-o", "json")
	if !strings.Contains(st, `"green": 100`) || !strings.Contains(st, `"blue": 0`) {
		t.Fatalf("shift status:\n%s", st)
	}
	// A sync afterwards does not carry blue's identifier and weight into
	// green (the two ExternalDNS would fight over one record): green keeps its own.
	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns, "--include-kinds", "Ingress.networking.k8s.io")
	if row, ok := out.find("Ingress", ns, "web"); !ok || !strings.Contains(strings.Join(row.Notes, ";"), "ExternalDNS routing annotations not copied") {
		t.Errorf("sync row of the Ingress: %+v, want a note on the routing annotations", row)
	}
	after := mustKubectl(t, "--context", "green", "-n", ns, "get", "ingress", "web", "-o", `jsonpath={.metadata.annotations.external-dns\.kubernetes\.io/aws-weight} {.metadata.annotations.external-dns\.kubernetes\.io/set-identifier}|{.metadata.annotations.external-dns\.alpha\.kubernetes\.io/set-identifier}`)
	if after != "255 green|" {
		t.Fatalf("green's routing annotations after a sync from blue: %q, want \"255 green|\" (its own, none of blue's)", after)
	}
}

// -f shift.yaml: routes, steps, pauses and several gates from a file.
func TestShiftFromFile(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("ZFILE")
	file := filepath.Join(t.TempDir(), "shift.yaml")
	doc := `router: "route53://ZFILE/file.example.com?ttl=0&blue=192.0.2.1&green=192.0.2.2&endpoint=` + fake.URL + `"
from: blue
to: green
steps: [20, 100]
pause: [0s, 0s]
gates:
- command: "true"
- command: "test 1 -eq 1"
`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := tandem(t, "shift", "-f", file, "--journal-dir", t.TempDir(), "-o", "json")
	if r.code != 0 {
		t.Fatalf("shift -f: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "step 2/2 100%") || strings.Count(r.stderr, "gate command") < 2 {
		t.Errorf("shift -f did not run the file's steps and both gates:\n%s", r.stderr)
	}
	recs := fake.Records("ZFILE")
	if len(recs) != 2 || *recs[1].Weight != 255 || recs[1].SetIdentifier != "green" {
		t.Fatalf("records: %+v", recs)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("stepz: [1]\n"), 0o644)
	if r := tandem(t, "shift", "-f", bad); r.code != 2 || !strings.Contains(r.stderr, "stepz") {
		t.Fatalf("bad file: exit %d %s", r.code, r.stderr)
	}
}
