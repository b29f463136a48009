// Package albingress shifts traffic the AWS Load Balancer Controller's way
// (seed 002: one ALB, two target groups, a weighted rule): the weights go
// into the Ingress annotation alb.ingress.kubernetes.io/actions.NAME, a
// forward action with both clusters' target groups, and the controller
// applies it to the ALB. Verify reads the ALB rule back through ELBv2, so a
// step holds only once the controller has applied it. Each cluster's target
// group is checked against the TargetGroupBindings of that cluster.
package albingress
