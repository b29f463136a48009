package externaldns

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/route53"
)

// The annotation prefixes ExternalDNS reads: the alpha one until v0.22.0,
// the GA one from v0.22.0 on (no fallback unless
// --enable-legacy-annotation-prefix); --annotation-prefix overrides both.
const (
	AlphaPrefix = "external-dns.alpha.kubernetes.io/"
	GAPrefix    = "external-dns.kubernetes.io/"
	defaultTTL  = 300 * time.Second // the record TTL ExternalDNS uses without a ttl annotation
)

// Config names the object whose annotations carry the weights.
type Config struct {
	Kind      string // "ingress" or "service"
	Namespace string
	Name      string
	Clusters  []string          // contexts; each has the object
	SetIDs    map[string]string // cluster → set-identifier; default the cluster's name
	Prefix    string            // "" = ask each cluster's ExternalDNS
	// VerifyZone, when set, is the Route53 hosted zone ExternalDNS publishes
	// to: a step is verified only once the published records carry the
	// weights (verify=route53://ZONE_ID).
	VerifyZone       string
	Host             string // the record name; default the object's first host
	Endpoint, Region string // of Route53, for VerifyZone
}

// ParseURL reads externaldns://ingress/NAMESPACE/NAME?clusters=blue,green
// [&setid.CLUSTER=ID][&prefix=external-dns.kubernetes.io/]
// [&verify=route53://ZONE_ID][&host=NAME][&endpoint=URL][&region=R].
func ParseURL(raw string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: router %q: %s", traffic.ErrInvalid, raw, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("%v", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Scheme != "externaldns" || (u.Host != "ingress" && u.Host != "service") || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return bad("want externaldns://ingress/NAMESPACE/NAME or externaldns://service/NAMESPACE/NAME")
	}
	c := Config{Kind: u.Host, Namespace: parts[0], Name: parts[1], SetIDs: map[string]string{}}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch {
		case k == "clusters":
			for _, cl := range strings.Split(v, ",") {
				if cl = strings.TrimSpace(cl); cl != "" {
					c.Clusters = append(c.Clusters, cl)
				}
			}
		case k == "prefix":
			if !strings.HasSuffix(v, "/") {
				return bad("prefix %q: want it to end in /", v)
			}
			c.Prefix = v
		case strings.HasPrefix(k, "setid."):
			c.SetIDs[strings.TrimPrefix(k, "setid.")] = v
		case k == "verify":
			zone, ok := strings.CutPrefix(v, "route53://")
			if !ok || zone == "" || strings.ContainsAny(zone, "/?") {
				return bad("verify=%s: want verify=route53://ZONE_ID (the hosted zone ExternalDNS publishes to)", v)
			}
			c.VerifyZone = zone
		case k == "host":
			c.Host = v
		case k == "endpoint":
			c.Endpoint = v
		case k == "region":
			c.Region = v
		default:
			return bad("unknown parameter %q", k)
		}
	}
	return c, nil
}

func (c Config) gvr() schema.GroupVersionResource {
	if c.Kind == "service" {
		return schema.GroupVersionResource{Version: "v1", Resource: "services"}
	}
	return schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
}

// Router drives the annotations in every cluster.
type Router struct {
	cfg      Config
	route    string
	conns    map[string]*cluster.Conn
	prefixes map[string]string
	notes    map[string][]string // cluster → how its prefix was decided
	// published reads the records ExternalDNS published (VerifyZone).
	published *route53.Router
	host      string
	// publishWithin is, of every cluster, the longest time its ExternalDNS
	// may take to publish a change (Instance.Interval; its default where
	// the prefix was given and no Deployment read).
	publishWithin time.Duration
}

