package standby

import (
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Annotations and labels that carry the active form of a parked object.
const (
	ReplicasAnnotation     = "tandem.io/replicas"      // source spec.replicas of a Deployment/StatefulSet/ReplicaSet
	SuspendAnnotation      = "tandem.io/suspend"       // source spec.suspend of a CronJob ("true"/"false")
	NodeSelectorAnnotation = "tandem.io/node-selector" // source nodeSelector of a DaemonSet, as JSON ("null" when none)
	MinReplicasAnnotation  = "tandem.io/min-replicas"  // source minReplicas of an HPA (kept as it is; recorded)
	// NamespaceLabel marks namespaces the standby policy covers.
	NamespaceLabel = "tandem.io/standby"
	// ExemptLabel on a namespace or an object keeps the policy away from it.
	ExemptLabel = "tandem.io/standby-exempt"
	// ParkedKey is the nodeSelector key no node carries: a parked DaemonSet schedules nowhere.
	ParkedKey   = "tandem.io/standby"
	ParkedValue = "parked"
)

// Workload kinds the transform changes.
var (
	Deployment  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	StatefulSet = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	ReplicaSet  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	DaemonSet   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	CronJob     = schema.GroupKind{Group: "batch", Kind: "CronJob"}
	Job         = schema.GroupKind{Group: "batch", Kind: "Job"}
	HPA         = schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}
	Namespace   = schema.GroupKind{Kind: "Namespace"}
	APIService  = schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}
)

// Scaled reports whether gk is a kind with spec.replicas that standby sets to 0.
func Scaled(gk schema.GroupKind) bool {
	return gk == Deployment || gk == StatefulSet || gk == ReplicaSet
}

// Transform rewrites a sanitized desired object into its standby form, in
// place, and returns what it did: Notes for the sync report, or Skip for kinds
// that are not copied to a standby (Jobs would run). Other kinds are untouched.
//
// An object already in standby form (the source is itself a standby) keeps
// its recorded originals, so a standby of a standby activates like the first.
// kinds are the custom kinds held at 0 replicas like a Deployment.
func Transform(obj *unstructured.Unstructured, kinds ScaleKinds) sanitize.Decision {
	switch gk := obj.GroupVersionKind().GroupKind(); {
	case kinds.Scaled(gk):
		n, _, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "replicas"); !found {
			n = 1 // the apiserver's default
		}
		if rec, ok := obj.GetAnnotations()[ReplicasAnnotation]; ok && n == 0 {
			return note(fmt.Sprintf("standby: already at 0 replicas (%s=%s kept)", ReplicasAnnotation, rec))
		}
		setAnnotation(obj, ReplicasAnnotation, strconv.FormatInt(n, 10))
		_ = unstructured.SetNestedField(obj.Object, int64(0), "spec", "replicas")
		return note(fmt.Sprintf("standby: replicas %d → 0 (kept in %s)", n, ReplicasAnnotation))
	case gk == CronJob:
		suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend")
		if _, ok := obj.GetAnnotations()[SuspendAnnotation]; !ok || !suspended {
			setAnnotation(obj, SuspendAnnotation, strconv.FormatBool(suspended))
		}
		_ = unstructured.SetNestedField(obj.Object, true, "spec", "suspend")
		return note("standby: suspended (original kept in " + SuspendAnnotation + ")")
	case gk == DaemonSet:
		sel, found, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "spec", "nodeSelector")
		if found && len(sel) == 1 && sel[ParkedKey] == ParkedValue {
			return note("standby: already parked")
		}
		var orig []byte
		if found {
			orig, _ = json.Marshal(sel)
		} else {
			orig = []byte("null")
		}
		setAnnotation(obj, NodeSelectorAnnotation, string(orig))
		_ = unstructured.SetNestedStringMap(obj.Object, map[string]string{ParkedKey: ParkedValue}, "spec", "template", "spec", "nodeSelector")
		return note("standby: parked with nodeSelector " + ParkedKey + "=" + ParkedValue + " (original kept in " + NodeSelectorAnnotation + ")")
	case gk == HPA:
		minR, found, _ := unstructured.NestedInt64(obj.Object, "spec", "minReplicas")
		if !found {
			minR = 1
		}
		setAnnotation(obj, MinReplicasAnnotation, strconv.FormatInt(minR, 10))
		return note("standby: kept; an HPA does not scale a workload up from 0 replicas")
	case gk == Job:
		return sanitize.Decision{Skip: true, Reason: "standby: Jobs are not copied to a standby (they would run)"}
	case isWebhooks(gk):
		return parkWebhooks(obj, anyParked)
	case gk == APIService:
		return holdAPI(obj, anyParked)
	case gk == Namespace:
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[NamespaceLabel] = "true"
		obj.SetLabels(labels)
		return note("standby: labelled " + NamespaceLabel + "=true (the standby policy covers it)")
	}
	return sanitize.Decision{}
}

