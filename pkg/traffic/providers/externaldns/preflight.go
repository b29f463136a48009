package externaldns

// What the router knows of the ExternalDNS instances themselves (their
// Deployments' arguments: owner id, annotation prefix, policy) and what it
// checks before the first step.

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/pager"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/sanitize"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// Instance is one ExternalDNS Deployment as its arguments describe it.
type Instance struct {
	Ref        string
	Image      string
	OwnerID    string // --txt-owner-id ("default" when not set)
	Prefix     string // --annotation-prefix, or the image version's default
	PrefixWhy  string
	LegacyToo  bool // --enable-legacy-annotation-prefix
	ArgsPolicy string
	Sources    []string // --source (repeated): the kinds of object it reads
	Namespace  string   // --namespace: the one namespace it reads ("" all)
	// Interval is how long a change of the annotations may wait before it
	// is published: its --interval (1m by default), or with --events its
	// --min-event-sync-interval (5s by default), a run being triggered by
	// the change.
	Interval time.Duration
}

// ExternalDNS's defaults (its flags' documentation).
const (
	defaultInterval         = time.Minute
	defaultMinEventInterval = 5 * time.Second
)

// Sees says whether the instance reads an object of the kind ("ingress",
// "service") in the namespace: its --source names the kind and its
// --namespace, when set, is the object's.
func (in Instance) Sees(kind, namespace string) bool {
	if in.Namespace != "" && in.Namespace != namespace {
		return false
	}
	if len(in.Sources) == 0 {
		return true // no --source: ExternalDNS refuses to start; not ours to judge
	}
	for _, s := range in.Sources {
		if s == kind {
			return true
		}
	}
	return false
}

var versionTag = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// Deployments finds the ExternalDNS Deployments of a cluster (by image),
// leaving out those being deleted (their own deletion or their namespace's):
// they will publish nothing.
func Deployments(ctx context.Context, c *cluster.Conn) ([]Instance, error) {
	// Page by page: a cluster may run thousands of Deployments, and only
	// ExternalDNS's are kept.
	var found []appsv1.Deployment
	deployments := c.Typed.AppsV1().Deployments("")
	p := pager.New(pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) { return deployments.List(ctx, opts) }))
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return fmt.Errorf("a %T in a list of Deployments", obj)
		}
		for _, ct := range d.Spec.Template.Spec.Containers {
			if sanitize.IsExternalDNS(ct.Image) {
				found = append(found, *d)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list Deployments in %s: %w", c.Context, err)
	}
	terminating := map[string]bool{}
	var out []Instance
	for _, d := range found {
		if d.DeletionTimestamp != nil {
			continue
		}
		for _, ct := range d.Spec.Template.Spec.Containers {
			if !sanitize.IsExternalDNS(ct.Image) {
				continue
			}
			gone, known := terminating[d.Namespace]
			if !known {
				ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, d.Namespace, metav1.GetOptions{})
				gone = apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
				terminating[d.Namespace] = gone
			}
			if gone {
				break
			}
			out = append(out, parseInstance(d.Namespace+"/"+d.Name, ct))
		}
	}
	return out, nil
}

// parseInstance reads an ExternalDNS container's flags: its arguments, and
// the EXTERNAL_DNS_* variables each flag may also come as (an argument wins).
func parseInstance(ref string, ct corev1.Container) Instance {
	in := Instance{Ref: ref, Image: ct.Image, OwnerID: "default"}
	interval, minEvent, events := defaultInterval, defaultMinEventInterval, false
	for _, e := range ct.Env {
		switch e.Name {
		case "EXTERNAL_DNS_TXT_OWNER_ID":
			if e.Value != "" {
				in.OwnerID = e.Value
			}
		case "EXTERNAL_DNS_INTERVAL":
			interval = durationOr(e.Value, interval)
		case "EXTERNAL_DNS_MIN_EVENT_SYNC_INTERVAL":
			minEvent = durationOr(e.Value, minEvent)
		case "EXTERNAL_DNS_EVENTS":
			events = e.Value == "true"
		}
	}
	args := append(append([]string{}, ct.Command...), ct.Args...)
	for i, a := range args {
		k, v, hasV := strings.Cut(a, "=")
		if !hasV && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			v = args[i+1]
		}
		switch k {
		case "--txt-owner-id":
			in.OwnerID = v
		case "--annotation-prefix":
			in.Prefix, in.PrefixWhy = v, "--annotation-prefix"
		case "--enable-legacy-annotation-prefix":
			in.LegacyToo = true
		case "--policy":
			in.ArgsPolicy = v
		case "--source":
			in.Sources = append(in.Sources, v)
		case "--namespace":
			in.Namespace = v
		case "--interval":
			interval = durationOr(v, interval)
		case "--min-event-sync-interval":
			minEvent = durationOr(v, minEvent)
		case "--events":
			events = !hasV || v == "true"
		}
	}
	in.Interval = interval
	if events {
		in.Interval = min(minEvent, interval)
	}
	if in.Prefix == "" {
		in.Prefix, in.PrefixWhy = PrefixOfVersion(ct.Image)
	}
	return in
}

