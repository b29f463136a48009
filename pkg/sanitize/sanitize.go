package sanitize

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Decision says whether an object is copied and what sanitizing changed that a user should know.
type Decision struct {
	Skip   bool     // true: do not copy
	Reason string   // why it is skipped (set when Skip), one short line, e.g. "bootstrap token: it joins nodes to the source cluster"
	Notes  []string // changes a user should know, e.g. "nodePort 30080 dropped: assigned by the source cluster"
	// Intent: skipped although someone made it on purpose (a run, a
	// snapshot, a target group binding, ExternalDNS), because a copy would
	// act in the target; not an object the cluster writes for itself. One
	// such in the target is its user's (a prune must not take it along).
	Intent bool
	// Held (with Skip): a standby holds it back instead — not written, but
	// kept in the target's stash and written at activate (standby.Hold).
	Held bool
}

// Context is what a sanitizer may know beyond the object itself. Nil funcs mean "unknown" and must be handled (treat as false).
type Context struct {
	// ServiceHasSelector reports whether namespace/name is a Service with a selector in the source.
	ServiceHasSelector func(namespace, name string) bool
	// NodePortTaken reports whether a nodePort is already allocated in the target by another Service (not the same namespace/name).
	NodePortTaken func(port int64, namespace, name string) bool
	// NamespaceDeleting reports whether a namespace is being deleted in the source.
	NamespaceDeleting func(namespace string) bool
	// ControlPlaneAccount reports whether namespace/name is a
	// ServiceAccount the source's bootstrap RBAC binds (the control
	// plane's controllers' own, system:controller:…).
	ControlPlaneAccount func(namespace, name string) bool
}

// inDeletedNamespace is the skip of an object whose namespace is being
// deleted in the source: the Namespace is not copied (being deleted), and
// nothing of it could be written without it.
func (c Context) inDeletedNamespace(obj *unstructured.Unstructured) Decision {
	if ns := obj.GetNamespace(); ns != "" && c.NamespaceDeleting != nil && c.NamespaceDeleting(ns) {
		return skip("its namespace is being deleted in the source")
	}
	return Decision{}
}

func (c Context) serviceHasSelector(namespace, name string) bool {
	return c.ServiceHasSelector != nil && c.ServiceHasSelector(namespace, name)
}

func (c Context) nodePortTaken(port int64, namespace, name string) bool {
	return c.NodePortTaken != nil && c.NodePortTaken(port, namespace, name)
}

// rule sanitizes one kind in place. It runs before the generic metadata strip,
// so it can still read managedFields and status (Service node ports, Job completion).
type rule func(obj *unstructured.Unstructured, c Context) Decision

// skip is the Decision for an object that is not copied.
func skip(reason string) Decision {
	return Decision{Skip: true, Reason: reason}
}

// skipIntent is the Decision for an object someone made on purpose that is
// not copied (Decision.Intent).
func skipIntent(reason string) Decision {
	return Decision{Skip: true, Reason: reason, Intent: true}
}

// Skipped reports whether Object would skip obj, and leaves obj as it is:
// only a kind with a rule of its own is decided on a copy (a reader that
// keeps obj, such as plan, needs the decision alone).
func Skipped(obj *unstructured.Unstructured, c Context) bool {
	if metaSkip(obj).Skip || c.inDeletedNamespace(obj).Skip {
		return true
	}
	r := ruleFor(obj.GroupVersionKind().GroupKind())
	if r == nil {
		_, ended := finishedRun(obj)
		return ended
	}
	return r(obj.DeepCopy(), c).Skip
}

// Object sanitizes obj in place and returns the decision. It first applies the generic metadata rules, then the kind's own rule (registry keyed by schema.GroupKind).
//
// Order: the generic skips (being deleted, controller-owned), then the kind's
// rule (a custom resource without one: finishedRun), then the finalizers controllers added (finalizers.go), then the
// generic strip of server-written metadata and status; the strip
// comes last because kind rules read managedFields and status as evidence.
// A skipped object is returned as read: nobody applies it.
func Object(obj *unstructured.Unstructured, c Context) Decision {
	if d := metaSkip(obj); d.Skip {
		return d
	}
	if d := c.inDeletedNamespace(obj); d.Skip {
		return d
	}
	var d Decision
	if r := ruleFor(obj.GroupVersionKind().GroupKind()); r != nil {
		if d = r(obj, c); d.Skip {
			return d
		}
	} else if ended, ok := finishedRun(obj); ok {
		return ended
	}
	if note := stripDNSRouting(obj); note != "" {
		d.Notes = append(d.Notes, note)
	}
	if note := dropControllerFinalizers(obj); note != "" {
		d.Notes = append(d.Notes, note)
	}
	stripMeta(obj)
	return d
}
