package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	kdrain "k8s.io/kubectl/pkg/drain"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

// DefaultTaint keeps new pods off the nodes being retired.
const DefaultTaint = "migration=migration:NoSchedule"

// ErrStuck means a drain did not finish before its timeout; Report.Blockers say why.
var ErrStuck = errors.New("drain stuck")

// Options say which nodes to drain and how.
type Options struct {
	Nodes    labels.Selector
	Taint    corev1.Taint
	First    First // the pods evicted before any node is drained: ExplicitFirst or DefaultFirst
	Parallel int
	Timeout  time.Duration // for the whole drain
	DryRun   bool
	// JournalPath is where the drain is journaled (see JournalPath): an
	// intent before and a done after each node, so that a drain run again
	// resumes, skipping the nodes drained; --undo ends it. "" (and a dry run)
	// journals nothing.
	JournalPath string
	// Cluster names the cluster (its context) in the journal.
	Cluster string
	// Resuming is told of the interrupted drain being resumed (its id and how
	// many nodes it drained) before anything is changed.
	Resuming func(run string, drained int)
}

// Event kinds.
const (
	EventTainted = "tainted" // a node was tainted and cordoned
	EventEvicted = "evicted" // a pod was evicted and is gone
	EventFailed  = "failed"  // a pod's eviction failed
	EventNode    = "drained" // a node has no evictable pods left
	EventSkipped = "skipped" // a node drained by an earlier run
	// EventRetrying: an eviction was refused for now (a PodDisruptionBudget
	// allows no disruption) and is tried again; Error says why.
	EventRetrying = "retrying"
)

// Event is one step of progress.
type Event struct {
	Kind        string        `json:"kind"`
	Phase       string        `json:"phase"` // "first" or "drain"
	Node        string        `json:"node,omitempty"`
	Pod         string        `json:"pod,omitempty"` // namespace/name
	Error       string        `json:"error,omitempty"`
	NodesDone   int           `json:"nodesDone"`
	NodesTotal  int           `json:"nodesTotal"`
	PodsEvicted int           `json:"podsEvicted"`
	ETA         time.Duration `json:"eta"`
	Time        time.Time     `json:"time"`
}

// Observer receives progress events (safe for concurrent calls is the caller's job: Run serialises them).
type Observer interface {
	Event(Event)
}

// Report is what a drain did.
type Report struct {
	Nodes       []string  `json:"nodes"`
	Drained     []string  `json:"drained"`
	Skipped     []string  `json:"skipped,omitempty"`
	PodsEvicted int       `json:"podsEvicted"`
	Events      []Event   `json:"events"`
	Blockers    []Blocker `json:"blockers,omitempty"`
	Errors      []string  `json:"errors,omitempty"`
	// Unconfirmed are the pods on the selected nodes that are being deleted
	// on a node that is not Ready: its kubelet cannot confirm they stopped,
	// so they stay Terminating and the drain waits for them until its
	// timeout. tandem does not force their deletion: a StatefulSet's pod
	// may still run on a node cut off from the apiserver.
	Unconfirmed []UnconfirmedPod `json:"unconfirmed,omitempty"`
	Seconds     float64          `json:"seconds"`
	Completed   bool             `json:"completed"`
	DryRun      bool             `json:"dryRun,omitempty"`
	Planned     []string         `json:"planned,omitempty"` // dry run: pods that would be evicted, first ones first
	// First are the pods evicted (dry run: to be evicted) first, and why.
	First []FirstPod `json:"first,omitempty"`
	// Classes are the IngressClasses and GatewayClasses found for the default
	// --first, and what each contributed; FirstNotes what could not be read.
	Classes    []ClassFound `json:"classes,omitempty"`
	FirstNotes []string     `json:"firstNotes,omitempty"`
}

// run is the state of one drain.
type run struct {
	cs      kubernetes.Interface
	opts    Options
	obs     Observer
	journal *journal.Run // nil: none
	start   time.Time
	mu      sync.Mutex
	rep     *Report
}

