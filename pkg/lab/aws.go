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
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/util/wait"

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
	// StateFile keeps the zones, load balancers, volumes and snapshots
	// across restarts ("" = in memory only).
	StateFile string
	// DNS, when set, is a UDP address to answer the zones' names on.
	DNS string
}

// DefaultAWSOptions are what `lab up` starts the endpoint with.
var DefaultAWSOptions = AWSOptions{InsyncAfter: 2 * time.Second, SnapshotsAfter: 30 * time.Second, Route53PerSecond: 5}

// AWSHandler serves Route53 and ELBv2 (r53elb) and EC2 (ec2) on one endpoint,
// with GET /healthz for the lab's readiness probe; after every request that
// may change something, saved is called.
func AWSHandler(r53elb *awsfake.Server, ec2 *ec2fake.Server, saved func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && saved != nil {
			defer saved()
		}
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

// awsState is the file the endpoint keeps its state in.
type awsState struct {
	Route53ELBv2 json.RawMessage `json:"route53elbv2"`
	EC2          json.RawMessage `json:"ec2"`
}

// ServeAWS serves the AWS fakes on ln (and their zones over DNS on o.DNS)
// until ctx ends.
func ServeAWS(ctx context.Context, ln net.Listener, o AWSOptions) error {
	r53elb, ec2 := awsfake.NewHandler(), ec2fake.NewHandler()
	r53elb.InsyncAfter, ec2.CompleteAfter = o.InsyncAfter, o.SnapshotsAfter
	if o.Route53PerSecond > 0 {
		r53elb.Route53Limiter = rate.NewLimiter(rate.Limit(o.Route53PerSecond), int(max(1, o.Route53PerSecond)))
	}
	var saved func()
	if o.StateFile != "" {
		if data, err := os.ReadFile(o.StateFile); err == nil {
			var st awsState
			if err := json.Unmarshal(data, &st); err != nil {
				return fmt.Errorf("%s: %w", o.StateFile, err)
			}
			if err := errors.Join(r53elb.UnmarshalState(st.Route53ELBv2), ec2.UnmarshalState(st.EC2)); err != nil {
				return fmt.Errorf("%s: %w", o.StateFile, err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		var mu sync.Mutex
		saved = func() {
			mu.Lock()
			defer mu.Unlock()
			a, err1 := r53elb.MarshalState()
			b, err2 := ec2.MarshalState()
			if err := errors.Join(err1, err2); err != nil {
				fmt.Fprintf(os.Stderr, "aws endpoint: save state: %v\n", err)
				return
			}
			data, _ := json.Marshal(awsState{Route53ELBv2: a, EC2: b})
			if err := os.WriteFile(o.StateFile+".tmp", data, 0o600); err == nil {
				err = os.Rename(o.StateFile+".tmp", o.StateFile)
			}
		}
	}
	if o.DNS != "" {
		pc, err := net.ListenPacket("udp", o.DNS)
		if err != nil {
			return fmt.Errorf("dns %s: %w", o.DNS, err)
		}
		go func() {
			if err := ServeDNS(ctx, pc, r53elb); err != nil {
				fmt.Fprintf(os.Stderr, "dns: %v\n", err)
			}
		}()
	}
	srv := &http.Server{Handler: AWSHandler(r53elb, ec2, saved), ReadHeaderTimeout: 10 * time.Second}
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
	args := []string{"lab", "aws", "--listen", fmt.Sprintf("127.0.0.1:%d", st.AWSPort), "--state", filepath.Join(l.Dir, "aws-state.json"),
		"--insync-after", o.InsyncAfter.String(), "--snapshots-after", o.SnapshotsAfter.String(), "--route53-rate", fmt.Sprint(o.Route53PerSecond)}
	if st.DNSPort != 0 {
		args = append(args, "--dns", fmt.Sprintf("127.0.0.1:%d", st.DNSPort))
	}
	p := Process{Name: awsProcess, Binary: exe, Port: st.AWSPort, Args: args, Log: filepath.Join(l.Dir, "logs", "aws.log")}
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

// LabZone is the hosted zone the lab makes in its AWS endpoint: the seeded
// app's name (app.example) is in it.
const LabZone = "example"

// freeUDPPort is a UDP port on 127.0.0.1 that nothing listens on now.
func freeUDPPort() (int, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

// ensureZone makes the hosted zone name in the endpoint (CreateHostedZone,
// with a caller reference of its own so a second call finds the first's)
// and returns its id.
func ensureZone(ctx context.Context, endpoint, name string) (string, error) {
	ref := "tandem-lab-" + name
	body := `<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>` + name + `</Name><CallerReference>` + ref + `</CallerReference></CreateHostedZoneRequest>`
	status, _, err := route53Call(ctx, http.MethodPost, endpoint+"/2013-04-01/hostedzone", body)
	if err != nil {
		return "", fmt.Errorf("aws endpoint: create hosted zone %s: %w", name, err)
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		return "", fmt.Errorf("aws endpoint: create hosted zone %s: %d", name, status)
	}
	// ListHostedZones answers 100 zones a page: follow NextMarker, the
	// endpoint may hold many zones made by others (tests, a user's own).
	marker := ""
	for page := 0; page < 1000; page++ {
		u := endpoint + "/2013-04-01/hostedzone"
		if marker != "" {
			u += "?marker=" + url.QueryEscape(marker)
		}
		status, data, err := route53Call(ctx, http.MethodGet, u, "")
		if err != nil {
			return "", fmt.Errorf("aws endpoint: list hosted zones: %w", err)
		}
		if status != http.StatusOK {
			return "", fmt.Errorf("aws endpoint: list hosted zones: %d %s", status, data)
		}
		var list struct {
			Zones []struct {
				ID        string `xml:"Id"`
				CallerRef string `xml:"CallerReference"`
			} `xml:"HostedZones>HostedZone"`
			Truncated bool   `xml:"IsTruncated"`
			Next      string `xml:"NextMarker"`
		}
		if err := xml.Unmarshal(data, &list); err != nil {
			return "", fmt.Errorf("aws endpoint: list hosted zones: %w", err)
		}
		for _, z := range list.Zones {
			if z.CallerRef == ref {
				return strings.TrimPrefix(z.ID, "/hostedzone/"), nil
			}
		}
		if !list.Truncated || list.Next == "" {
			break
		}
		marker = list.Next
	}
	return "", fmt.Errorf("aws endpoint: hosted zone %s not listed after it was created", name)
}

// route53Call makes one Route53 request to the endpoint and answers its
// status and body, retrying (backoff from 200 ms, 6 tries) the answers the
// service means to be retried: 400 Throttling (the API's 5 requests per
// second, shared with the ExternalDNS of each cluster) and 5xx.
func route53Call(ctx context.Context, method, u, body string) (int, []byte, error) {
	var status int
	var data []byte
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 6}
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
		if err != nil {
			return false, err
		}
		resp, err := insecureClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if data, err = io.ReadAll(resp.Body); err != nil {
			return false, err
		}
		status = resp.StatusCode
		throttled := status == http.StatusBadRequest && bytes.Contains(data, []byte("<Code>Throttling</Code>"))
		return !throttled && status < 500, nil
	})
	if wait.Interrupted(err) {
		return status, data, nil // the last answer, for the caller to report
	}
	return status, data, err
}
