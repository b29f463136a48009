package workload

import (
	"fmt"
	"math"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Status is where a workload's controller says it is, against its spec.
type Status struct {
	// Desired is the pods the spec asks for: spec.replicas (1 when unset, as
	// the apiserver defaults it), or status.desiredNumberScheduled for a
	// DaemonSet.
	Desired int32
	// Available is the pods ready for at least minReadySeconds:
	// status.availableReplicas (a StatefulSet's readyReplicas when the
	// apiserver does not report availableReplicas, before 1.22), or
	// status.numberAvailable for a DaemonSet.
	Available int32
	// Updated is the pods at the latest pod template.
	Updated int32
	// Pods is the pods that exist, at any template and in any state:
	// status.replicas, or status.currentNumberScheduled for a DaemonSet.
	Pods int32
	// Current says the controller has observed the latest generation; until
	// it has, the counts describe an older spec (one before the last scale).
	Current bool
}

// Ready says the controller has seen the latest spec and every desired pod
// is available and at the latest template.
func (s Status) Ready() bool {
	return s.Current && s.Available >= s.Desired && s.Updated >= s.Desired
}

// StatusOf reads the status of an apps/v1 Deployment, StatefulSet, ReplicaSet
// or DaemonSet; other kinds are an error.
func StatusOf(obj *unstructured.Unstructured) (Status, error) {
	gvk := obj.GroupVersionKind()
	if gvk.Group != "apps" {
		return Status{}, fmt.Errorf("%s %s/%s: not a workload", gvk.Kind, obj.GetNamespace(), obj.GetName())
	}
	observed := nested(obj, "status", "observedGeneration")
	s := Status{Current: observed >= obj.GetGeneration()}
	status := func(field string) int32 { return clamp(nested(obj, "status", field)) }
	switch gvk.Kind {
	case "DaemonSet":
		s.Desired = status("desiredNumberScheduled")
		s.Available = status("numberAvailable")
		s.Updated = status("updatedNumberScheduled")
		s.Pods = status("currentNumberScheduled")
		return s, nil
	case "Deployment", "StatefulSet", "ReplicaSet":
	default:
		return Status{}, fmt.Errorf("%s %s/%s: not a workload", gvk.Kind, obj.GetNamespace(), obj.GetName())
	}
	s.Desired = 1
	if n, found, err := unstructured.NestedInt64(obj.Object, "spec", "replicas"); found && err == nil {
		s.Desired = clamp(n)
	}
	s.Pods = status("replicas")
	s.Available = status("availableReplicas")
	if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "status", "availableReplicas"); !found && gvk.Kind == "StatefulSet" {
		s.Available = status("readyReplicas")
	}
	s.Updated = status("updatedReplicas")
	if gvk.Kind == "ReplicaSet" {
		s.Updated = s.Pods // every pod of a ReplicaSet runs its one template
	}
	return s, nil
}

// nested reads an integer field, 0 when absent or not an integer.
func nested(obj *unstructured.Unstructured, fields ...string) int64 {
	n, _, _ := unstructured.NestedInt64(obj.Object, fields...)
	return n
}

func clamp(n int64) int32 {
	return int32(max(0, min(n, math.MaxInt32)))
}
