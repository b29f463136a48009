package lab

// The lab's AWS endpoint: one loopback address serving the AWS fakes —
// Route53 (REST-XML under /2013-04-01/), ELBv2 and EC2 (query protocol,
// told apart by their API Version) — so that the AWS routers, the EBS
// snapshotter and AWS's own CLI can be pointed at it (--endpoint-url,
// endpoint=). It is a lab process like the others: started by `lab up`,
// recorded, stopped by `lab down`.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
	"github.com/tandem-io/tandem/pkg/volume/ec2fake"
)

// awsProcess is the name the AWS endpoint is recorded under.
const awsProcess = "aws"

// AWSOptions shape the lab's AWS endpoint.
type AWSOptions struct {
	// InsyncAfter is how long a Route53 change stays PENDING.
	InsyncAfter time.Duration
	// SnapshotsAfter is how long an EBS snapshot stays pending.
	SnapshotsAfter time.Duration
	// Route53PerSecond is Route53's request limit ("five requests per
	// second per AWS account"); 0 = unlimited.
	Route53PerSecond float64
}

// DefaultAWSOptions are what `lab up` starts the endpoint with.
var DefaultAWSOptions = AWSOptions{InsyncAfter: 2 * time.Second, SnapshotsAfter: 30 * time.Second, Route53PerSecond: 5}

// AWSHandler serves Route53 and ELBv2 (r53elb) and EC2 (ec2) on one endpoint,
// with GET /healthz for the lab's readiness probe.
func AWSHandler(r53elb *awsfake.Server, ec2 *ec2fake.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
			_, _ = io.WriteString(w, "ok\n")
		case strings.HasPrefix(r.URL.Path, "/2013-04-01/"):
			r53elb.ServeHTTP(w, r)
		default:
			body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			// EC2's API version is 2016-11-15, ELBv2's 2015-12-01.
			if f, _ := url.ParseQuery(string(body)); f.Get("Version") == "2016-11-15" {
				ec2.ServeHTTP(w, r)
				return
			}
			r53elb.ServeHTTP(w, r)
		}
	})
}

// ServeAWS serves the AWS fakes on ln until ctx ends.
func ServeAWS(ctx context.Context, ln net.Listener, o AWSOptions) error {
	r53elb, ec2 := awsfake.NewHandler(), ec2fake.NewHandler()
	r53elb.InsyncAfter, ec2.CompleteAfter = o.InsyncAfter, o.SnapshotsAfter
	if o.Route53PerSecond > 0 {
		r53elb.Route53Limiter = rate.NewLimiter(rate.Limit(o.Route53PerSecond), int(max(1, o.Route53PerSecond)))
	}
	srv := &http.Server{Handler: AWSHandler(r53elb, ec2), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// AWSEndpoint is the URL of the lab's AWS endpoint.
func (s *State) AWSEndpoint() string {
	if s.AWSPort == 0 {
		return ""
	}
	return fmt.Sprintf("http://127.0.0.1:%d", s.AWSPort)
}

func (l *Lab) startAWS(ctx context.Context, st *State) error {
	exe := l.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	o := DefaultAWSOptions
	p := Process{Name: awsProcess, Binary: exe, Port: st.AWSPort,
		Args: []string{"lab", "aws", "--listen", fmt.Sprintf("127.0.0.1:%d", st.AWSPort),
			"--insync-after", o.InsyncAfter.String(), "--snapshots-after", o.SnapshotsAfter.String(), "--route53-rate", fmt.Sprint(o.Route53PerSecond)},
		Log: filepath.Join(l.Dir, "logs", "aws.log")}
	return l.ensure(ctx, l.runningSet(), p, func(ctx context.Context) error {
		return poll(ctx, 100*time.Millisecond, func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, st.AWSEndpoint()+"/healthz", nil)
			resp, err := insecureClient.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("aws endpoint health: %d", resp.StatusCode)
			}
			return nil
		})
	})
}
