// Package cluster is a connection to one Kubernetes cluster, built from a
// kubeconfig context: REST config, dynamic client, cached discovery, a
// RESTMapper, the server version and a stable identity.
package cluster
