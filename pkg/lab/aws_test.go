package lab

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// The lab's zone is found again by a second `lab up` when the endpoint
// holds more zones than one ListHostedZones page (100) and throttles as
// Route53 does (5 requests per second): the second call answers the first's
// id, and nothing is made twice.
func TestEnsureZoneFindsItsZoneAcrossPagesAndThrottling(t *testing.T) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 150 {
		body := fmt.Sprintf(`<CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>z%03d.test</Name><CallerReference>other-%d</CallerReference></CreateHostedZoneRequest>`, i, i)
		if status, data, err := route53Call(ctx, "POST", fake.URL+"/2013-04-01/hostedzone", body); err != nil || status != 201 {
			t.Fatalf("zone %d: %d %s %v", i, status, data, err)
		}
	}
	first, err := ensureZone(ctx, fake.URL, LabZone)
	if err != nil {
		t.Fatal(err)
	}
	fake.Route53Limiter = rate.NewLimiter(5, 1) // from here on, most back-to-back calls are throttled
	second, err := ensureZone(ctx, fake.URL, LabZone)
	if err != nil {
		t.Fatalf("second ensureZone: %v", err)
	}
	if first == "" || second != first {
		t.Fatalf("second ensureZone answered %q, the first %q", second, first)
	}
	if fake.Throttled == 0 {
		t.Errorf("no request was throttled: the test did not test the retry")
	}
	status, data, err := route53Call(ctx, "GET", fake.URL+"/2013-04-01/hostedzone?marker="+first, "")
	if err != nil || status != 200 || strings.Count(string(data), "<CallerReference>tandem-lab-"+LabZone+"<") != 1 {
		t.Fatalf("the lab zone is not there once: %d %v\n%s", status, err, data)
	}
}