// Decide applies Transform to an object sanitize kept and merges both
// decisions. An object in a namespace labelled ExemptLabel in the source
// (exemptNamespace; nil: none) is copied as it is — its workloads run in
// the standby, as the standby policy and Deactivate leave the namespace
// alone — and a webhook served from such a namespace keeps its
// failurePolicy: its backend runs.
//
// An object labelled ExemptLabel by itself is put in standby form all the
// same: the policy would hold its ReplicaSets (which carry its pod
// template's labels, not its own) and, on the write that first carries
// the label, the object itself (a binding's objectSelector matches the
// old object too), so a copy "as it is" would not run, and its hash would
// say otherwise.
func Decide(obj *unstructured.Unstructured, d sanitize.Decision, kinds ScaleKinds, exemptNamespace func(string) bool) sanitize.Decision {
	if d.Skip {
		return d
	}
	exempt := func(ns string) bool { return exemptNamespace != nil && exemptNamespace(ns) }
	var t sanitize.Decision
	switch {
	case obj.GetNamespace() != "" && exempt(obj.GetNamespace()):
		if t := Transform(obj.DeepCopy(), kinds); t.Skip || len(t.Notes) > 0 {
			// Said only where the standby form would have changed it.
			d.Notes = append(d.Notes, "standby: exempt (its namespace is labelled "+ExemptLabel+"=true): copied as it is; it runs in the standby")
		}
		return d
	case isWebhooks(obj.GroupVersionKind().GroupKind()):
		t = parkWebhooks(obj, func(ns string) bool { return anyParked(ns) && !exempt(ns) })
	case obj.GroupVersionKind().GroupKind() == APIService:
		t = holdAPI(obj, func(ns string) bool { return anyParked(ns) && !exempt(ns) })
	default:
		t = Transform(obj, kinds)
	}
	if t.Skip {
		return t
	}
	d.Notes = append(d.Notes, t.Notes...)
	return d
}

// ParkedAPI says why the APIService obj would answer nothing in a standby whose
// parked namespaces are parked, and in which namespace its backend is (""
// when that one runs).
func ParkedAPI(obj *unstructured.Unstructured, parked func(namespace string) bool) (why, namespace string) {
	ns, _, _ := unstructured.NestedString(obj.Object, "spec", "service", "namespace")
	if ns == "" || !parked(ns) {
		return "", ""
	}
	name, _, _ := unstructured.NestedString(obj.Object, "spec", "service", "name")
	group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
	version, _, _ := unstructured.NestedString(obj.Object, "spec", "version")
	return fmt.Sprintf("%s/%s would answer nothing while its backend %s/%s is parked, and the cluster's discovery of it would fail",
		group, version, ns, name), ns
}

func note(s string) sanitize.Decision { return sanitize.Decision{Notes: []string{s}} }

func setAnnotation(obj *unstructured.Unstructured, k, v string) {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[k] = v
	obj.SetAnnotations(a)
}
