// Package seed deploys a realistic platform into the lab's blue cluster, the
// workload that `tandem lab seed` installs and that later syncs, shifts and
// drains are exercised against.
//
// The platform is a set of embedded manifests (manifests/*.yaml, applied in
// file-name order after their CustomResourceDefinitions): an ingress-nginx
// controller with its IngressClass; a "shop" stack spanning the namespaces
// shop and shop-data (Deployments, Services, Ingresses, HPA, PDB,
// NetworkPolicies, a CronJob, RBAC, quota, a StatefulSet with claims on the
// lab's StorageClass); a "payments" stack whose PDB blocks drains; a Backup
// CRD with CRs; and objects in API versions that newer clusters no longer
// serve, applied only where the cluster still serves them.
package seed
