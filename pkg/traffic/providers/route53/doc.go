// Package route53 splits traffic with Route53 weighted record sets: one
// record per cluster under each name, told apart by SetIdentifier, through
// the AWS SDK for Go v2.
package route53
