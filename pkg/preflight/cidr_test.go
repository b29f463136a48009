package preflight

import (
	"net/netip"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestOverlap(t *testing.T) {
	cases := []struct {
		name  string
		a, b  Net
		count int
		first string
	}{
		{"disjoint ranges", Net{Cluster: "blue", Prefixes: prefixes("10.96.0.0/16")}, Net{Cluster: "green", Prefixes: prefixes("10.112.0.0/16")}, 0, ""},
		{"same range", Net{Cluster: "blue", Prefixes: prefixes("10.96.0.0/16")}, Net{Cluster: "green", Prefixes: prefixes("10.96.0.0/16")}, 1, "blue 10.96.0.0/16 overlaps green 10.96.0.0/16"},
		{"nested range", Net{Cluster: "blue", Prefixes: prefixes("10.0.0.0/8")}, Net{Cluster: "green", Prefixes: prefixes("10.200.0.0/16", "192.168.0.0/24")}, 1, "blue 10.0.0.0/8 overlaps green 10.200.0.0/16"},
		{"addresses inside the other's range", Net{Cluster: "blue", Addrs: addrs("10.96.0.1", "10.96.4.7", "172.16.0.1")}, Net{Cluster: "green", Prefixes: prefixes("10.96.0.0/20")}, 2, "blue address 10.96.0.1 is inside green 10.96.0.0/20"},
		{"addresses outside the other's range", Net{Cluster: "blue", Addrs: addrs("10.96.0.1")}, Net{Cluster: "green", Prefixes: prefixes("10.112.0.0/16")}, 0, ""},
		{"other side's addresses inside", Net{Cluster: "blue", Prefixes: prefixes("10.244.0.0/16")}, Net{Cluster: "green", Addrs: addrs("10.244.1.5")}, 1, "green address 10.244.1.5 is inside blue 10.244.0.0/16"},
		{"only addresses: shared ones", Net{Cluster: "blue", Addrs: addrs("10.0.0.1", "10.0.0.2")}, Net{Cluster: "green", Addrs: addrs("10.0.0.2", "10.0.0.3")}, 1, "10.0.0.2 is used in both clusters"},
		{"IPv6 vs IPv4", Net{Cluster: "blue", Prefixes: prefixes("fd00::/108")}, Net{Cluster: "green", Prefixes: prefixes("10.0.0.0/8")}, 0, ""},
		{"nothing known", Net{Cluster: "blue"}, Net{Cluster: "green", Prefixes: prefixes("10.0.0.0/8")}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, ex := Overlap(c.a, c.b)
			if n != c.count {
				t.Fatalf("count %d, want %d (%v)", n, c.count, ex)
			}
			if c.first != "" && (len(ex) == 0 || ex[0] != c.first) {
				t.Errorf("examples %q, want first %q", ex, c.first)
			}
		})
	}
}

func TestOverlapCapsExamples(t *testing.T) {
	a := Net{Cluster: "blue", Addrs: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5")}
	b := Net{Cluster: "green", Prefixes: prefixes("10.0.0.0/24")}
	n, ex := Overlap(a, b)
	if n != 5 || len(ex) != 3 {
		t.Errorf("count %d examples %d, want 5 and 3", n, len(ex))
	}
}
