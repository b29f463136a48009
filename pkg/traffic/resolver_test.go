package traffic

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The resolver keeps an answer for its TTL, as a caching resolver does, and
// asks again after.
func TestResolverCachesForTheTTL(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		n := asked.Add(1)
		m := new(dns.Msg)
		m.SetReply(req)
		rr, _ := dns.NewRR(req.Question[0].Name + " 1 IN A 127.0.10." + string(rune('0'+n)))
		m.Answer = []dns.RR{rr}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer srv.Shutdown()
	r := &Resolver{Server: pc.LocalAddr().String()}
	ctx := context.Background()
	first, err := r.Resolve(ctx, "app.example")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.Resolve(ctx, "APP.example.")
	if again != first || asked.Load() != 1 {
		t.Fatalf("within the TTL: %s then %s, %d questions; want the cached answer and one question", first, again, asked.Load())
	}
	time.Sleep(1100 * time.Millisecond)
	later, _ := r.Resolve(ctx, "app.example")
	if later == first || asked.Load() != 2 {
		t.Fatalf("after the TTL: %s (first %s), %d questions; want a new answer", later, first, asked.Load())
	}
}
