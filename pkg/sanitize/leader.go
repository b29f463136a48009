package sanitize

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// leaderAnnotation holds the record of client-go's Endpoints and ConfigMap
// leader-election locks (resourcelock.LeaderElectionRecordAnnotationKey),
// kept by operators built before Leases were the lock.
const leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

// patroniLock are the annotations Patroni's Kubernetes DCS writes, all at
// once, on each take and renewal of its leader key: the Endpoints named for
// the cluster's scope (use_endpoints, which also routes the primary Service
// to the leader's pod IP) or the ConfigMap <scope>-leader
// (patroni/dcs/kubernetes.py, _update_leader_with_retry and
// attempt_to_acquire_leader). Postgres operators built on Patroni keep it
// so: Zalando's postgres-operator (Spilo), Crunchy PGO, Percona's, StackGres.
var patroniLock = []string{"leader", "renewTime", "acquireTime", "ttl"}

// skipLeaderLock skips an Endpoints or ConfigMap that is a leader-election
// lock: its record names the source's leader and the time it renewed. A
// copy holds the target's replicas back until it expires, and a mirror
// would renew it for the source's leader at each of its renewals. A
// Patroni leader key copied into the target also names the source's
// primary by its pod name, which the target's StatefulSet gives its own
// first pod: that pod would take itself for the leader it never was.
func skipLeaderLock(obj *unstructured.Unstructured) (Decision, bool) {
	a := obj.GetAnnotations()
	if _, ok := a[leaderAnnotation]; ok {
		return skip("a leader-election lock (its record names the source's leader): the target's replicas elect their own"), true
	}
	for _, k := range patroniLock {
		if _, ok := a[k]; !ok {
			return Decision{}, false
		}
	}
	return skip("Patroni's leader key (its annotations name the source's primary, " + a["leader"] + ", renewed every loop): the target's Patroni elects its own and writes its own"), true
}
