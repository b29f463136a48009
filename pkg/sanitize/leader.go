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

// Patroni's other keys: <scope>-config holds the cluster's system
// identifier (initialize) beside its dynamic configuration (config), and
// <scope>-sync its synchronous standby (leader, sync_standby).
var (
	patroniConfig = []string{"initialize", "config"}
	patroniSync   = []string{"leader", "sync_standby"}
)

// skipLeaderLock skips an Endpoints or ConfigMap that is a leader-election
// lock: its record names the source's leader and the time it renewed. A
// copy holds the target's replicas back until it expires, and a mirror
// would renew it for the source's leader at each of its renewals.
//
// Patroni's state in the cluster is skipped whole. Its leader key copied
// into the target names the source's primary by a pod name the target's
// StatefulSet gives its own first pod, which would take itself for the
// leader it never was. Its config key's initialize tells Patroni the
// cluster was bootstrapped: in a target whose volumes start empty, Patroni
// then waits for a leader to clone from that never comes, and bootstraps
// nothing. Its operator writes the dynamic configuration again (from the
// postgresql or PostgresCluster resource, which is copied), and with
// volumes handed over Patroni writes initialize again from its data.
func skipLeaderLock(obj *unstructured.Unstructured) (Decision, bool) {
	a := obj.GetAnnotations()
	if _, ok := a[leaderAnnotation]; ok {
		return skip("a leader-election lock (its record names the source's leader): the target's replicas elect their own"), true
	}
	switch {
	case hasAll(a, patroniLock):
		return skip("Patroni's leader key (its annotations name the source's primary, " + a["leader"] + ", renewed every loop): the target's Patroni elects its own and writes its own"), true
	case hasAll(a, patroniConfig):
		return skip("Patroni's config key (initialize holds the source's system identifier: a target Patroni with empty volumes would wait for a leader instead of bootstrapping): the target's Patroni writes its own, its operator the configuration"), true
	case hasAll(a, patroniSync):
		return skip("Patroni's sync key (it names the source's synchronous standby): the target's Patroni writes its own"), true
	}
	return Decision{}, false
}

// hasAll says whether every one of keys is in a.
func hasAll(a map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := a[k]; !ok {
			return false
		}
	}
	return true
}
