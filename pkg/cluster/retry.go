package cluster

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Retryable is what can pass: a busy, throttling or restarting apiserver
// (429, 5xx, timeouts, an admission plugin not started yet), a connection
// refused, reset or cut mid-answer (EOF, GOAWAY, an HTTP/2 connection
// closed under its requests), a webhook that timed out
// (the apiserver answers 500).
func Retryable(err error) bool {
	var netErr net.Error
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || unexpectedFromServer(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		(errors.As(err, &netErr) && netErr.Timeout()) || starting(err) || connectionClosed(err)
}

// connectionClosed says err is an HTTP/2 request that failed because its
// connection did, not because of its own answer: net/http closes a
// connection whose write failed (the server died mid-write) and fails every
// other request on it with "force closed via ClientConn.Close", and one
// whose health-check ping went unanswered with "connection lost"
// (net/http's h2_bundle.go; the errors are unexported, so their text is the
// only handle, as utilnet.IsProbableEOF reads a GOAWAY's). A write so cut
// may have reached the server: a create retried then meets AlreadyExists,
// which apply's write takes as made meanwhile.
func connectionClosed(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "http2: client connection force closed via ClientConn.Close") ||
		strings.Contains(msg, "http2: client connection lost")
}

// unexpectedFromServer says err is a 5xx answered with a body that is not
// a Status (a proxy's or load balancer's page). apimachinery marks every
// such answer so, a 404 too ("404 page not found", a resource the server
// does not serve), which is final.
func unexpectedFromServer(err error) bool {
	var status apierrors.APIStatus
	return apierrors.IsUnexpectedServerError(err) && errors.As(err, &status) && status.Status().Code >= 500
}

// starting says err is a kube-apiserver's answer in the seconds after it
// (re)started, while an admission plugin's informers have not synced: the
// namespace lifecycle, webhook and admission-policy plugins refuse every
// write with 403 "not yet ready to handle request" (k8s.io/apiserver
// pkg/admission/plugin/namespace/lifecycle and plugin/webhook/generic). It
// is a 403 that passes, unlike any other.
func starting(err error) bool {
	var status apierrors.APIStatus
	return apierrors.IsForbidden(err) && errors.As(err, &status) &&
		strings.HasSuffix(status.Status().Message, "not yet ready to handle request")
}

// Unreachable is the part of Retryable that says the cluster itself did not
// answer (connection refused, reset or cut, a timeout), not that it
// answered no (a 503 of one aggregated API, a 429): once a request to that
// cluster is answered again, everything that failed so is worth trying at
// once, not only when its own backoff ends.
func Unreachable(err error) bool {
	var netErr net.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		(errors.As(err, &netErr) && netErr.Timeout()) || connectionClosed(err)
}

// Retry calls fn until it succeeds, fails with an error retryable refuses,
// ctx ends or b.Steps attempts are spent, waiting between attempts as b
// says: its delays grow by b.Factor up to b.Cap and stay there. (wait.Backoff
// on its own, in wait.ExponentialBackoff or retry.OnError, stops at the
// first delay that reaches its Cap, whatever Steps says.) It returns the
// number of attempts made and the last error.
func Retry(ctx context.Context, b wait.Backoff, retryable func(error) bool, fn func() error) (int, error) {
	delay := b.DelayFunc()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt >= b.Steps || ctx.Err() != nil || !retryable(err) {
			return attempt, err
		}
		t := time.NewTimer(delay())
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
	}
}

// Backoff rides out an apiserver that restarts or is throttling (APF
// answers 429), or a webhook whose backend is coming back: 100 ms doubling
// up to 5 s between attempts, then 5 s, for 14 attempts (with Retry) —
// about 40 s of trying (each attempt's own time aside) before a request is
// reported failed. A
// Retry-After the apiserver sends is honoured by client-go's REST client
// before an error reaches a caller.
var Backoff = wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 14, Cap: 5 * time.Second}
