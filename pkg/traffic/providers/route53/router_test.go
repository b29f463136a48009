package route53_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
	"github.com/tandem-io/tandem/pkg/traffic/providers/route53"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

func TestWeightMappingRoundTrips(t *testing.T) {
	for w := 0; w <= traffic.MaxWeight; w++ {
		r := route53.ToRoute53(w)
		if r < 0 || r > route53.MaxWeight {
			t.Fatalf("ToRoute53(%d) = %d, out of 0–255", w, r)
		}
		if back := route53.FromRoute53(r); back != w {
			t.Fatalf("FromRoute53(ToRoute53(%d)) = %d", w, back)
		}
	}
	if route53.ToRoute53(100) != 255 || route53.ToRoute53(0) != 0 {
		t.Fatal("the ends of the scale do not map onto 0 and 255")
	}
}

func newRouter(t *testing.T, fake *awsfake.Server, query string) *route53.Router {
	t.Helper()
	cfg, err := route53.ParseURL("route53://Z1/app.example.com?ttl=60&blue=192.0.2.10&green=192.0.2.20&endpoint=" + fake.URL + query)
	if err != nil {
		t.Fatal(err)
	}
	r, err := route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) traffic.Router {
		fake := awsfake.New()
		fake.InsyncAfter = 0
		t.Cleanup(fake.Close)
		fake.AddZone("Z1")
		return newRouter(t, fake, "")
	}, []string{"app.example.com."}, []string{"blue", "green"})
}

func TestSimpleRecordIsConvertedInOneBatch(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("Z1")
	ttl := int64(300)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", TTL: &ttl, Values: []string{"192.0.2.10"}})
	r := newRouter(t, fake, "")
	var notices []string
	r.Notice = func(s string) { notices = append(notices, s) }
	ctx := context.Background()
	got, err := r.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got["app.example.com."]["blue"] != 100 || got["app.example.com."]["green"] != 0 {
		t.Fatalf("a simple record pointing at blue's value observed as %s", got)
	}
	w := traffic.Weights{"app.example.com.": {"blue": 90, "green": 10}}
	if err := r.SetWeights(ctx, w); err != nil {
		t.Fatal(err)
	}
	if fake.Calls["ChangeResourceRecordSets"] != 1 {
		t.Fatalf("%d change batches, want 1 (DELETE + CREATE together)", fake.Calls["ChangeResourceRecordSets"])
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "converting it to weighted") {
		t.Fatalf("notices %q", notices)
	}
	recs := fake.Records("Z1")
	if len(recs) != 2 || recs[0].SetIdentifier != "blue" || *recs[0].Weight != 230 || recs[1].SetIdentifier != "green" || *recs[1].Weight != 26 || *recs[0].TTL != 300 || *recs[1].TTL != 300 {
		t.Fatalf("records after the conversion: %+v", recs)
	}
	if err := traffic.VerifyWithin(ctx, r, w, 5e9); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("Z1")
	r := newRouter(t, fake, "")
	ctx := context.Background()
	for _, w := range []traffic.Weights{
		{"app.example.com.": {"blue": 0, "green": 0}},
		{"app.example.com.": {"blue": 140, "green": 0}},
		{"app.example.com.": {"blue": -5, "green": 50}},
		{"other.example.com.": {"blue": 50, "green": 50}},
		{"app.example.com.": {"blue": 50, "purple": 50}},
	} {
		if err := r.SetWeights(ctx, w); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("SetWeights(%s) = %v, want an invalid-input error", w, err)
		}
	}
	if n := fake.Calls["ChangeResourceRecordSets"]; n != 0 {
		t.Fatalf("%d changes sent for refused weights", n)
	}
	for _, raw := range []string{"route53://", "route53://Z1/", "route53://Z1/a.example?ttl=-1", "route53://Z1/a.example?type=MX", "haproxy://Z1/a"} {
		if _, err := route53.ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}

