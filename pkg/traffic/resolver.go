package traffic

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Resolver resolves names through one DNS server as a caching resolver
// does: an answer is kept for its TTL and then asked again, so a client
// follows a weighted DNS change only as fast as DNS lets it.
type Resolver struct {
	Server string // host:port of the DNS server (UDP)
	mu     sync.Mutex
	cache  map[string]cached
	client dns.Client
}

type cached struct {
	ip      string
	expires time.Time
}

// Resolve returns an IPv4 address of name: the cached one while its TTL
// lasts, else a new answer from the server.
func (r *Resolver) Resolve(ctx context.Context, name string) (string, error) {
	name = dns.Fqdn(strings.ToLower(name))
	r.mu.Lock()
	if c, ok := r.cache[name]; ok && time.Now().Before(c.expires) {
		r.mu.Unlock()
		return c.ip, nil
	}
	r.mu.Unlock()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	in, _, err := r.client.ExchangeContext(ctx, m, r.Server)
	if err != nil {
		return "", fmt.Errorf("resolve %s through %s: %w", name, r.Server, err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return "", fmt.Errorf("resolve %s through %s: %s", name, r.Server, dns.RcodeToString[in.Rcode])
	}
	for _, rr := range in.Answer {
		if a, ok := rr.(*dns.A); ok {
			r.mu.Lock()
			if r.cache == nil {
				r.cache = map[string]cached{}
			}
			r.cache[name] = cached{ip: a.A.String(), expires: time.Now().Add(time.Duration(a.Hdr.Ttl) * time.Second)}
			r.mu.Unlock()
			return a.A.String(), nil
		}
	}
	return "", fmt.Errorf("resolve %s through %s: no A record", name, r.Server)
}

// DialContext dials addr with its host resolved through r when it is name
// (other hosts as net.Dialer would).
func (r *Resolver) DialContext(name string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && strings.EqualFold(strings.TrimSuffix(host, "."), strings.TrimSuffix(name, ".")) {
			ip, err := r.Resolve(ctx, host)
			if err != nil {
				return nil, err
			}
			addr = net.JoinHostPort(ip, port)
		}
		return d.DialContext(ctx, network, addr)
	}
}