// durationOr parses a flag's Go duration, keeping def when it does not parse.
func durationOr(v string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return def
}

// PrefixOfVersion is the prefix an ExternalDNS image reads by default:
// external-dns.kubernetes.io/ from v0.22.0 on, the alpha one before; ""
// when the image says no version (pinned by digest, a tag without one).
func PrefixOfVersion(image string) (prefix, why string) {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return "", fmt.Sprintf("image %s is pinned by digest (%s): its version, and so its annotation prefix, is not guessed", image, digest)
	}
	tag := image[strings.LastIndex(image, ":")+1:]
	m := versionTag.FindStringSubmatch(tag)
	if m == nil {
		return "", fmt.Sprintf("image tag %q has no version: its annotation prefix is not guessed", tag)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major > 0 || minor >= 22 {
		return GAPrefix, "ExternalDNS " + tag + " (v0.22.0+) reads " + GAPrefix
	}
	return AlphaPrefix, "ExternalDNS " + tag + " (before v0.22.0) reads " + AlphaPrefix
}

// prefixFor is the prefix the cluster's ExternalDNS reads, of the instances
// that read an object of the kind in the namespace (all of them when none
// does: the preflight says so); an error when no Deployment tells it (none
// found, an image that names no version) or when they read different ones.
func prefixFor(ds []Instance, kind, namespace string) (string, []string, error) {
	seeing := instancesFor(ds, kind, namespace)
	if len(seeing) == 0 {
		return "", nil, fmt.Errorf("no ExternalDNS Deployment found, so which annotation prefix it reads is unknown: pass prefix=%s (v0.22.0+) or prefix=%s", GAPrefix, AlphaPrefix)
	}
	var notes, differ []string
	for _, d := range seeing {
		if d.Prefix == "" {
			return "", nil, fmt.Errorf("%s: %s: pass prefix=%s (v0.22.0+) or prefix=%s", d.Ref, d.PrefixWhy, GAPrefix, AlphaPrefix)
		}
		notes = append(notes, d.Ref+": "+d.PrefixWhy)
		if d.Prefix != seeing[0].Prefix {
			differ = append(differ, d.Ref+" reads "+d.Prefix)
		}
	}
	if len(differ) > 0 {
		return "", nil, fmt.Errorf("its ExternalDNS instances read different annotation prefixes (%s reads %s; %s): pass prefix= the one that should publish this %s",
			seeing[0].Ref, seeing[0].Prefix, strings.Join(differ, "; "), kind)
	}
	return seeing[0].Prefix, notes, nil
}

// instancesFor are the instances that read an object of the kind in the
// namespace, all of them when none does (the preflight says so).
func instancesFor(ds []Instance, kind, namespace string) []Instance {
	var seeing []Instance
	for _, d := range ds {
		if d.Sees(kind, namespace) {
			seeing = append(seeing, d)
		}
	}
	if len(seeing) == 0 {
		return ds
	}
	return seeing
}

// publishWithin is the longest interval of the instances that publish an
// object of the kind in the namespace (ExternalDNS's default when none is
// found).
func publishWithin(ds []Instance, kind, namespace string) time.Duration {
	seeing := instancesFor(ds, kind, namespace)
	if len(seeing) == 0 {
		return defaultInterval
	}
	var longest time.Duration
	for _, d := range seeing {
		longest = max(longest, d.Interval)
	}
	return longest
}

