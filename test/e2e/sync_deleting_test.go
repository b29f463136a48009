package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A copy the target is deleting (its deletionTimestamp set, a finalizer
// holding it) is not written over: the write would go with it once the
// finalizer finishes, and the sync would have said "unchanged" or
// "updated" of an object the target then loses. It fails, saying why, and
// the sync after the copy is gone creates it. The same for a namespace
// that is Terminating in the target, and for every object of it.
func TestSyncDoesNotWriteOverACopyTheTargetIsDeleting(t *testing.T) {
	labAtRest(t) // green a plain target: a standby parks the workloads and refuses kubectl scale
	n := time.Now().Unix() % 100000
	kept, ending := fmt.Sprintf("e2e-deleting-%d", n), fmt.Sprintf("e2e-ending-%d", n)
	const hold = `{"metadata":{"finalizers":["e2e.tandem.io/hold"]}}`
	release := func(ns, kind, name string) {
		kubectl(t, "--context", "green", "-n", ns, "patch", kind, name, "--type", "merge", "-p", `{"metadata":{"finalizers":null}}`)
	}
	t.Cleanup(func() {
		release(kept, "configmap", "app")
		release(ending, "configmap", "held")
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", kept, ending, "--wait=false", "--ignore-not-found")
		}
	})
	for _, ns := range []string{kept, ending} {
		mustKubectl(t, "--context", "blue", "create", "namespace", ns)
		mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "app", "--from-literal=v=1")
	}
	journal := t.TempDir()
	syncJSON(t, journal, 0, "--namespace", kept)

	// In green: kept's copy of app is deleted, held by a finalizer; ending
	// is deleted, held by an object of its own.
	mustKubectl(t, "--context", "green", "-n", kept, "patch", "configmap", "app", "--type", "merge", "-p", hold)
	mustKubectl(t, "--context", "green", "-n", kept, "delete", "configmap", "app", "--wait=false")
	mustKubectl(t, "--context", "green", "create", "namespace", ending)
	mustKubectl(t, "--context", "green", "-n", ending, "create", "configmap", "held")
	mustKubectl(t, "--context", "green", "-n", ending, "patch", "configmap", "held", "--type", "merge", "-p", hold)
	mustKubectl(t, "--context", "green", "delete", "namespace", ending, "--wait=false")
	eventually(t, 30*time.Second, func() error {
		if ph := kubectl(t, "--context", "green", "get", "namespace", ending, "-o", "jsonpath={.status.phase}").stdout; ph != "Terminating" {
			return errString("namespace " + ending + " in green: " + ph)
		}
		return nil
	})

	out, r := syncJSON(t, journal, 1, "--namespace", kept+","+ending)
	for _, c := range []struct{ kind, ns, name, reason string }{
		{"ConfigMap", kept, "app", "its copy in the target is being deleted"},
		{"Namespace", "", ending, "its copy in the target is being deleted"},
		{"ConfigMap", ending, "app", "its namespace is being deleted in the target"},
	} {
		row, ok := out.find(c.kind, c.ns, c.name)
		if !ok || row.Status != "failed" || !strings.Contains(row.Reason, c.reason) {
			t.Errorf("%s %s/%s: %+v (listed %v); want failed, %q\n%s", c.kind, c.ns, c.name, row, ok, c.reason, r.stderr)
		}
	}

	// The finalizers done, the copies are gone: the next sync creates them.
	release(kept, "configmap", "app")
	release(ending, "configmap", "held")
	eventually(t, time.Minute, func() error {
		if got := kubectl(t, "--context", "green", "get", "namespace", ending, "--ignore-not-found", "-o", "name").stdout; strings.TrimSpace(got) != "" {
			return errString("namespace " + ending + " still in green")
		}
		if got := kubectl(t, "--context", "green", "-n", kept, "get", "configmap", "app", "--ignore-not-found", "-o", "name").stdout; strings.TrimSpace(got) != "" {
			return errString("configmap app still in green")
		}
		return nil
	})
	out, _ = syncJSON(t, journal, 0, "--namespace", kept+","+ending)
	for _, c := range []struct{ kind, ns, name string }{{"ConfigMap", kept, "app"}, {"Namespace", "", ending}, {"ConfigMap", ending, "app"}} {
		if row, ok := out.find(c.kind, c.ns, c.name); !ok || row.Status != "created" {
			t.Errorf("%s %s/%s once the target's copy is gone: %+v (listed %v); want created", c.kind, c.ns, c.name, row, ok)
		}
	}
}
