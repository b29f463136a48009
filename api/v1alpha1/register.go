package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is tandem.io/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: "tandem.io", Version: "v1alpha1"}

// AddToScheme adds the types of this API to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&ClusterPair{}, &ClusterPairList{},
		&Mirror{}, &MirrorList{},
		&Switchover{}, &SwitchoverList{},
		&Drill{}, &DrillList{},
	)
	metav1AddToGroupVersion(s)
	return nil
}
