package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A custom resource that stands for one run — a training job, a Spark
// application, a JobSet, a database backup, a workflow — says in its
// status that it ran to its end, in the words Kubernetes' own Job and Pod
// use: a condition Complete, Completed, Succeeded or Failed that is True
// (batch/v1 Job; Kubeflow's training jobs, JobSet, Kueue follow it), or a
// phase or state Succeeded or Completed (Pod; CloudNativePG's Backup), or
// a run's own field saying it succeeded or failed (Volcano's Job, Spark's
// application, KubeRay's RayJob). Copied without that status, the target's
// controller takes it as new and runs it again: a backup taken twice, a
// training job trained again. It is not copied, as a finished Job is not.
//
// A top-level phase or state Failed is not read as an end: long-lived
// resources say so of a reconcile that failed (MongoDB's operators), and
// leaving such a database out of the copy would be worse than running a
// failed run again. Kinds with a rule of their own, and Kubernetes' own
// groups (whose kinds with such a status have their rules), are not read
// for it.
var (
	runEndConditions = []string{"complete", "completed", "succeeded", "failed"}
	// runEnds are where under status a run says it ended, with the words
	// that say so there.
	runEnds = []struct {
		path  []string
		words []string
	}{
		{[]string{"phase"}, []string{"succeeded", "completed"}},
		{[]string{"state"}, []string{"succeeded", "completed"}},
		{[]string{"state", "phase"}, []string{"completed", "failed"}},            // Volcano's Job
		{[]string{"applicationState", "state"}, []string{"completed", "failed"}}, // Spark's application
		{[]string{"jobStatus"}, []string{"succeeded", "failed"}},                 // KubeRay's RayJob
	}
)

// finishedRun is the skip of a custom resource whose status says it ran
// to its end (Decision.Intent: someone made it on purpose).
func finishedRun(obj *unstructured.Unstructured) (Decision, bool) {
	if BuiltInGroup(obj.GroupVersionKind().Group) {
		return Decision{}, false
	}
	status, _ := obj.Object["status"].(map[string]any)
	if status == nil {
		return Decision{}, false
	}
	said := ""
	if conds, ok := status["conditions"].([]any); ok {
		for _, c := range conds {
			cm := asMap(c)
			t, _ := cm["type"].(string)
			if cm["status"] == "True" && oneOf(t, runEndConditions) {
				said = "its condition " + t + " is True"
				break
			}
		}
	}
	for _, end := range runEnds {
		if v, _, _ := unstructured.NestedString(status, end.path...); said == "" && oneOf(v, end.words) {
			said = "its status." + strings.Join(end.path, ".") + " is " + v
		}
	}
	if said == "" {
		return Decision{}, false
	}
	return skipIntent("a run that ended in the source (" + said + "): copied without its status, the target's controller would run it again"), true
}

// oneOf says whether s is one of words, whatever its case.
func oneOf(s string, words []string) bool {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}
