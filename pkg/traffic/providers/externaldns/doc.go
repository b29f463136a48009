// Package externaldns splits traffic through the ExternalDNS installed in
// each cluster: it sets the set-identifier and aws-weight annotations on the
// same Ingress or Service in every cluster, and each cluster's ExternalDNS
// writes its weighted record (seed 002).
package externaldns
