package ingress

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ing builds an Ingress created age minutes after t0.
func ing(ns, name string, age int, rules ...networkingv1.IngressRule) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Minute))},
		Spec:       networkingv1.IngressSpec{Rules: rules},
	}
}

func withDefault(i *networkingv1.Ingress, svc string) *networkingv1.Ingress {
	i.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc}}
	return i
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

func path(pt networkingv1.PathType, p, svc string) networkingv1.HTTPIngressPath {
	hp := networkingv1.HTTPIngressPath{Path: p, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc}}}
	if pt != "" {
		hp.PathType = ptr.To(pt)
	}
	return hp
}

const (
	exact  = networkingv1.PathTypeExact
	prefix = networkingv1.PathTypePrefix
	impl   = networkingv1.PathTypeImplementationSpecific
)

func TestRoute(t *testing.T) {
	hosts := []*networkingv1.Ingress{
		ing("a", "exact", 0, rule("shop.example.com", path(prefix, "/", "exact-svc"))),
		ing("b", "wild", 0, rule("*.example.com", path(prefix, "/", "wild-svc"))),
		ing("c", "any", 0, rule("", path(prefix, "/", "any-svc"))),
	}
	paths := []*networkingv1.Ingress{ing("p", "paths", 0, rule("x.test",
		path(prefix, "/", "root"),
		path(prefix, "/foo", "foo"),
		path(prefix, "/foo/bar/", "foobar"),
		path(exact, "/foo/bar", "foobar-exact"),
		path(exact, "/exact", "exact"),
		path(impl, "/impl", "impl"),
		path("", "/nil", "nil-type"),
	))}
	onlyFoo := []*networkingv1.Ingress{ing("p", "foo", 0, rule("x.test", path(prefix, "/foo", "foo")))}
	defaults := []*networkingv1.Ingress{
		withDefault(ing("z", "newer", 5), "newer-svc"),
		withDefault(ing("b", "older-b", 1), "older-b-svc"),
		withDefault(ing("a", "older-a", 1), "older-a-svc"),
		ing("r", "rules", 0, rule("x.test", path(prefix, "/api", "api"))),
	}
	ties := []*networkingv1.Ingress{
		ing("n", "young", 9, rule("x.test", path(prefix, "/", "young"))),
		ing("n", "old", 1, rule("x.test", path(prefix, "/", "old"))),
	}
	skip := []*networkingv1.Ingress{ing("s", "resource", 0,
		rule("x.test", networkingv1.HTTPIngressPath{Path: "/deep", PathType: ptr.To(prefix), Backend: networkingv1.IngressBackend{Resource: nil}}, path(prefix, "/", "root")),
		networkingv1.IngressRule{Host: "x.test"},
	)}

	tests := []struct {
		name  string
		ings  []*networkingv1.Ingress
		host  string
		path  string
		want  Match
		found bool
	}{
		{"exact host beats wildcard and empty", hosts, "shop.example.com", "/", Match{"a", "exact", "exact-svc", false}, true},
		{"host compare ignores case and port", hosts, "SHOP.Example.com:8080", "/", Match{"a", "exact", "exact-svc", false}, true},
		{"wildcard beats empty", hosts, "blog.example.com", "/x", Match{"b", "wild", "wild-svc", false}, true},
		{"wildcard needs exactly one label", hosts, "a.b.example.com", "/", Match{"c", "any", "any-svc", false}, true},
		{"wildcard does not match the bare domain", hosts, "example.com", "/", Match{"c", "any", "any-svc", false}, true},
		{"empty host matches anything", hosts, "other.org", "/", Match{"c", "any", "any-svc", false}, true},
		{"empty host matches IP with port", hosts, "127.0.0.1:80", "/", Match{"c", "any", "any-svc", false}, true},
		{"no host match", hosts[:2], "other.org", "/", Match{}, false},
		{"prefix root matches all", paths, "x.test", "/anything/else", Match{"p", "paths", "root", false}, true},
		{"prefix matches itself", paths, "x.test", "/foo", Match{"p", "paths", "foo", false}, true},
		{"prefix matches with trailing slash", paths, "x.test", "/foo/", Match{"p", "paths", "foo", false}, true},
		{"prefix matches child", paths, "x.test", "/foo/baz", Match{"p", "paths", "foo", false}, true},
		{"prefix is element-wise, not string", paths, "x.test", "/foobar", Match{"p", "paths", "root", false}, true},
		{"prefix /foo does not match /foobar", onlyFoo, "x.test", "/foobar", Match{}, false},
		{"prefix /foo matches /foo/bar", onlyFoo, "x.test", "/foo/bar", Match{"p", "foo", "foo", false}, true},
		{"prefix /foo does not match /", onlyFoo, "x.test", "/", Match{}, false},
		{"longest prefix wins", paths, "x.test", "/foo/bar/baz", Match{"p", "paths", "foobar", false}, true},
		{"exact beats prefix of same length", paths, "x.test", "/foo/bar", Match{"p", "paths", "foobar-exact", false}, true},
		{"exact needs equality", paths, "x.test", "/exact/", Match{"p", "paths", "root", false}, true},
		{"exact matches", paths, "x.test", "/exact", Match{"p", "paths", "exact", false}, true},
		{"implementation specific is prefix", paths, "x.test", "/impl/x", Match{"p", "paths", "impl", false}, true},
		{"nil path type is prefix", paths, "x.test", "/nil/x", Match{"p", "paths", "nil-type", false}, true},
		{"empty request path is root", paths, "x.test", "", Match{"p", "paths", "root", false}, true},
		{"rule beats default backend", defaults, "x.test", "/api/v1", Match{"r", "rules", "api", false}, true},
		{"oldest default backend, then namespace", defaults, "x.test", "/web", Match{"a", "older-a", "older-a-svc", true}, true},
		{"default backend for unknown host", defaults, "nope", "/", Match{"a", "older-a", "older-a-svc", true}, true},
		{"tie goes to oldest ingress", ties, "x.test", "/", Match{"n", "old", "old", false}, true},
		{"non-service backends and http-less rules are skipped", skip, "x.test", "/deep/x", Match{"s", "resource", "root", false}, true},
		{"no ingresses", nil, "x.test", "/", Match{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := Route(tt.ings, tt.host, tt.path)
			if found != tt.found {
				t.Fatalf("Route(%q, %q) found = %v, want %v", tt.host, tt.path, found, tt.found)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Route(%q, %q) mismatch (-want +got):\n%s", tt.host, tt.path, diff)
			}
			// The answer must not depend on list order.
			rev := make([]*networkingv1.Ingress, len(tt.ings))
			for i, in := range tt.ings {
				rev[len(rev)-1-i] = in
			}
			if got2, _ := Route(rev, tt.host, tt.path); got2 != got {
				t.Errorf("Route on reversed list = %+v, want %+v", got2, got)
			}
		})
	}
}

