package traffic

import (
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// QuickRollbackRetries makes a rollback's retries quick for a test; the
// returned func puts them back.
func QuickRollbackRetries() func() {
	was := rollbackRetry
	rollbackRetry = wait.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 2}
	return func() { rollbackRetry = was }
}
