package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
	"github.com/tandem-io/tandem/pkg/traffic/providers/route53"
)

// BenchmarkRoute53Step counts the Route53 API calls of one shift step (set
// the weights, wait until the change is INSYNC and the records read back)
// against the AWS fake with Route53's account limit (5 requests/s) and a
// change that takes 3 s to be INSYNC. Route53's budget is shared with
// ExternalDNS and everything else of the account: fewer calls is better.
func BenchmarkRoute53Step(b *testing.B) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"} {
		b.Setenv(k, v)
	}
	fake := awsfake.New()
	defer fake.Close()
	fake.InsyncAfter = 3 * time.Second
	fake.Route53Limiter = rate.NewLimiter(5, 5)
	fake.AddZone("ZBENCH")
	ttl := int64(60)
	fake.PutRecord("ZBENCH", awsfake.RecordSet{Name: "app.example.com", Type: "A", TTL: &ttl, Values: []string{"192.0.2.10"}})
	cfg, err := route53.ParseURL("route53://ZBENCH/app.example.com?blue=192.0.2.10&green=192.0.2.20&endpoint=" + fake.URL)
	if err != nil {
		b.Fatal(err)
	}
	r, err := route53.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	steps := []int{5, 25, 50, 100}
	var took time.Duration
	before := fake.Requests()
	b.ResetTimer()
	for range b.N {
		for _, g := range steps {
			w := traffic.Weights{"app.example.com.": {"blue": 100 - g, "green": g}}
			start := time.Now()
			if err := r.SetWeights(context.Background(), w); err != nil {
				b.Fatal(err)
			}
			if err := traffic.VerifyWithin(context.Background(), r, w, 2*time.Minute); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
		}
	}
	n := float64(b.N * len(steps))
	calls := float64(fake.Requests()-before) / n
	b.ReportMetric(calls, "calls/step")
	b.ReportMetric(took.Seconds()/n, "s/step")
	fmt.Printf("route53 step: %.1f API calls and %.1f s per step (INSYNC after 3 s, 5 requests/s; %d answered Throttling)\n", calls, took.Seconds()/n, fake.Throttled)
}
