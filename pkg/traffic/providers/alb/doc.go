// Package alb splits traffic with one ALB listener rule that forwards to two
// (or more) target groups with weights, through the AWS SDK for Go v2
// (elasticloadbalancingv2).
package alb
