package lab

// The lab's DNS server: it answers the names of the lab's Route53 zones from
// the same store the AWS endpoint serves, with Route53's routing: a
// weighted set answers one of its records at a time, each with probability
// weight/sum (all weights 0: an equal split), with the TTL stored.
// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// aliasTTL is the TTL Route53 answers an ALIAS record with when its target
// is another record (the target's own TTL); the lab uses one fixed value.
const aliasTTL = 60

type dnsAnswerer struct {
	store *awsfake.Server
	mu    sync.Mutex
	rnd   *rand.Rand
}

// pick chooses one record set of a weighted set as Route53 does; a set
// without weights (one simple record) answers as it is.
func (d *dnsAnswerer) pick(sets []awsfake.RecordSet) awsfake.RecordSet {
	if len(sets) == 1 || sets[0].Weight == nil {
		return sets[0]
	}
	var sum int64
	for _, rs := range sets {
		sum += *rs.Weight
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if sum == 0 { // "If you set Weight to 0 for all the records in the group, traffic is routed to all resources with equal probability."
		return sets[d.rnd.IntN(len(sets))]
	}
	n := d.rnd.Int64N(sum)
	for _, rs := range sets {
		if n < *rs.Weight {
			return rs
		}
		n -= *rs.Weight
	}
	return sets[len(sets)-1]
}

// answer resolves name/type within the store: the records it answers with,
// and whether the name exists at all.
func (d *dnsAnswerer) answer(name string, qtype uint16, depth int) ([]dns.RR, bool) {
	zone, ok := d.store.ZoneFor(name)
	if !ok || depth > 3 {
		return nil, false
	}
	typ := dns.TypeToString[qtype]
	sets := d.store.Lookup(zone.ID, name, typ)
	if len(sets) == 0 && qtype != dns.TypeCNAME {
		if cname := d.store.Lookup(zone.ID, name, "CNAME"); len(cname) > 0 {
			rs := d.pick(cname)
			out := rrs(name, rs, dns.TypeCNAME)
			more, _ := d.answer(rs.Values[0], qtype, depth+1)
			return append(out, more...), true
		}
	}
	if len(sets) == 0 {
		return nil, d.exists(zone.ID, name)
	}
	rs := d.pick(sets)
	if rs.AliasTarget != nil {
		// An ALIAS answers with its target's records (in a lab zone).
		target, _ := d.answer(rs.AliasTarget.DNSName, qtype, depth+1)
		var out []dns.RR
		for _, rr := range target {
			if rr.Header().Rrtype == qtype {
				rr.Header().Name, rr.Header().Ttl = dns.Fqdn(name), aliasTTL
				out = append(out, rr)
			}
		}
		return out, true
	}
	return rrs(name, rs, qtype), true
}

func (d *dnsAnswerer) exists(zone, name string) bool {
	for _, t := range []string{"A", "AAAA", "CNAME", "TXT", "NS", "SOA", "MX"} {
		if len(d.store.Lookup(zone, name, t)) > 0 {
			return true
		}
	}
	return false
}

func rrs(name string, rs awsfake.RecordSet, qtype uint16) []dns.RR {
	var ttl uint32
	if rs.TTL != nil {
		ttl = uint32(*rs.TTL)
	}
	var out []dns.RR
	for _, v := range rs.Values {
		rr, err := dns.NewRR(dns.Fqdn(name) + " " + strconv.FormatUint(uint64(ttl), 10) + " IN " + dns.TypeToString[qtype] + " " + v)
		if err == nil && rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

// ServeDNS implements dns.Handler.
func (d *dnsAnswerer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if _, ok := d.store.ZoneFor(name); !ok {
		m.Rcode, m.Authoritative = dns.RcodeRefused, false
		_ = w.WriteMsg(m)
		return
	}
	answer, exists := d.answer(name, q.Qtype, 0)
	m.Answer = answer
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

// ServeDNS answers DNS over UDP on pc from store's zones until ctx ends.
func ServeDNS(ctx context.Context, pc net.PacketConn, store *awsfake.Server) error {
	srv := &dns.Server{PacketConn: pc, Handler: &dnsAnswerer{store: store, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown()
	}()
	if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
