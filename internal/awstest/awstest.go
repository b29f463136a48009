package awstest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// CLI runs `aws --endpoint-url endpoint --output json ARGS…` with test
// credentials and no local AWS configuration; it returns stdout, stderr and
// the exit code. A machine without the CLI fails the test, naming the fix.
func CLI(t *testing.T, endpoint string, args ...string) (string, string, int) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("the AWS CLI judges the fakes: install it (apt-get install -y awscli; make test does): %v", err)
	}
	cmd := exec.Command(bin, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// Main runs the tests of a package that calls the fakes through the AWS SDK.
// The SDK signs every call and tandem invents no credentials: the fakes take
// any, so the tests bring their own (and never ask IMDS).
func Main(m *testing.M) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	os.Exit(m.Run())
}
