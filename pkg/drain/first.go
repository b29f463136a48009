package drain

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// Class is an IngressClass or a GatewayClass of the cluster.
type Class struct {
	Kind       string `json:"kind"` // IngressClass or GatewayClass
	Name       string `json:"name"`
	Controller string `json:"controller"` // spec.controller or spec.controllerName
}

// String is the class as progress lines name it: its kind and name.
func (c Class) String() string { return c.Kind + " " + c.Name }

// What a class found contributed to the default --first.
const (
	ClassFirst   = "first"            // its controller's pods go first
	ClassOffPath = "not-in-data-path" // a cloud load balancer's controller: nothing to evict first
	ClassUnknown = "unknown"          // not in Controllers: its pods are drained as ordinary pods
)

// FlagFirst is the Rule.Controller of an explicit --first.
const FlagFirst = "--first"

// ClassFound is a class of the cluster and what it contributed.
type ClassFound struct {
	Class
	KnownAs string `json:"knownAs,omitempty"` // the Controllers entry it maps to
	Outcome string `json:"outcome"`           // ClassFirst, ClassOffPath or ClassUnknown
}

// Rule selects pods that go first, and says why.
type Rule struct {
	Selector   labels.Selector
	Controller string   // the Controllers entry, or FlagFirst
	Classes    []string // the classes naming the controller ("IngressClass nginx"); none: its labels alone
}

// First says which pods are evicted before any node is drained.
type First struct {
	Rules   []Rule       // a pod matching any of them goes first; none: no pod does
	Classes []ClassFound // the default only: every class found and what it contributed
	Notes   []string     // the default only: what could not be read
}

// Empty is true when no pod goes first.
func (f First) Empty() bool { return len(f.Rules) == 0 }

// ExplicitFirst is `--first SELECTOR`: that selector only; an empty one means none.
func ExplicitFirst(sel labels.Selector) First {
	if sel == nil || sel.Empty() {
		return First{}
	}
	return First{Rules: []Rule{{Selector: sel, Controller: FlagFirst}}}
}

// DefaultFirst is the default --first given the cluster's classes: the pods
// of every controller in Controllers, each rule naming the classes that point
// at its controller, and what each class contributed.
func DefaultFirst(classes []Class) First {
	var f First
	naming := map[string][]string{}
	for _, cl := range classes {
		found := ClassFound{Class: cl, Outcome: ClassUnknown}
		if c, ok := controllerFor(cl.Controller); ok {
			found.KnownAs, found.Outcome = c.Name, ClassOffPath
			if len(c.Pods) > 0 {
				found.Outcome = ClassFirst
				naming[c.Name] = append(naming[c.Name], cl.String())
			}
		}
		f.Classes = append(f.Classes, found)
	}
	for _, c := range Controllers {
		for _, s := range c.Pods {
			f.Rules = append(f.Rules, Rule{Selector: mustParse(s), Controller: c.Name, Classes: naming[c.Name]})
		}
	}
	return f
}

// mustParse parses a selector of the Controllers table (TestControllers checks them all).
func mustParse(s string) labels.Selector {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(fmt.Sprintf("drain.Controllers: selector %q: %v", s, err))
	}
	return sel
}

// Reason is one rule a pod matched.
type Reason struct {
	Controller string   `json:"controller"`
	Selector   string   `json:"selector"`
	Classes    []string `json:"classes,omitempty"`
}

// String says why, as progress lines and reports show it.
func (r Reason) String() string {
	switch {
	case r.Controller == FlagFirst:
		return FlagFirst + " " + r.Selector
	case len(r.Classes) > 0:
		return fmt.Sprintf("%s via %s: label %s", r.Controller, strings.Join(r.Classes, ", "), r.Selector)
	default:
		return fmt.Sprintf("%s: label %s", r.Controller, r.Selector)
	}
}

// Match says why a pod with these labels goes first; none: it does not.
func (f First) Match(l labels.Labels) []Reason {
	var out []Reason
	for _, r := range f.Rules {
		if r.Selector != nil && !r.Selector.Empty() && r.Selector.Matches(l) {
			out = append(out, Reason{Controller: r.Controller, Selector: r.Selector.String(), Classes: r.Classes})
		}
	}
	return out
}

// FirstPod is a pod evicted first, and why.
type FirstPod struct {
	Pod  string   `json:"pod"` // namespace/name
	Node string   `json:"node"`
	Why  []Reason `json:"why"`
}

// firstPods are the live pods on the selected nodes that match opts.First,
// sorted by namespace/name; it records them, with why, in the report. The
// rules are matched here, on the pods of the drained nodes only (one list per
// node), not by one cluster-wide list per selector.
func (r *run) firstPods(ctx context.Context, onNode map[string]bool) ([]corev1.Pod, error) {
	r.rep.First = nil
	if r.opts.First.Empty() {
		return nil, nil
	}
	nodes := make([]string, 0, len(onNode))
	for n, ok := range onNode {
		if ok {
			nodes = append(nodes, n)
		}
	}
	sort.Strings(nodes)
	var pods []corev1.Pod
	for _, node := range nodes {
		list, err := r.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
		if err != nil {
			return nil, fmt.Errorf("list pods on node %s: %w", node, err)
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			if _, static := p.Annotations[corev1.MirrorPodAnnotationKey]; static {
				continue // the kubelet's own (a static pod): no eviction removes it
			}
			if why := r.opts.First.Match(labels.Set(p.Labels)); len(why) > 0 {
				pods = append(pods, p)
				r.rep.First = append(r.rep.First, FirstPod{Pod: p.Namespace + "/" + p.Name, Node: p.Spec.NodeName, Why: why})
			}
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name })
	sort.Slice(r.rep.First, func(i, j int) bool { return r.rep.First[i].Pod < r.rep.First[j].Pod })
	return pods, nil
}
