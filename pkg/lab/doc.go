// Package lab runs the tandem lab: two real Kubernetes clusters on loopback
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built from
// the Go module proxy, nodes and pods faked by kwok), one lab ingress per
// cluster, and HAProxy in front of both. Binaries are built once per version
// and cached; the lab's state lives in one directory.
package lab