func TestFakeValidatesLikeRoute53(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("Z1")
	// Another tool wrote a weight off tandem's grid: Observe reports it as it is.
	ttl, w := int64(60), int64(100)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w, TTL: &ttl, Values: []string{"192.0.2.10"}})
	r := newRouter(t, fake, "")
	got, err := r.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got["app.example.com."]["blue"] != 39 {
		t.Fatalf("weight 100/255 observed as %d%%, want 39", got["app.example.com."]["blue"])
	}
	// Unknown zone: the SDK's error comes through.
	bad, err := route53.ParseURL("route53://ZNONE/app.example.com?blue=1.2.3.4&endpoint=" + fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	br, err := route53.New(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := br.Observe(context.Background()); err == nil || !strings.Contains(err.Error(), "NoSuchHostedZone") {
		t.Fatalf("unknown zone: %v", err)
	}
}

// A weighted ALIAS set (what EKS users have in front of their ALBs) is
// shifted 0 → 50 → 100 with each record's AliasTarget, EvaluateTargetHealth
// and HealthCheckId untouched, even though the router URL names values.
func TestWeightedAliasSetKeepsEverythingButTheWeight(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 0
	fake.AddZone("Z1")
	blueLB := &awsfake.AliasTarget{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "blue-123.eu-west-1.elb.amazonaws.com.", EvaluateTargetHealth: true}
	greenLB := &awsfake.AliasTarget{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "green-456.eu-west-1.elb.amazonaws.com.", EvaluateTargetHealth: false}
	w255, w0 := int64(255), int64(0)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w255, AliasTarget: blueLB, HealthCheckID: "hc-blue"})
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "green", Weight: &w0, AliasTarget: greenLB})
	r := newRouter(t, fake, "")
	ctx := context.Background()
	if ttl := r.TTL(ctx); ttl.Seconds() != 60 {
		t.Errorf("TTL of an alias set: %s, want the ELB alias's 60s", ttl)
	}
	for _, g := range []int{0, 50, 100} {
		w := traffic.Weights{"app.example.com.": {"blue": 100 - g, "green": g}}
		if err := r.SetWeights(ctx, w); err != nil {
			t.Fatalf("shift to %d: %v", g, err)
		}
		if err := traffic.VerifyWithin(ctx, r, w, 5e9); err != nil {
			t.Fatal(err)
		}
	}
	recs := fake.Records("Z1")
	if len(recs) != 2 {
		t.Fatalf("records after the shift: %+v", recs)
	}
	for _, rec := range recs {
		want, hc := blueLB, "hc-blue"
		if rec.SetIdentifier == "green" {
			want, hc = greenLB, ""
		}
		if rec.AliasTarget == nil || *rec.AliasTarget != *want || rec.HealthCheckID != hc || rec.TTL != nil || len(rec.Values) != 0 {
			t.Errorf("%s after the shift: alias %+v health check %q TTL %v values %v; want alias %+v, health check %q, no TTL or values", rec.SetIdentifier, rec.AliasTarget, rec.HealthCheckID, rec.TTL, rec.Values, want, hc)
		}
	}
	if *recs[0].Weight != 0 || *recs[1].Weight != 255 {
		t.Errorf("weights after 100%%: blue %d green %d", *recs[0].Weight, *recs[1].Weight)
	}
}

// A record tandem adds to a weighted set takes the set's TTL (Route53
// answers a set with one TTL), not the router's.
func TestNewRecordTakesTheSetsTTL(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 0
	fake.AddZone("Z1")
	ttl, w := int64(30), int64(255)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w, TTL: &ttl, Values: []string{"192.0.2.10"}})
	r := newRouter(t, fake, "")
	if err := r.SetWeights(context.Background(), traffic.Weights{"app.example.com.": {"blue": 90, "green": 10}}); err != nil {
		t.Fatal(err)
	}
	for _, rec := range fake.Records("Z1") {
		if rec.TTL == nil || *rec.TTL != 30 {
			t.Errorf("%s: TTL %v, want the set's 30", rec.SetIdentifier, rec.TTL)
		}
	}
}

