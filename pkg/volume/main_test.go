package volume_test

import (
	"testing"

	"github.com/tandem-io/tandem/internal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }
