package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A budget over pods an operator makes itself — no Deployment or
// StatefulSet whose replicas say how many (CloudNativePG's instances, here
// a pod a ConfigMap controls) — blocks a drain when blue's disruption
// controller allows it no eviction: plan says so from the budget's status,
// naming the pods' controller.
func TestPlanSaysABudgetOverAnOperatorsPodsBlocksTheDrain(t *testing.T) {
	const ns = "e2e-plan-operator-pdb"
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	})
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"db","namespace":"`+ns+`"},"data":{"instances":"1"}}`)
	uid := mustKubectl(t, "--context", "blue", "-n", ns, "get", "configmap", "db", "-o", "jsonpath={.metadata.uid}")
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"db-1","namespace":"`+ns+`","labels":{"cnpg.io/cluster":"db","cnpg.io/instanceRole":"primary"},
"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"db","uid":"`+uid+`","controller":true,"blockOwnerDeletion":true}]},
"spec":{"tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],"containers":[{"name":"postgres","image":"registry.example/postgres:17"}]}}`)
	kubectlCreate(t, "blue", `{"apiVersion":"policy/v1","kind":"PodDisruptionBudget","metadata":{"name":"db-primary","namespace":"`+ns+`"},
"spec":{"minAvailable":1,"selector":{"matchLabels":{"cnpg.io/cluster":"db","cnpg.io/instanceRole":"primary"}}}}`)
	eventually(t, 60*time.Second, func() error {
		got := kubectl(t, "--context", "blue", "-n", ns, "get", "pdb", "db-primary", "-o", "jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.disruptionsAllowed}").stdout
		if got != "1/1/0" {
			return fmt.Errorf("blue's budget status expected/healthy/allowed = %q, want 1/1/0", got)
		}
		return nil
	})

	rep := planJSON(t, 0, "--only", "pdb")
	fs := planFind(rep, "pdb", "PodDisruptionBudget.policy "+ns+"/db-primary", "")
	if len(fs) != 1 || fs[0].Severity != "warning" || !strings.Contains(fs[0].Message, "pods of ConfigMap "+ns+"/db") ||
		!strings.Contains(fs[0].Message, "allows no eviction now: 1 healthy of 1 expected, 1 must stay up") {
		t.Fatalf("pdb findings on db-primary: %+v; want one warning naming ConfigMap %s/db's pods, from the budget's status", fs, ns)
	}
}