func (r *run) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Kind == EventEvicted {
		r.rep.PodsEvicted++
	}
	if e.Kind == EventNode {
		r.rep.Drained = append(r.rep.Drained, e.Node)
	}
	e.Time = time.Now().UTC()
	e.NodesTotal = len(r.rep.Nodes)
	e.NodesDone = len(r.rep.Drained) + len(r.rep.Skipped)
	e.PodsEvicted = r.rep.PodsEvicted
	if done := len(r.rep.Drained); done > 0 && e.NodesDone < e.NodesTotal {
		per := time.Since(r.start) / time.Duration(done)
		e.ETA = per * time.Duration(e.NodesTotal-e.NodesDone)
	}
	r.rep.Events = append(r.rep.Events, e)
	if r.obs != nil {
		r.obs.Event(e)
	}
}

// SelectNodes lists the nodes matching sel, sorted by name. None is bad
// input: a selector with a typo would otherwise "drain" nothing and say
// done, and the pool be deleted with its pods.
func SelectNodes(ctx context.Context, cs kubernetes.Interface, sel labels.Selector) ([]string, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, fmt.Errorf("%w: no node matches --nodes %s", cluster.ErrBadInput, sel)
	}
	var names []string
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return names, nil
}

// Run taints and cordons every selected node, evicts the first pods, then
// drains the nodes opts.Parallel at a time. It returns ErrStuck (with the
// report's Blockers) when pods are still there at opts.Timeout, and no
// report when the journal cannot be written.
func Run(ctx context.Context, cs kubernetes.Interface, opts Options, obs Observer) (*Report, error) {
	r := &run{cs: cs, opts: opts, obs: obs, start: time.Now(), rep: &Report{DryRun: opts.DryRun, Classes: opts.First.Classes, FirstNotes: opts.First.Notes}}
	if !opts.DryRun {
		var err error
		if r.journal, err = opts.begin(); err != nil {
			return nil, err
		}
		if r.journal != nil {
			defer r.journal.Close()
		}
	}
	rep, err := r.drain(ctx)
	rep.Seconds = time.Since(r.start).Seconds()
	if err == nil && r.journal != nil {
		if err := r.journal.End(nil); err != nil {
			return nil, err
		}
	}
	return rep, err
}

