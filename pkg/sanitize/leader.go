package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// leaderAnnotation holds the record of client-go's Endpoints and ConfigMap
// leader-election locks (resourcelock.LeaderElectionRecordAnnotationKey),
// kept by operators built before Leases were the lock.
const leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

// skipLeaderLock skips an Endpoints or ConfigMap that is a leader-election
// lock: its record names the source's leader and the time it renewed. A
// copy holds the target's replicas back until it expires, and a mirror
// would renew it for the source's leader at each of its renewals.
func skipLeaderLock(obj *unstructured.Unstructured) (Decision, bool) {
	if _, ok := obj.GetAnnotations()[leaderAnnotation]; !ok {
		return Decision{}, false
	}
	return skip("a leader-election lock (its record names the source's leader): the target's replicas elect their own"), true
}
