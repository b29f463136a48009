package plan

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A copy is what carries the hash and has no controller: a Deployment's
// ReplicaSet carries its Deployment's annotations, the hash among them,
// and is the target's own.
func TestCopiedLeavesOutWhatAControllerOwns(t *testing.T) {
	yes := true
	hashed := map[string]string{HashAnnotation: "h"}
	for _, c := range []struct {
		name string
		meta metav1.ObjectMeta
		want bool
	}{
		{"a copy", metav1.ObjectMeta{Annotations: hashed}, true},
		{"a copy with an owner that is not its controller", metav1.ObjectMeta{Annotations: hashed,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "anchor"}}}, true},
		{"a Deployment's ReplicaSet", metav1.ObjectMeta{Annotations: hashed,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Controller: &yes}}}, false},
		{"the target's own", metav1.ObjectMeta{}, false},
	} {
		if got := Copied(&c.meta); got != c.want {
			t.Errorf("%s: Copied = %v, want %v", c.name, got, c.want)
		}
	}
}