// Preflight reports, before the first step, what would make the DNS split
// go wrong: ExternalDNS instances sharing a txt-owner-id (each would delete
// the other's records), duplicate set-identifiers, clusters without
// ExternalDNS or with several, and which annotation prefix each reads.
func (r *Router) Preflight(ctx context.Context) ([]string, error) {
	var out []string
	owners := map[string][]string{}
	for _, name := range r.cfg.Clusters {
		ds, err := Deployments(ctx, r.conns[name])
		if err != nil {
			return nil, err
		}
		switch len(ds) {
		case 0:
			out = append(out, fmt.Sprintf("%s: no ExternalDNS Deployment found in the cluster: unless one runs outside it, nothing will publish its weighted record", name))
		case 1:
		default:
			out = append(out, fmt.Sprintf("%s: %d ExternalDNS Deployments; the weights are for those that read %s %s/%s", name, len(ds), r.cfg.Kind, r.cfg.Namespace, r.cfg.Name))
		}
		var readers, others []string
		for _, d := range ds {
			owners[d.OwnerID] = append(owners[d.OwnerID], name+" "+d.Ref)
			if !d.Sees(r.cfg.Kind, r.cfg.Namespace) {
				out = append(out, fmt.Sprintf("%s: %s does not read %s objects in %s (its --source, --namespace)", name, d.Ref, r.cfg.Kind, r.cfg.Namespace))
				others = append(others, d.Ref+" does not read "+r.cfg.Kind+" objects in "+r.cfg.Namespace)
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s reads annotations with prefix %s (%s)", name, d.Ref, d.Prefix, d.PrefixWhy))
			if p := r.prefixes[name]; d.Prefix == "" || p == d.Prefix || (d.LegacyToo && p == AlphaPrefix) {
				readers = append(readers, d.Ref)
			} else {
				others = append(others, d.Ref+" reads "+d.Prefix)
			}
		}
		if len(readers) == 0 && len(others) > 0 {
			return nil, fmt.Errorf("%w: externaldns: prefix %s: no ExternalDNS of %s reads it (%s): none would see the weights", traffic.ErrInvalid, r.prefixes[name], name, strings.Join(others, "; "))
		}
	}
	for id, who := range owners {
		clusters := map[string]bool{}
		for _, w := range who {
			clusters[strings.SplitN(w, " ", 2)[0]] = true
		}
		switch {
		case len(clusters) > 1:
			return nil, fmt.Errorf("%w: externaldns: ExternalDNS instances of different clusters share --txt-owner-id=%s (%s): each would take the other's records for its own and delete them; give each cluster its own", traffic.ErrInvalid, id, strings.Join(who, ", "))
		case len(who) > 1:
			out = append(out, fmt.Sprintf("WARNING: ExternalDNS instances share --txt-owner-id=%s (%s)", id, strings.Join(who, ", ")))
		}
	}
	conv, err := r.conversion(ctx)
	if err != nil {
		return nil, err
	}
	out = append(out, conv...)
	ids := map[string]string{}
	for _, c := range r.cfg.Clusters {
		id := r.setID(c)
		if other, dup := ids[id]; dup {
			return nil, fmt.Errorf("%w: externaldns: clusters %s and %s would use the same set-identifier %q, and Route53 keeps one record of it: give them their own (setid.CLUSTER=)", traffic.ErrInvalid, other, c, id)
		}
		ids[id] = c
	}
	sort.Strings(out)
	return out, nil
}

// conversion says what the first step changes when the name is not
// weighted yet: objects without a set-identifier (their ExternalDNS
// publishes a simple record) and, with verify=, a simple record already
// published. The step converts it: each cluster's ExternalDNS publishes a
// weighted record of its own, and the owner of the simple record replaces
// it with its weighted one (ExternalDNS deletes and creates in one change
// batch). Until then Route53 refuses the other clusters' weighted records
// beside the simple one, so they are published on a later ExternalDNS run,
// which the verification waits for.
func (r *Router) conversion(ctx context.Context) ([]string, error) {
	var plain []string
	for _, name := range r.cfg.Clusters {
		o, err := r.get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%w: externaldns: %s %s/%s in %s: %v", traffic.ErrInvalid, r.cfg.Kind, r.cfg.Namespace, r.cfg.Name, name, err)
		}
		if o.GetAnnotations()[r.prefixes[name]+"set-identifier"] == "" {
			plain = append(plain, name)
		}
	}
	var out []string
	if len(plain) > 0 {
		out = append(out, fmt.Sprintf("%s %s/%s has no %sset-identifier in %s: the first step makes its record weighted (set-identifier=%s)",
			r.cfg.Kind, r.cfg.Namespace, r.cfg.Name, r.prefixes[plain[0]], strings.Join(plain, ", "), r.setID(plain[0])))
	}
	if r.published == nil {
		return out, nil
	}
	vals, simple, err := r.published.Simple(ctx, r.host)
	if err != nil {
		return nil, err
	}
	if simple {
		out = append(out, fmt.Sprintf("%s is published as a simple record (%s): the first step converts it into weighted records, one per cluster; "+
			"Route53 keeps no simple record beside weighted ones, so the other clusters' records appear once its owner's ExternalDNS has replaced it (the verification waits for that)",
			r.host, strings.Join(vals, ",")))
	}
	return out, nil
}