// New connects to each cluster (connect opens a context) and decides each
// cluster's annotation prefix from its ExternalDNS.
func New(ctx context.Context, cfg Config, connect func(context string) (*cluster.Conn, error)) (*Router, error) {
	if len(cfg.Clusters) < 2 {
		return nil, fmt.Errorf("%w: externaldns: name the clusters: ?clusters=blue,green", traffic.ErrInvalid)
	}
	r := &Router{cfg: cfg, route: cfg.Kind + "/" + cfg.Namespace + "/" + cfg.Name, conns: map[string]*cluster.Conn{}, prefixes: map[string]string{}, notes: map[string][]string{}}
	for _, name := range cfg.Clusters {
		c, err := connect(name)
		if err != nil {
			return nil, err
		}
		r.conns[name] = c
		ds, err := Deployments(ctx, c)
		if err != nil && cfg.Prefix == "" {
			return nil, err
		}
		// Without verify=, a step waits out the publishing too.
		r.publishWithin = max(r.publishWithin, publishWithin(ds, cfg.Kind, cfg.Namespace))
		if cfg.Prefix != "" {
			r.prefixes[name] = cfg.Prefix
			continue
		}
		if r.prefixes[name], r.notes[name], err = prefixFor(ds, cfg.Kind, cfg.Namespace); err != nil {
			return nil, fmt.Errorf("%w: externaldns: %s: %v", traffic.ErrInvalid, name, err)
		}
	}
	if cfg.VerifyZone != "" {
		if err := r.openPublished(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// openPublished connects to the Route53 zone ExternalDNS publishes to, for
// the object's host name.
func (r *Router) openPublished(ctx context.Context) error {
	r.host = r.cfg.Host
	typ := "A"
	o, err := r.get(ctx, r.cfg.Clusters[0])
	if err != nil {
		return fmt.Errorf("%w: externaldns: %s %s/%s in %s: %v", traffic.ErrInvalid, r.cfg.Kind, r.cfg.Namespace, r.cfg.Name, r.cfg.Clusters[0], err)
	}
	if r.host == "" {
		r.host = hostOf(o, r.prefixes[r.cfg.Clusters[0]])
	}
	if r.host == "" {
		return fmt.Errorf("%w: externaldns: %s %s/%s has no host (rules[].host or the hostname annotation): name the record with host=", traffic.ErrInvalid, r.cfg.Kind, r.cfg.Namespace, r.cfg.Name)
	}
	if lb, _, _ := unstructured.NestedSlice(o.Object, "status", "loadBalancer", "ingress"); len(lb) > 0 {
		if m, ok := lb[0].(map[string]any); ok && m["hostname"] != nil && m["ip"] == nil {
			typ = "CNAME" // ExternalDNS publishes a hostname target as a CNAME
		}
	}
	setIDs := map[string]string{}
	for _, c := range r.cfg.Clusters {
		setIDs[c] = r.setID(c)
	}
	r.published, err = route53.New(ctx, route53.Config{Zone: r.cfg.VerifyZone, Names: []string{route53Name(r.host)}, Type: typ, SetIDs: setIDs,
		Endpoint: r.cfg.Endpoint, Region: r.cfg.Region, Values: map[string][]string{}})
	return err
}

// hostOf is the first host an Ingress's rules name, else the hostname
// annotation's first name.
func hostOf(o *unstructured.Unstructured, prefix string) string {
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	for _, rl := range rules {
		if m, ok := rl.(map[string]any); ok {
			if h, _ := m["host"].(string); h != "" {
				return h
			}
		}
	}
	if h := o.GetAnnotations()[prefix+"hostname"]; h != "" {
		return strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return ""
}

func (r *Router) setID(cluster string) string {
	if id := r.cfg.SetIDs[cluster]; id != "" {
		return id
	}
	return cluster
}

// TTL implements traffic.Router: the ttl annotation of the object, else
// ExternalDNS's 300 s (also when no cluster can be read).
func (r *Router) TTL(ctx context.Context) time.Duration { return r.recordTTL(ctx) }

// PublishWithin implements traffic.Publisher: when nothing verifies that
// ExternalDNS published a change (no verify=), it may take up to its sync
// interval (--interval, 1m by default; with --events its
// --min-event-sync-interval) before the records change at all.
func (r *Router) PublishWithin() time.Duration {
	if r.published != nil {
		return 0
	}
	return r.publishWithin
}

// recordTTL is the ttl annotation of the object, else ExternalDNS's default.
func (r *Router) recordTTL(ctx context.Context) time.Duration {
	for _, name := range r.cfg.Clusters {
		o, err := r.get(ctx, name)
		if err != nil {
			continue
		}
		if v := o.GetAnnotations()[r.prefixes[name]+"ttl"]; v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				return time.Duration(n) * time.Second
			}
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
	}
	return defaultTTL
}

// RefusesAllZero implements traffic.AllZeroRefuser (Route53 would split equally).
func (r *Router) RefusesAllZero() bool { return true }

func (r *Router) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	return r.conns[name].Dynamic.Resource(r.cfg.gvr()).Namespace(r.cfg.Namespace).Get(ctx, r.cfg.Name, metav1.GetOptions{})
}

// Observe implements traffic.Router: the weights the annotations say now.
func (r *Router) Observe(ctx context.Context) (traffic.Weights, error) {
	w := traffic.Weights{r.route: {}}
	plain := map[string]*unstructured.Unstructured{} // no set-identifier
	for _, name := range r.cfg.Clusters {
		o, err := r.get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("externaldns: %s %s/%s in %s: %w", r.cfg.Kind, r.cfg.Namespace, r.cfg.Name, name, err)
		}
		v := o.GetAnnotations()[r.prefixes[name]+"aws-weight"]
		n, err := strconv.ParseInt(v, 10, 64)
		if v == "" || err != nil {
			n = 0 // no weight yet: tandem has not shifted this route
		}
		w[r.route][name] = route53.FromRoute53(n)
		if o.GetAnnotations()[r.prefixes[name]+"set-identifier"] == "" {
			plain[name] = o
		}
	}
	if len(plain) == len(r.cfg.Clusters) && r.published != nil {
		// Not weighted yet: the cluster whose address the published simple
		// record holds has all the traffic.
		if vals, simple, err := r.published.Simple(ctx, r.host); err == nil && simple {
			for name, o := range plain {
				if addressed(o, vals) {
					w[r.route][name] = traffic.MaxWeight
				}
			}
		}
	}
	return w, nil
}

// addressed says whether any of the object's load-balancer addresses
// (status.loadBalancer.ingress[].ip or hostname) is one of vals.
func addressed(o *unstructured.Unstructured, vals []string) bool {
	lb, _, _ := unstructured.NestedSlice(o.Object, "status", "loadBalancer", "ingress")
	for _, e := range lb {
		m, _ := e.(map[string]any)
		for _, k := range []string{"ip", "hostname"} {
			if a, _ := m[k].(string); a != "" && (slices.Contains(vals, a) || slices.Contains(vals, a+".")) {
				return true
			}
		}
	}
	return false
}

// SetWeights implements traffic.Router: the annotations in each cluster.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	if err := w.Validate(); err != nil {
		return err
	}
	for route, cl := range w {
		if route != r.route {
			return fmt.Errorf("%w: externaldns: route %q is not %q", traffic.ErrInvalid, route, r.route)
		}
		for c := range cl {
			if _, ok := r.conns[c]; !ok {
				return fmt.Errorf("%w: externaldns: cluster %q is not one of %s", traffic.ErrInvalid, c, strings.Join(r.cfg.Clusters, ","))
			}
		}
	}
	// A cluster whose weight goes up is patched before one whose weight goes
	// down: a failure between the two patches never leaves both at 0.
	current, _ := r.Observe(ctx)
	order := w.Clusters(r.route)
	sort.SliceStable(order, func(i, j int) bool {
		return w[r.route][order[i]]-current[r.route][order[i]] > w[r.route][order[j]]-current[r.route][order[j]]
	})
	for _, c := range order {
		p := r.prefixes[c]
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
			p + "set-identifier": r.setID(c),
			p + "aws-weight":     strconv.FormatInt(route53.ToRoute53(w[r.route][c]), 10),
		}}})
		if _, err := r.conns[c].Dynamic.Resource(r.cfg.gvr()).Namespace(r.cfg.Namespace).Patch(ctx, r.cfg.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager}); err != nil {
			return fmt.Errorf("externaldns: annotate %s %s/%s in %s: %w", r.cfg.Kind, r.cfg.Namespace, r.cfg.Name, c, err)
		}
	}
	return nil
}

