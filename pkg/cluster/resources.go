package cluster

import "k8s.io/apimachinery/pkg/runtime/schema"

// CRDs is the resource of CustomResourceDefinitions, which several parts
// read directly (wait Established, compare versions, find the kinds a sync
// brings) rather than through discovery.
var CRDs = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