func slice(ready ...*bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{}
	for _, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: r}})
	}
	return s
}

func TestReady(t *testing.T) {
	tests := []struct {
		name   string
		slices []*discoveryv1.EndpointSlice
		want   bool
	}{
		{"no slices", nil, false},
		{"empty slice", []*discoveryv1.EndpointSlice{slice()}, false},
		{"ready nil means ready", []*discoveryv1.EndpointSlice{slice(nil)}, true},
		{"ready true", []*discoveryv1.EndpointSlice{slice(ptr.To(true))}, true},
		{"ready false", []*discoveryv1.EndpointSlice{slice(ptr.To(false))}, false},
		{"one ready among not ready", []*discoveryv1.EndpointSlice{slice(ptr.To(false), ptr.To(true))}, true},
		{"ready in second slice", []*discoveryv1.EndpointSlice{slice(ptr.To(false)), slice(nil)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ready(tt.slices); got != tt.want {
				t.Errorf("Ready() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStripPort(t *testing.T) {
	for in, want := range map[string]string{
		"a.test": "a.test", "a.test:80": "a.test", "[::1]:80": "::1", "[::1]": "::1", "": "",
	} {
		if got := stripPort(in); got != want {
			t.Errorf("stripPort(%q) = %q, want %q", in, got, want)
		}
	}
}