// A shift step under Route53's account-wide limit (5 requests/s), with
// another client (ExternalDNS) using part of it and a change that takes 3 s
// to be INSYNC: verification paces itself and every step succeeds, in few calls.
func TestStepsUnderThrottling(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 3 * time.Second
	fake.Route53Limiter = rate.NewLimiter(5, 5)
	fake.AddZone("Z1")
	ttl := int64(1)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", TTL: &ttl, Values: []string{"192.0.2.10"}})
	r := newRouter(t, fake, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The other client: 3 requests/s of the account's 5.
	var others atomic.Int32
	go func() {
		for ctx.Err() == nil {
			if _, err := http.Get(fake.URL + "/2013-04-01/hostedzone/Z1/rrset"); err == nil {
				others.Add(1)
			}
			time.Sleep(333 * time.Millisecond)
		}
	}()
	for _, g := range []int{50, 100} {
		before := fake.Requests() - int(others.Load())
		w := traffic.Weights{"app.example.com.": {"blue": 100 - g, "green": g}}
		if err := r.SetWeights(ctx, w); err != nil {
			t.Fatalf("step %d%%: %v", g, err)
		}
		if err := traffic.VerifyWithin(ctx, r, w, time.Minute); err != nil {
			t.Fatalf("step %d%%: %v", g, err)
		}
		calls := fake.Requests() - int(others.Load()) - before
		t.Logf("step %d%%: %d Route53 calls (%d answered Throttling so far)", g, calls, fake.Throttled)
		if calls > 10 {
			t.Errorf("step %d%%: %d Route53 calls, want at most 10 for a change INSYNC within 5 s", g, calls)
		}
	}
}

// A weighted set whose TTLs differ is named by the preflight and refused
// before any change; with FixTTL every record gets the longest, weights as asked.
func TestUnequalTTLsReportedAndFixedOnlyWhenAsked(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 0
	fake.AddZone("Z1")
	t60, t300, w255, w0 := int64(60), int64(300), int64(255), int64(0)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w255, TTL: &t60, Values: []string{"192.0.2.10"}})
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "green", Weight: &w0, TTL: &t300, Values: []string{"192.0.2.20"}})
	ctx := context.Background()
	r := newRouter(t, fake, "")
	lines, err := r.Preflight(ctx)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "blue 60s, green 300s") || !strings.Contains(lines[0], "--fix-ttl") {
		t.Fatalf("preflight %q %v: want the TTLs named and --fix-ttl", lines, err)
	}
	w := traffic.Weights{"app.example.com.": {"blue": 50, "green": 50}}
	if err := r.SetWeights(ctx, w); !errors.Is(err, traffic.ErrInvalid) || !strings.Contains(err.Error(), "--fix-ttl") {
		t.Fatalf("SetWeights on a set with unequal TTLs: %v, want refused naming --fix-ttl", err)
	}
	if fake.Calls["ChangeResourceRecordSets"] != 0 {
		t.Fatal("a change was sent for a refused set")
	}
	cfg, err := route53.ParseURL("route53://Z1/app.example.com?endpoint=" + fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.FixTTL = true
	fixed, err := route53.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixed.SetWeights(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, rec := range fake.Records("Z1") {
		if *rec.TTL != 300 || *rec.Weight != 128 {
			t.Errorf("%s after --fix-ttl: TTL %d weight %d, want 300 and 128", rec.SetIdentifier, *rec.TTL, *rec.Weight)
		}
	}
}

// A weighted ALIAS set where a cluster has no record yet: without its alias
// target the step is refused before any change; with one, the new record is
// an ALIAS record (no TTL) that evaluates health as the others do.
func TestMissingAliasRecord(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 0
	fake.AddZone("Z1")
	w255 := int64(255)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w255,
		AliasTarget: &awsfake.AliasTarget{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "blue-1.eu-west-1.elb.amazonaws.com.", EvaluateTargetHealth: true}})
	ctx := context.Background()
	open := func(raw string) *route53.Router {
		cfg, err := route53.ParseURL(raw + "&endpoint=" + fake.URL)
		if err != nil {
			t.Fatal(err)
		}
		r, err := route53.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	w := traffic.Weights{"app.example.com.": {"blue": 50, "green": 50}}
	if err := open("route53://Z1/app.example.com?x=1").SetWeights(ctx, w); !errors.Is(err, traffic.ErrInvalid) || !strings.Contains(err.Error(), "alias target is missing") {
		t.Fatalf("no alias target for green: %v, want invalid naming the missing alias target", err)
	}
	if _, err := route53.ParseURL("route53://Z1/app.example.com?green=alias:Z32O12XQLNTSW2"); !errors.Is(err, traffic.ErrInvalid) {
		t.Fatalf("alias:ZONE without a DNS name: %v, want invalid", err)
	}
	if n := fake.Calls["ChangeResourceRecordSets"]; n != 0 {
		t.Fatalf("%d changes sent for a refused step", n)
	}
	r := open("route53://Z1/app.example.com?green=alias:Z32O12XQLNTSW2/green-2.eu-west-1.elb.amazonaws.com")
	if err := r.SetWeights(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, rec := range fake.Records("Z1") {
		if rec.SetIdentifier == "green" && (rec.AliasTarget == nil || rec.AliasTarget.DNSName != "green-2.eu-west-1.elb.amazonaws.com." || !rec.AliasTarget.EvaluateTargetHealth || rec.TTL != nil || *rec.Weight != 128) {
			t.Fatalf("green's new record: %+v alias %+v", rec, rec.AliasTarget)
		}
	}
	if len(fake.Records("Z1")) != 2 {
		t.Fatalf("records: %+v", fake.Records("Z1"))
	}
}

// The DNS wait is the records' longest TTL; a read of the records that
// fails later (Route53 throttled, away) keeps the longest read before, not
// the router's default: the gates must not judge before the clients moved.
func TestTTLNeverFallsBelowWhatWasRead(t *testing.T) {
	fake := awsfake.New()
	fake.AddZone("Z1")
	ttl, w := int64(300), int64(255)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", SetIdentifier: "blue", Weight: &w, TTL: &ttl, Values: []string{"192.0.2.10"}})
	r := newRouter(t, fake, "") // ?ttl=60
	if got := r.TTL(context.Background()); got != 300*time.Second {
		t.Fatalf("TTL %s, want the record's 300s", got)
	}
	fake.Close() // Route53 away from now on
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if got := r.TTL(ctx); got != 300*time.Second {
		t.Fatalf("TTL %s with the records unreadable, want the 300s read before", got)
	}
}
