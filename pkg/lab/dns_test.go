package lab

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// startDNS serves a fake's zones on a loopback UDP port; it returns the
// fake, the zone id of app.example and the DNS address.
func startDNS(t *testing.T) (*awsfake.Server, string, string) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	resp, err := http.Post(fake.URL+"/2013-04-01/hostedzone", "text/xml", strings.NewReader(`<CreateHostedZoneRequest><Name>app.example</Name><CallerReference>t</CallerReference></CreateHostedZoneRequest>`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create zone: %v %v", err, resp)
	}
	resp.Body.Close()
	zone, ok := fake.ZoneFor("app.example")
	if !ok {
		t.Fatal("zone not found")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeDNS(ctx, pc, fake) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeDNS: %v", err)
		}
	})
	return fake, zone.ID, pc.LocalAddr().String()
}

func query(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, _, err := new(dns.Client).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func weighted(id string, w int64, ip string) awsfake.RecordSet {
	ttl := int64(5)
	return awsfake.RecordSet{Name: "app.example", Type: "A", SetIdentifier: id, Weight: &w, TTL: &ttl, Values: []string{ip}}
}

// Answers follow Route53's weighted routing: weight/sum, an equal split at
// all zero, never a record at 0 otherwise; the stored TTL.
func TestDNSAnswersWithRoute53Weights(t *testing.T) {
	fake, zone, addr := startDNS(t)
	share := func(n int) map[string]int {
		got := map[string]int{}
		for range n {
			r := query(t, addr, "app.example", dns.TypeA)
			if len(r.Answer) != 1 {
				t.Fatalf("answer %v, want one record", r.Answer)
			}
			a := r.Answer[0].(*dns.A)
			if a.Hdr.Ttl != 5 {
				t.Fatalf("TTL %d, want the stored 5", a.Hdr.Ttl)
			}
			got[a.A.String()]++
		}
		return got
	}
	for _, c := range []struct {
		blue, green int64
		lo, hi      int // green's answers out of 400
	}{{128, 127, 160, 240}, {255, 0, 0, 0}, {0, 255, 400, 400}, {0, 0, 160, 240}, {192, 64, 60, 140}} {
		fake.PutRecord(zone, weighted("blue", c.blue, "127.0.10.1"))
		fake.PutRecord(zone, weighted("green", c.green, "127.0.10.2"))
		if g := share(400)["127.0.10.2"]; g < c.lo || g > c.hi {
			t.Errorf("blue %d green %d: green answered %d of 400, want %d–%d", c.blue, c.green, g, c.lo, c.hi)
		}
	}
	if r := query(t, addr, "nope.app.example", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("a name with no records: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := query(t, addr, "app.example", dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("a type the name does not have: %s %v, want NOERROR and no answer", dns.RcodeToString[r.Rcode], r.Answer)
	}
	if r := query(t, addr, "other.test", dns.TypeA); r.Rcode != dns.RcodeRefused {
		t.Errorf("a name outside the lab's zones: rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
}
