package preflight

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/inventory"
)

// CIDR finds address ranges the two clusters share: Service ranges, pod
// ranges and node addresses. Clusters that must reach each other (or sit
// behind one router) need disjoint ranges.
type CIDR struct{}

// Name is the check's name.
func (CIDR) Name() string { return "cidr" }

// Scope says what was read.
func (CIDR) Scope(env *Env) string {
	return fmt.Sprintf("ServiceCIDRs or Service clusterIPs, node podCIDRs and pod IPs, node addresses of both clusters (%d source nodes)", len(env.Of("", "Node")))
}

// Net is one category of addresses of one cluster: ranges where known, else
// the addresses in use.
type Net struct {
	Cluster  string
	Category string // "services", "pods", "nodes"
	Source   string // where the ranges come from, for the message
	Prefixes []netip.Prefix
	Addrs    []netip.Addr
}

// Overlap returns how a and b overlap: prefixes that intersect, addresses of
// one inside the other's ranges, and (when neither has ranges) addresses in
// both. The count is exact; the examples are capped.
func Overlap(a, b Net) (int, []string) {
	n := 0
	var ex []string
	note := func(s string) {
		n++
		if len(ex) < 3 {
			ex = append(ex, s)
		}
	}
	for _, pa := range a.Prefixes {
		for _, pb := range b.Prefixes {
			if pa.Overlaps(pb) {
				note(fmt.Sprintf("%s %s overlaps %s %s", a.Cluster, pa, b.Cluster, pb))
			}
		}
	}
	inside := func(x, y Net) {
		for _, ip := range x.Addrs {
			for _, p := range y.Prefixes {
				if p.Contains(ip) {
					note(fmt.Sprintf("%s address %s is inside %s %s", x.Cluster, ip, y.Cluster, p))
					break
				}
			}
		}
	}
	if len(a.Prefixes) == 0 {
		inside(a, b)
	}
	if len(b.Prefixes) == 0 {
		inside(b, a)
	}
	if len(a.Prefixes) == 0 && len(b.Prefixes) == 0 {
		have := map[netip.Addr]bool{}
		for _, ip := range a.Addrs {
			have[ip] = true
		}
		for _, ip := range b.Addrs {
			if have[ip] {
				note(fmt.Sprintf("%s is used in both clusters", ip))
				delete(have, ip)
			}
		}
	}
	return n, ex
}

// Run gathers both clusters' networks and compares every pair of categories.
func (CIDR) Run(ctx context.Context, env *Env) ([]Finding, error) {
	src := sourceNets(env)
	dst, err := targetNets(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range src {
		for _, b := range dst {
			n, ex := Overlap(a, b)
			if n == 0 {
				continue
			}
			out = append(out, Finding{Severity: Error, Object: fmt.Sprintf("%s %s / %s %s", a.Cluster, a.Category, b.Cluster, b.Category),
				Message: fmt.Sprintf("%d overlaps between the source's %s (%s) and the target's %s (%s): %s", n, a.Category, a.Source, b.Category, b.Source, strings.Join(ex, "; ")),
				Fix:     "give the target disjoint ranges (--service-cluster-ip-range / ServiceCIDR, the CNI's pod CIDR, node subnets) before moving traffic; overlapping ranges break routing between the clusters"})
		}
	}
	return out, nil
}

func parsePrefixes(ss []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

func parseAddrs(ss []string) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}

// netsOf builds a cluster's networks from its objects.
func netsOf(cluster string, serviceCIDRs, services, nodes, pods []*unstructured.Unstructured) []Net {
	svc := Net{Cluster: cluster, Category: "services"}
	var cidrs []string
	for _, o := range serviceCIDRs {
		cs, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "cidrs")
		cidrs = append(cidrs, cs...)
	}
	if svc.Prefixes = parsePrefixes(cidrs); len(svc.Prefixes) > 0 {
		svc.Source = "ServiceCIDR objects"
	} else {
		var ips []string
		for _, o := range services {
			cs, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "clusterIPs")
			ips = append(ips, cs...)
		}
		svc.Addrs, svc.Source = parseAddrs(ips), "Service clusterIPs"
	}
	pod := Net{Cluster: cluster, Category: "pods"}
	node := Net{Cluster: cluster, Category: "nodes", Source: "node addresses"}
	var podCIDRs, podIPs, nodeIPs []string
	for _, o := range nodes {
		cs, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "podCIDRs")
		podCIDRs = append(podCIDRs, cs...)
		addrs, _, _ := unstructured.NestedSlice(o.Object, "status", "addresses")
		for _, a := range addrs {
			m, _ := a.(map[string]any)
			if t, _ := m["type"].(string); t == "InternalIP" || t == "ExternalIP" {
				s, _ := m["address"].(string)
				nodeIPs = append(nodeIPs, s)
			}
		}
	}
	for _, o := range pods {
		if hn, _, _ := unstructured.NestedBool(o.Object, "spec", "hostNetwork"); hn {
			continue // host-network pods use node addresses
		}
		ips, _, _ := unstructured.NestedSlice(o.Object, "status", "podIPs")
		for _, x := range ips {
			m, _ := x.(map[string]any)
			s, _ := m["ip"].(string)
			podIPs = append(podIPs, s)
		}
	}
	if pod.Prefixes = parsePrefixes(podCIDRs); len(pod.Prefixes) > 0 {
		pod.Source = "node podCIDRs"
	} else {
		pod.Addrs, pod.Source = parseAddrs(podIPs), "pod IPs"
	}
	node.Addrs = parseAddrs(nodeIPs)
	return []Net{svc, pod, node}
}

func sourceNets(env *Env) []Net {
	return netsOf("source", env.Of("networking.k8s.io", "ServiceCIDR"), env.Of("", "Service"), env.Of("", "Node"), env.Of("", "Pod"))
}

func targetNets(ctx context.Context, env *Env) ([]Net, error) {
	// Each object with only what netsOf reads: a target's pods and
	// Services can be many.
	core := func(resource, kind string, namespaced bool) inventory.Resource {
		return inventory.Resource{Version: "v1", Resource: resource, Kind: kind, Namespaced: namespaced}
	}
	var cidrs []*unstructured.Unstructured
	for _, gv := range env.TargetServed.Kinds["ServiceCIDR"] {
		if gv.Group == "networking.k8s.io" {
			var err error
			r := inventory.Resource{Group: gv.Group, Version: gv.Version, Resource: "servicecidrs", Kind: "ServiceCIDR"}
			if cidrs, err = targetObjects(ctx, env, r, nil, []string{"spec", "cidrs"}); err != nil {
				return nil, err
			}
			break
		}
	}
	svcs, err := targetObjects(ctx, env, core("services", "Service", true), nil, []string{"spec", "clusterIPs"})
	if err != nil {
		return nil, err
	}
	nodes, err := targetObjects(ctx, env, core("nodes", "Node", false), nil, []string{"spec", "podCIDRs"}, []string{"status", "addresses"})
	if err != nil {
		return nil, err
	}
	pods, err := targetObjects(ctx, env, core("pods", "Pod", true), nil, []string{"spec", "hostNetwork"}, []string{"status", "podIPs"})
	if err != nil {
		return nil, err
	}
	return netsOf("target", cidrs, svcs, nodes, pods), nil
}