// drain is Run after the journal is begun.
func (r *run) drain(ctx context.Context) (*Report, error) {
	cs, opts := r.cs, r.opts
	nodes, err := SelectNodes(ctx, cs, opts.Nodes)
	if err != nil {
		return r.rep, err
	}
	r.rep.Nodes = nodes
	if opts.DryRun {
		return r.rep, r.plan(ctx, nodes)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	// Taint everything first: a pod evicted from one node must not land on the next one to go.
	for _, n := range nodes {
		if _, _, err := setTaint(ctx, cs, n, opts.Taint, true); err != nil {
			return r.rep, err
		}
		r.emit(Event{Kind: EventTainted, Phase: "taint", Node: n})
	}
	onNode := map[string]bool{}
	for _, n := range nodes {
		onNode[n] = true
	}
	if !opts.First.Empty() {
		first, err := r.firstPods(ctx, onNode)
		if err != nil {
			return r.rep, err
		}
		if len(first) > 0 {
			if err := r.helper(ctx, "first", "").DeleteOrEvictPods(first); err != nil {
				r.rep.Errors = append(r.rep.Errors, "first: "+ownWords(err))
				return r.stuck(ctx, onNode)
			}
		}
	}
	var todo []string
	for _, n := range nodes {
		if r.done(n) {
			r.rep.Skipped = append(r.rep.Skipped, n)
			r.emit(Event{Kind: EventSkipped, Phase: "drain", Node: n})
			continue
		}
		todo = append(todo, n)
	}
	parallel := max(opts.Parallel, 1)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	failed := false
	for _, n := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.drainNode(ctx, n); err != nil {
				errMu.Lock()
				failed = true
				r.rep.Errors = append(r.rep.Errors, n+": "+ownWords(err))
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed {
		return r.stuck(ctx, onNode)
	}
	r.rep.Completed = true
	return r.rep, nil
}

// drainNode evicts the node's pods, as a step of the journal.
func (r *run) drainNode(ctx context.Context, node string) error {
	err := r.step(node, func() error {
		h := r.helper(ctx, "drain", node)
		list, errs := h.GetPodsForDeletion(node)
		if len(errs) > 0 {
			return fmt.Errorf("%v", errors.Join(errs...))
		}
		return h.DeleteOrEvictPods(list.Pods())
	})
	if err != nil {
		return err
	}
	r.emit(Event{Kind: EventNode, Phase: "drain", Node: node})
	return nil
}

func (r *run) helper(ctx context.Context, phase, node string) *kdrain.Helper {
	remaining := time.Until(r.start.Add(r.opts.Timeout))
	if d, ok := ctx.Deadline(); ok {
		remaining = time.Until(d)
	}
	return &kdrain.Helper{
		Ctx: ctx, Client: r.cs, Force: false, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: max(remaining, time.Second), Out: io.Discard,
		// An eviction a budget refuses (429) is tried again after this, as
		// kubectl drain does: the helper's own default is no wait at all,
		// an eviction and a read back to back until the timeout.
		EvictErrorRetryDelay: evictRetryDelay,
		ErrOut:               &retryLines{phase: phase, node: node, emit: r.emit},
		OnPodDeletionOrEvictionFinished: func(pod *corev1.Pod, _ bool, err error) {
			e := Event{Kind: EventEvicted, Phase: phase, Node: pod.Spec.NodeName, Pod: pod.Namespace + "/" + pod.Name}
			if err != nil {
				e.Kind, e.Error = EventFailed, err.Error()
			}
			r.emit(e)
		},
	}
}

// evictRetryDelay is how long an eviction refused by a PodDisruptionBudget
// (or in a namespace being deleted) waits before it is tried again: kubectl
// drain's.
const evictRetryDelay = 5 * time.Second

// retryLines turns what kubectl's drain helper says of an eviction it will
// try again ("error when evicting pods/… (will retry after 5s): Cannot evict
// pod as it would violate the pod's disruption budget") into EventRetrying
// events: the first time for a pod and reason, then once a minute, so that a
// drain waiting on a budget says so instead of nothing until its timeout.
type retryLines struct {
	phase, node string
	emit        func(Event)
	mu          sync.Mutex
	last        map[string]time.Time
}

// retryEvery is how often a refusal that keeps coming is said again.
const retryEvery = time.Minute

func (w *retryLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]time.Time{}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if t, ok := w.last[line]; ok && time.Since(t) < retryEvery {
			continue
		}
		w.last[line] = time.Now()
		w.emit(Event{Kind: EventRetrying, Phase: w.phase, Node: w.node, Error: line})
	}
	return len(p), nil
}

// plan lists what would be evicted, first pods first, changing nothing.
func (r *run) plan(ctx context.Context, nodes []string) error {
	onNode := map[string]bool{}
	for _, n := range nodes {
		onNode[n] = true
	}
	first := map[string]bool{}
	if !r.opts.First.Empty() {
		pods, err := r.firstPods(ctx, onNode)
		if err != nil {
			return err
		}
		for _, p := range pods {
			k := p.Namespace + "/" + p.Name
			first[k] = true
			r.rep.Planned = append(r.rep.Planned, k)
		}
	}
	h := r.helper(ctx, "plan", "")
	for _, n := range nodes {
		list, errs := h.GetPodsForDeletion(n)
		for _, e := range errs {
			r.rep.Errors = append(r.rep.Errors, n+": "+ownWords(e))
		}
		if list == nil {
			continue
		}
		for _, p := range list.Pods() {
			if k := p.Namespace + "/" + p.Name; !first[k] {
				r.rep.Planned = append(r.rep.Planned, k)
			}
		}
	}
	return nil
}

// kubectlAdvice is the advice kubectl's drain library gives in its errors,
// naming kubectl's flags, and what tandem says instead: tandem drain has
// no --force, and takes DaemonSet pods and emptyDir data as kubectl's
// flags would (Options in helper).
var kubectlAdvice = strings.NewReplacer(
	"(use --force to override)", "(nothing would recreate them elsewhere: delete them, or put them under a controller, then run again)",
	"(use --ignore-daemonsets to ignore)", "",
	"(use --delete-emptydir-data to override)", "",
)

// ownWords is err's message with kubectl's advice in tandem's words.
func ownWords(err error) string { return kubectlAdvice.Replace(err.Error()) }
