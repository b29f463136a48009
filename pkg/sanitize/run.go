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
// phase or state Succeeded, Completed or Failed (Pod; CloudNativePG's
// Backup, Volcano's Job, Spark's application, KubeRay's RayJob). Copied
// without that status, the target's controller takes it as new and runs
// it again: a backup taken twice, a training job trained again. It is not copied, as a
// finished Job is not. Kinds with a rule of their own, and Kubernetes' own
// groups (whose kinds with such a status have their rules), are not read
// for it.
var (
	runEndConditions = []string{"complete", "completed", "succeeded", "failed"}
	runEndPhases     = []string{"succeeded", "completed", "failed"}
	// runEndPaths are where under status a run's phase is: Pod's word,
	// Volcano's Job (state.phase), Spark's application
	// (applicationState.state), KubeRay's RayJob (jobStatus).
	runEndPaths = [][]string{{"phase"}, {"state"}, {"state", "phase"}, {"applicationState", "state"}, {"jobStatus"}}
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
	for _, path := range runEndPaths {
		if v, _, _ := unstructured.NestedString(status, path...); said == "" && oneOf(v, runEndPhases) {
			said = "its status." + strings.Join(path, ".") + " is " + v
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
