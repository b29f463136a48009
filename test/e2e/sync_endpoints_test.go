package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A Service an operator made (its controller reference on it: CloudNativePG's
// cluster-example-rw, owned by its Cluster) is not copied — the target's
// operator makes its own — and neither are the Endpoints that blue's
// endpoints controller keeps for it (blue, v1.30, does not label them as
// its own): they are the target's endpoints controller's once the target's
// Service exists, and before that an orphan no controller removes. A
// Service's selector is what tells them apart from a person's Endpoints,
// so it is known for an owned Service too.
func TestSyncLeavesAnOperatorsServiceEndpointsToTheTarget(t *testing.T) {
	const ns = "e2e-operator-endpoints"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		}
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	// The operator's custom resource, as a ConfigMap: what owns the Service.
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"db","namespace":"`+ns+`"},"data":{"instances":"3"}}`)
	uid := mustKubectl(t, "--context", "blue", "-n", ns, "get", "configmap", "db", "-o", "jsonpath={.metadata.uid}")
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"db-rw","namespace":"`+ns+`","labels":{"cnpg.io/cluster":"db"},
"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"db","uid":"`+uid+`","controller":true,"blockOwnerDeletion":true}]},
"spec":{"selector":{"cnpg.io/cluster":"db","cnpg.io/instanceRole":"primary"},"ports":[{"name":"postgres","port":5432}]}}`)
	eventually(t, 30*time.Second, func() error {
		if r := kubectl(t, "--context", "blue", "-n", ns, "get", "endpoints", "db-rw", "-o", "name"); !strings.Contains(r.stdout, "db-rw") {
			return fmt.Errorf("blue's endpoints controller has not written Endpoints db-rw yet")
		}
		return nil
	})

	out, _ := syncJSON(t, t.TempDir(), 0, "--namespace", ns)
	svc, ok := out.find("Service", ns, "db-rw")
	if !ok || svc.Status != "skipped" {
		t.Errorf("Service db-rw: %+v (found %v); want skipped (its controller makes it)", svc, ok)
	}
	ep, ok := out.find("Endpoints", ns, "db-rw")
	if !ok || ep.Status != "skipped" || !strings.Contains(ep.Reason, "endpoints controller") {
		t.Errorf("Endpoints db-rw: %+v (found %v); want skipped, the target's endpoints controller's", ep, ok)
	}
	if r := kubectl(t, "--context", "green", "-n", ns, "get", "endpoints", "db-rw", "-o", "name", "--ignore-not-found"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("green has Endpoints db-rw (%q): blue's endpoints controller's object was copied", r.stdout)
	}
	if cm, ok := out.find("ConfigMap", ns, "db"); !ok || cm.Status != "created" {
		t.Errorf("ConfigMap db: %+v (found %v); want created", cm, ok)
	}
}
