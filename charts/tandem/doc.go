// Package chart embeds the parts of the Helm chart that tandem installs
// without Helm (the lab's controller): the CRDs and the controller's RBAC
// rules, generated from api/v1alpha1 and pkg/controller (make generate).
package chart
