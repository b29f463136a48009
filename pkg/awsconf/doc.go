// Package awsconf builds the AWS SDK configuration the AWS routers share: the
// default chain (environment, shared config, SSO, IMDS) against AWS, or a
// given endpoint (LocalStack, a test fake) with its own static credentials
// when the chain has none.
package awsconf
