package ingress

import (
	"net"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Match is the Service backend a request was routed to.
type Match struct {
	// Namespace is the Ingress's namespace, and so the Service's.
	Namespace string
	// Ingress is the name of the Ingress whose rule or default backend matched.
	Ingress string
	// Service is the name of the backend Service.
	Service string
	// Default is true when no rule matched and spec.defaultBackend was used.
	Default bool
}

// Host ranks: a more specific host beats a less specific one.
const (
	hostAny = iota + 1
	hostWildcard
	hostExact
)

// candidate is one matching rule path, with everything needed to rank it.
type candidate struct {
	ing      *networkingv1.Ingress
	svc      string
	hostRank int
	pathLen  int
	exact    bool
}

// Route finds the backend for host and path among ings, the way an ingress
// controller merges all Ingresses of a cluster: a more specific host wins
// (exact, then wildcard, then empty), then the longer path, then Exact over
// Prefix. Remaining ties go to the oldest Ingress, then namespace/name, so the
// answer does not depend on the order of ings. If no rule matches, the oldest
// spec.defaultBackend is used. Backends that are not Services are skipped.
func Route(ings []*networkingv1.Ingress, host, path string) (Match, bool) {
	host = strings.ToLower(stripPort(host))
	if path == "" {
		path = "/"
	}
	var best *candidate
	for _, ing := range ings {
		for _, rule := range ing.Spec.Rules {
			rank := hostRank(rule.Host, host)
			if rank == 0 || rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil {
					continue
				}
				n, exact, ok := pathMatch(p, path)
				if !ok {
					continue
				}
				c := &candidate{ing: ing, svc: p.Backend.Service.Name, hostRank: rank, pathLen: n, exact: exact}
				if best == nil || c.beats(best) {
					best = c
				}
			}
		}
	}
	if best != nil {
		return Match{Namespace: best.ing.Namespace, Ingress: best.ing.Name, Service: best.svc}, true
	}
	var def *networkingv1.Ingress
	for _, ing := range ings {
		b := ing.Spec.DefaultBackend
		if b == nil || b.Service == nil {
			continue
		}
		if def == nil || older(ing, def) {
			def = ing
		}
	}
	if def == nil {
		return Match{}, false
	}
	return Match{Namespace: def.Namespace, Ingress: def.Name, Service: def.Spec.DefaultBackend.Service.Name, Default: true}, true
}

// beats reports whether c ranks above o. Within one Ingress the first rule
// and path win, since a later equal candidate never beats an earlier one.
func (c *candidate) beats(o *candidate) bool {
	switch {
	case c.hostRank != o.hostRank:
		return c.hostRank > o.hostRank
	case c.pathLen != o.pathLen:
		return c.pathLen > o.pathLen
	case c.exact != o.exact:
		return c.exact
	}
	return older(c.ing, o.ing)
}

// older orders Ingresses by creationTimestamp, then namespace/name.
func older(a, b *networkingv1.Ingress) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// hostRank is how specifically ruleHost matches host, 0 when it does not.
// A wildcard stands for exactly one DNS label, as the Ingress spec says.
func hostRank(ruleHost, host string) int {
	ruleHost = strings.ToLower(ruleHost)
	switch {
	case ruleHost == "":
		return hostAny
	case strings.HasPrefix(ruleHost, "*."):
		suffix := ruleHost[1:]
		label, ok := strings.CutSuffix(host, suffix)
		if ok && label != "" && !strings.Contains(label, ".") {
			return hostWildcard
		}
		return 0
	case ruleHost == host:
		return hostExact
	}
	return 0
}

// pathMatch reports whether p matches the request path, and the length that
// ranks it. Prefix (and ImplementationSpecific, which we treat as Prefix)
// compares whole "/"-separated elements, so /foo matches /foo and /foo/bar
// but not /foobar, and a trailing slash on either side does not matter.
func pathMatch(p networkingv1.HTTPIngressPath, path string) (n int, exact, ok bool) {
	rulePath := p.Path
	if rulePath == "" {
		rulePath = "/"
	}
	if p.PathType != nil && *p.PathType == networkingv1.PathTypeExact {
		return len(rulePath), true, rulePath == path
	}
	want := segments(rulePath)
	got := segments(path)
	if len(want) > len(got) {
		return 0, false, false
	}
	for i := range want {
		if want[i] != got[i] {
			return 0, false, false
		}
	}
	// Rank by the canonical form, so "/foo/" and "/foo" weigh the same.
	return len("/" + strings.Join(want, "/")), false, true
}

// segments splits a path into its non-empty elements.
func segments(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

// Ready reports whether any endpoint in slices is ready. A nil ready
// condition counts as ready, as the EndpointSlice API defines.
func Ready(slices []*discoveryv1.EndpointSlice) bool {
	for _, s := range slices {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				return true
			}
		}
	}
	return false
}

// stripPort returns host without its ":port", and an IPv6 literal without
// its brackets.
func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
