package drain

// What holds a drain that did not finish: the budgets that allow no
// disruption, and the pods a node that is not Ready cannot confirm stopped.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Blocker is a PodDisruptionBudget that allows no disruption while pods it covers wait to be evicted.
type Blocker struct {
	PDB     string   `json:"pdb"` // namespace/name
	Allowed int32    `json:"disruptionsAllowed"`
	Pods    []string `json:"pods"` // namespace/name on the selected nodes
	Message string   `json:"message"`
}

// stuck finds the budgets that allow no disruption over pods still on the nodes.
func (r *run) stuck(ctx context.Context, onNode map[string]bool) (*Report, error) {
	// The drain's context may be spent: look with a fresh one.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	blockers, err := Blockers(lctx, r.cs, onNode)
	if err != nil {
		return r.rep, err
	}
	r.rep.Blockers = blockers
	if r.rep.Unconfirmed, err = unconfirmed(lctx, r.cs, onNode); err != nil {
		// The blockers found are said all the same.
		r.rep.Errors = append(r.rep.Errors, "looking for pods on nodes that are not Ready: "+err.Error())
	}
	// The errors are said too: a node held by a pod without a controller,
	// or by two budgets over one pod, is not fixed by the budgets named.
	msg := strings.Join(r.rep.Errors, "; ")
	if len(blockers) > 0 {
		var names []string
		for _, b := range blockers {
			names = append(names, b.PDB)
		}
		msg = "blocked by PodDisruptionBudget " + strings.Join(names, ", ") + "; " + msg
	}
	if len(r.rep.Unconfirmed) > 0 {
		msg = fmt.Sprintf("%d pods are deleted but their nodes are not Ready (their kubelets cannot confirm they stopped; see the report); %s", len(r.rep.Unconfirmed), msg)
	}
	return r.rep, fmt.Errorf("%w: %s", ErrStuck, msg)
}

// Blockers are the PDBs allowing no disruption that cover pods on the given nodes.
func Blockers(ctx context.Context, cs kubernetes.Interface, onNode map[string]bool) ([]Blocker, error) {
	pdbs, err := cs.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list PodDisruptionBudgets: %w", err)
	}
	var out []Blocker
	for _, pdb := range pdbs.Items {
		if pdb.Status.DisruptionsAllowed > 0 || pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		pods, err := cs.CoreV1().Pods(pdb.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("list pods of PodDisruptionBudget %s/%s: %w", pdb.Namespace, pdb.Name, err)
		}
		var names []string
		for _, p := range pods.Items {
			if onNode[p.Spec.NodeName] {
				names = append(names, p.Namespace+"/"+p.Name)
			}
		}
		if len(names) == 0 {
			continue
		}
		sort.Strings(names)
		msg := budgetMessage(&pdb)
		if stale := staleDisruptions(&pdb, pods.Items); stale != "" {
			msg += "; " + stale
		}
		out = append(out, Blocker{PDB: pdb.Namespace + "/" + pdb.Name, Allowed: pdb.Status.DisruptionsAllowed, Pods: names, Message: msg})
	}
	return out, nil
}

// UnconfirmedPod is a pod being deleted on a node that is not Ready.
type UnconfirmedPod struct {
	Pod       string    `json:"pod"` // namespace/name
	Node      string    `json:"node"`
	NodeState string    `json:"nodeState"` // the node's Ready condition: False, Unknown (no heartbeat), or "gone"
	Deleted   time.Time `json:"deletedAt"`
}

// unconfirmed lists the pods on the selected nodes that are being deleted
// on a node that is not Ready (or is gone).
func unconfirmed(ctx context.Context, cs kubernetes.Interface, onNode map[string]bool) ([]UnconfirmedPod, error) {
	var out []UnconfirmedPod
	for _, name := range slices.Sorted(maps.Keys(onNode)) {
		state := ""
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			state = "gone"
		case err != nil:
			return nil, fmt.Errorf("node %s: %w", name, err)
		default:
			state = readyState(n)
		}
		if state == string(corev1.ConditionTrue) {
			continue
		}
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + name})
		if err != nil {
			return nil, fmt.Errorf("list pods on node %s: %w", name, err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				out = append(out, UnconfirmedPod{Pod: p.Namespace + "/" + p.Name, Node: name, NodeState: state, Deleted: p.DeletionTimestamp.Time})
			}
		}
	}
	return out, nil
}

// readyState is the status of n's Ready condition ("Unknown" when it has none).
func readyState(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return string(c.Status)
		}
	}
	return string(corev1.ConditionUnknown)
}

// disruptionTimeout is how long the disruption controller counts a pod the
// apiserver recorded as evicted (the budget's status.disruptedPods) before
// it forgets the record if the pod was not deleted (its DeletionTimeout).
const disruptionTimeout = 2 * time.Minute

// staleDisruptions names the pods a budget counts as disrupted although they
// are not being deleted — an eviction whose client went away (a drain killed
// mid-request) after the apiserver recorded it — and when Kubernetes stops
// counting them; "" when there are none.
func staleDisruptions(pdb *policyv1.PodDisruptionBudget, pods []corev1.Pod) string {
	var stale []string
	var until time.Time
	for _, p := range pods {
		at, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok || p.DeletionTimestamp != nil {
			continue
		}
		stale = append(stale, p.Name)
		if t := at.Add(disruptionTimeout); t.After(until) {
			until = t
		}
	}
	if len(stale) == 0 {
		return ""
	}
	sort.Strings(stale)
	return fmt.Sprintf("it counts %s as disrupted by an eviction that did not delete it (an interrupted drain's), until %s: re-run after that",
		strings.Join(stale, ", "), until.UTC().Format(time.RFC3339))
}

func budgetMessage(pdb *policyv1.PodDisruptionBudget) string {
	rule := ""
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		rule = "maxUnavailable " + pdb.Spec.MaxUnavailable.String()
	case pdb.Spec.MinAvailable != nil:
		rule = "minAvailable " + pdb.Spec.MinAvailable.String()
	}
	return fmt.Sprintf("%s allows %d disruptions (%s; %d healthy of %d expected)", pdb.Name, pdb.Status.DisruptionsAllowed, rule, pdb.Status.CurrentHealthy, pdb.Status.ExpectedPods)
}
