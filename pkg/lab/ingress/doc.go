// Package ingress is the lab ingress: a tiny stand-in for an ingress
// controller that runs once per lab cluster behind HAProxy. It watches the
// cluster's Ingresses, Services and EndpointSlices through shared informers
// and answers each request with the cluster, namespace, Service and Ingress
// it was routed to, so tests and weight checks can see which cluster served
// it. Route and Ready hold the matching rules as pure functions; Serve is the
// thin HTTP and informer wiring around them.
package ingress
