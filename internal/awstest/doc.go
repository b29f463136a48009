// Package awstest is what the tests of the AWS routers and fakes share: AWS's
// own client, the AWS CLI (Debian's awscli, which `make test` installs), run
// against the local fakes of AWS services — so that a fake that answers or
// accepts what the real service would not is caught by the real client's
// shapes and checks — and a TestMain that gives the SDK test credentials.
package awstest
