package route53_test

import (
	"os"
	"testing"
)

// The SDK signs every call and tandem invents no credentials: the local
// fake takes any, so the tests bring their own (and never ask IMDS).
func TestMain(m *testing.M) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	os.Exit(m.Run())
}