// Verify implements traffic.Router: the annotations read back as w, and,
// with verify=route53://ZONE, the records ExternalDNS published carry w.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	ok, err := traffic.VerifyByObserve(ctx, r, w)
	if err != nil || !ok || r.published == nil {
		return ok, err
	}
	got, err := r.publishedWeights(ctx)
	if err != nil {
		return false, nil // no weighted records yet: not published
	}
	for c, v := range w[r.route] {
		if g, has := got[c]; !has || g != v {
			return false, nil
		}
	}
	return true, nil
}

// publishedWeights are the weights of the host's published records, per cluster.
func (r *Router) publishedWeights(ctx context.Context) (map[string]int, error) {
	got, err := r.published.Observe(ctx)
	if err != nil {
		return nil, err
	}
	return got[route53Name(r.host)], nil
}

func route53Name(host string) string {
	host = strings.ToLower(host)
	if !strings.HasSuffix(host, ".") {
		host += "."
	}
	return host
}

// Lag implements traffic.Lagger: what Route53 has when ExternalDNS has not
// published the weights, and the usual reasons.
func (r *Router) Lag(ctx context.Context, w traffic.Weights) string {
	if r.published == nil {
		return ""
	}
	have := "no weighted records"
	if got, err := r.publishedWeights(ctx); err == nil && len(got) > 0 {
		have = traffic.Weights{r.host: got}.String()
	} else if err != nil {
		have = err.Error()
	}
	return fmt.Sprintf("ExternalDNS has not published the weights to Route53 zone %s (it has %s): is each cluster's ExternalDNS running, reading prefix %s, with --policy sync (not create-only or upsert-only), a --domain-filter that takes %s, and its own --txt-owner-id?",
		r.cfg.VerifyZone, have, r.prefixes[r.cfg.Clusters[0]], r.host)
}

// Pace implements traffic.Paced when the published records are verified:
// ExternalDNS publishes on its next run (its --interval, a minute by
// default), and Route53 allows 5 requests per second per account.
func (r *Router) Pace() (first, max, timeout time.Duration) {
	if r.published == nil {
		return 50 * time.Millisecond, 50 * time.Millisecond, traffic.DefaultVerifyTimeout
	}
	return time.Second, 10 * time.Second, 3 * time.Minute
}

// Verifies implements traffic.Verifier.
func (r *Router) Verifies() string {
	if r.published == nil {
		return "the annotations read back (ExternalDNS publishes them on its next run; verify=route53://ZONE checks Route53)"
	}
	return "ExternalDNS published the weights to Route53"
}
