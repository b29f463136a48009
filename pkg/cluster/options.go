package cluster

import (
	"fmt"
	"math"
	"time"

	"k8s.io/client-go/rest"
)

// Default client-side rate limits: none. What bounds tandem's load on an
// apiserver is how many requests it has in flight (--workers for writes, a
// fixed number of lists at once), and the apiserver's own flow control, API
// Priority and Fairness (GA since Kubernetes 1.29), queues what it cannot
// take yet and answers 429 with a Retry-After, which client-go honours
// before tandem retries with backoff. A client-side limit would bound a
// sync of tens of thousands of objects below what the target can write
// (500 requests/s did, once new objects were created instead of applied);
// --qps sets one for those who want it.
const (
	DefaultQPS   = -1
	DefaultBurst = 1000
)

// ClientOptions are the settings tandem applies to the REST config of every
// context it connects to, source and target alike.
type ClientOptions struct {
	// QPS and Burst set client-go's client-side rate limiter; a negative QPS
	// turns the limiter off.
	QPS   float32
	Burst int
	// Timeout bounds each single request (kubectl's --request-timeout); 0
	// means no limit.
	Timeout time.Duration
	// Impersonate and ImpersonateGroups are kubectl's --as and --as-group.
	Impersonate       string
	ImpersonateGroups []string
	// Warnings, when set, receives the warnings of the context's apiserver;
	// nil drops them.
	Warnings *Warnings
}

// DefaultClientOptions are the settings used when none are given.
func DefaultClientOptions() ClientOptions {
	return ClientOptions{QPS: DefaultQPS, Burst: DefaultBurst}
}

// Validate returns one error, marked as bad input, for the first setting
// client-go would reject or silently replace with its own default.
func (o ClientOptions) Validate() error {
	switch {
	case math.IsNaN(float64(o.QPS)) || math.IsInf(float64(o.QPS), 0):
		return fmt.Errorf("%w: --qps %v: want a positive rate, or -1 for no client-side limit", ErrBadInput, o.QPS)
	case o.QPS == 0:
		// client-go would quietly fall back to 5 requests per second.
		return fmt.Errorf("%w: --qps 0: want a positive rate, or -1 for no client-side limit", ErrBadInput)
	case o.QPS > 0 && o.Burst < 1:
		return fmt.Errorf("%w: --burst %d: want at least 1 (the limiter never lets a request through otherwise)", ErrBadInput, o.Burst)
	case o.Burst < 0:
		return fmt.Errorf("%w: --burst %d: want at least 1", ErrBadInput, o.Burst)
	case o.Timeout < 0:
		return fmt.Errorf("%w: --request-timeout %s: want 0 (no limit) or a positive duration such as 30s", ErrBadInput, o.Timeout)
	case o.Impersonate == "" && len(o.ImpersonateGroups) > 0:
		return fmt.Errorf("%w: --as-group needs --as: impersonating groups requires a user to impersonate", ErrBadInput)
	}
	for _, g := range o.ImpersonateGroups {
		if g == "" {
			return fmt.Errorf("%w: --as-group \"\": want a group name", ErrBadInput)
		}
	}
	return nil
}

// apply sets the options on rc (a copy the caller owns).
func (o ClientOptions) apply(rc *rest.Config) {
	rc.QPS, rc.Burst = o.QPS, o.Burst
	rc.Timeout = o.Timeout
	if o.Impersonate != "" {
		// As kubectl's overrides do: the flags replace the kubeconfig's impersonation.
		rc.Impersonate = rest.ImpersonationConfig{UserName: o.Impersonate, Groups: o.ImpersonateGroups}
	}
	if o.Warnings == nil {
		rc.WarningHandler, rc.WarningHandlerWithContext = rest.NoWarnings{}, nil
		return
	}
	// The plain WarningHandler, never WarningHandlerWithContext: client-go
	// prefers the latter, so a caller that copies Config and sets its own
	// WarningHandler (preflight's deprecated check) would not get its warnings.
	rc.WarningHandler, rc.WarningHandlerWithContext = o.Warnings, nil
	rc.Wrap(o.Warnings.markWrites)
}
