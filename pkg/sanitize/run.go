package sanitize

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A custom resource that stands for one run — a training job, a Spark
// application, a RayJob, a database backup, a hyperparameter search —
// says in its status that it ran to its end, and when: a condition
// Complete, Completed, Succeeded or Failed that is True (batch/v1 Job's
// words; Kubeflow's training jobs and Katib follow them), a phase or state
// Succeeded or Completed (Pod's; CloudNativePG's Backup), or a run's own
// field (Spark's applicationState.state, KubeRay's jobStatus, Volcano's
// state.phase) — beside a time it ended (completionTime, finishedAt,
// endTime, terminationTime, stoppedAt…, Volcano's state.lastTransitionTime),
// or in a field set only at the end (JobSet's terminalState). Copied without that status, the target's controller takes
// it as new and runs it again: a backup taken twice, a training job
// trained again. It is not copied, as a finished Job is not.
//
// Both are needed. Long-lived resources use the same words for a state
// they stay in, with no end time: an Argo Rollout whose update finished
// (condition Completed), a Flagger Canary after a promotion or an OLM
// ClusterServiceVersion installed (phase Succeeded), a CDI DataVolume
// imported, a k3s HelmChart whose install Job failed (condition Failed),
// a MongoDB whose reconcile failed (phase Failed, which is never read as
// an end). Leaving one of those out of the copy would be worse than
// running a run again, which is what a copy did before. Kinds with a rule
// of their own, and Kubernetes' own groups, are not read for it.
var (
	runEndConditions = []string{"complete", "completed", "succeeded", "failed"}
	// runEnds are where under status a run says it ended, with the words
	// that say so there, and when: at, a time field beside it (nil: one of
	// runEndTimes), or final, a field set only once the run ended, which
	// says "when" by being there.
	runEnds = []struct {
		path  []string
		words []string
		at    []string
		final bool
	}{
		{path: []string{"phase"}, words: []string{"succeeded", "completed"}},
		{path: []string{"state"}, words: []string{"succeeded", "completed"}},
		{path: []string{"applicationState", "state"}, words: []string{"completed", "failed"}}, // Spark's application
		{path: []string{"jobStatus"}, words: []string{"succeeded", "failed"}},                 // KubeRay's RayJob
		// Volcano's Job: its phase, with the time it entered it (its
		// Aborted can be resumed, so it is not an end).
		{path: []string{"state", "phase"}, words: []string{"completed", "failed", "terminated"}, at: []string{"state", "lastTransitionTime"}},
		// JobSet's: "the state of the JobSet when it finishes execution
		// … Otherwise, it is empty" (its API reference).
		{path: []string{"terminalState"}, words: []string{"complete", "completed", "failed"}, final: true},
	}
	// runEndTimes are the status fields in which runs record when they
	// ended: Job's and Kubeflow's completionTime, Velero's
	// completionTimestamp, Argo Workflows' finishedAt, KubeRay's endTime,
	// Spark's terminationTime, CloudNativePG's stoppedAt.
	runEndTimes = []string{"completionTime", "completionTimestamp", "completedAt", "finishedAt", "endTime", "terminationTime", "stoppedAt"}
)

// finishedRun is the skip of a custom resource whose status says it ran
// to its end (Decision.Intent: someone made it on purpose).
func finishedRun(obj *unstructured.Unstructured) (Decision, bool) {
	if BuiltInGroup(obj.GroupVersionKind().Group) {
		return Decision{}, false
	}
	status, _ := obj.Object["status"].(map[string]any)
	ended := ""
	for _, f := range runEndTimes {
		if t, _ := status[f].(string); t != "" {
			ended = "at its " + f
			break
		}
	}
	said, when := "", ""
	if conds, ok := status["conditions"].([]any); ok && ended != "" {
		for _, c := range conds {
			cm := asMap(c)
			t, _ := cm["type"].(string)
			if cm["status"] == "True" && oneOf(t, runEndConditions) {
				said, when = "its condition "+t+" is True", ended
				break
			}
		}
	}
	for _, end := range runEnds {
		v, _, _ := unstructured.NestedString(status, end.path...)
		if said != "" || !oneOf(v, end.words) {
			continue
		}
		switch {
		case end.final:
			when = "which it is given once it ended"
		case end.at != nil:
			if t, _, _ := unstructured.NestedString(status, end.at...); t != "" {
				when = "at its " + strings.Join(end.at, ".")
			}
		default:
			when = ended
		}
		if when != "" {
			said = "its status." + strings.Join(end.path, ".") + " is " + v
		}
	}
	if said == "" {
		return Decision{}, false
	}
	return skipIntent("a run that ended in the source (" + said + ", " + when + "): copied without its status, the target's controller would run it again"), true
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
