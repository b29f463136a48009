package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/externaldns"
)

// BenchmarkDNSStep measures, in the lab's DNS plane, the time from the
// externaldns router setting a weight (the Ingress annotations in both
// clusters) to the lab's DNS server answering with it: each cluster's real
// ExternalDNS (--interval 5s, --events) sees the change, publishes it to
// the lab's Route53, and the DNS server answers from there. Twenty steps
// flip all of bench.example between blue and green; a step counts as
// answered when 5 answers in a row name the new cluster's address.
func BenchmarkDNSStep(b *testing.B) {
	const ns, host = "bench-dns", "bench.example"
	if lab.dns == "" || lab.zone == "" {
		b.Fatal("the lab has no DNS plane (TANDEM_LAB_DNS, TANDEM_LAB_ZONE)")
	}
	for _, c := range []string{"blue", "green"} {
		if _, err := kubectl(time.Minute, nil, "--context", c, "create", "namespace", ns); err != nil {
			b.Fatal(err)
		}
		defer kubectl(time.Minute, nil, "--context", c, "delete", "namespace", ns, "--wait=false")
		if _, err := kubectl(time.Minute, nil, "--context", c, "-n", ns, "create", "ingress", "web", "--rule="+host+"/=web:80"); err != nil {
			b.Fatal(err)
		}
		if _, err := kubectl(time.Minute, nil, "--context", c, "-n", ns, "annotate", "ingress", "web", "external-dns.kubernetes.io/ttl=1"); err != nil {
			b.Fatal(err)
		}
	}
	connect := func(name string) (*cluster.Conn, error) { return cluster.Connect(lab.kubeconfig, name) }
	cfg, err := externaldns.ParseURL("externaldns://ingress/" + ns + "/web?clusters=blue,green&prefix=external-dns.kubernetes.io/")
	if err != nil {
		b.Fatal(err)
	}
	r, err := externaldns.New(context.Background(), cfg, connect)
	if err != nil {
		b.Fatal(err)
	}
	addr := map[string]string{"blue": "127.0.10.1", "green": "127.0.10.2"}
	answer := func() string {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(host), dns.TypeA)
		in, _, err := new(dns.Client).Exchange(m, lab.dns)
		if err != nil || len(in.Answer) == 0 {
			return ""
		}
		if a, ok := in.Answer[0].(*dns.A); ok {
			return a.A.String()
		}
		return ""
	}
	route := "ingress/" + ns + "/web"
	var took []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range 20 {
			to, from := "green", "blue"
			if i%2 == 1 {
				to, from = "blue", "green"
			}
			start := time.Now()
			if err := r.SetWeights(context.Background(), traffic.Weights{route: {to: 100, from: 0}}); err != nil {
				b.Fatal(err)
			}
			for run := 0; run < 5; {
				if time.Since(start) > 2*time.Minute {
					b.Fatalf("step %d: %s not answered with %s's address after 2m", i, host, to)
				}
				if answer() == addr[to] {
					run++
				} else {
					run = 0
					time.Sleep(50 * time.Millisecond)
				}
			}
			took = append(took, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(took)
	p := func(q float64) time.Duration { return took[min(len(took)-1, int(q*float64(len(took))))] }
	b.ReportMetric(p(0.5).Seconds(), "p50-s")
	b.ReportMetric(p(0.99).Seconds(), "p99-s")
	fmt.Printf("BenchmarkDNSStep: %d steps, p50 %s, p99 %s, max %s (ExternalDNS --interval 5s, --events, --min-event-sync-interval 1s)\n",
		len(took), p(0.5).Round(10*time.Millisecond), p(0.99).Round(10*time.Millisecond), took[len(took)-1].Round(10*time.Millisecond))
}
