package providers

import (
	"context"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"net/url"
	"strings"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/alb"
	"github.com/tandem-io/tandem/pkg/traffic/providers/albingress"
	"github.com/tandem-io/tandem/pkg/traffic/providers/externaldns"
	"github.com/tandem-io/tandem/pkg/traffic/providers/haproxy"
	"github.com/tandem-io/tandem/pkg/traffic/providers/route53"
)

// Schemes are the router URL schemes Open knows, with an example each.
var Schemes = []string{
	"haproxy:///run/haproxy.sock?backend=NAME",
	"route53://ZONEID/app.example.com?ttl=60&blue=VALUE&green=VALUE",
	"alb://LISTENER_RULE_ARN?blue=TG_ARN&green=TG_ARN",
	"externaldns://ingress/NAMESPACE/NAME?clusters=blue,green",
	"albingress://NAMESPACE/INGRESS?context=blue&blue=TG_ARN&green=TG_ARN",
}

// Options are what some providers need beyond their URL.
type Options struct {
	// Notice is told what a router does beyond setting weights (a Route53
	// simple record converted to weighted records); may be nil.
	Notice func(string)
	// Connect opens a kubeconfig context (routers that live in the clusters:
	// externaldns, albingress).
	Connect func(context string) (*cluster.Conn, error)
	// AWSCredentials replace the default credential chain of the AWS routers.
	AWSCredentials aws.CredentialsProvider
	// FixTTL lets route53 align the TTLs of a weighted set that differ.
	FixTTL bool
}

// Open returns the Router raw names. Bad URLs and unknown schemes wrap
// traffic.ErrInvalid.
func Open(ctx context.Context, raw string, o Options) (traffic.Router, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		if _, err := url.Parse(raw); err != nil {
			return nil, fmt.Errorf("%w: router %q: %v", traffic.ErrInvalid, raw, err)
		}
		return nil, fmt.Errorf("%w: router %q: not a URL; known: %s", traffic.ErrInvalid, raw, strings.Join(Schemes, ", "))
	}
	switch scheme {
	case "haproxy":
		cfg, err := haproxy.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return haproxy.New(cfg), nil
	case "route53":
		cfg, err := route53.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		cfg.Credentials, cfg.FixTTL = o.AWSCredentials, o.FixTTL
		r, err := route53.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		r.Notice = o.Notice
		return r, nil
	case "externaldns":
		cfg, err := externaldns.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		if o.Connect == nil {
			return nil, fmt.Errorf("router %q: no way to reach the clusters", raw)
		}
		return externaldns.New(ctx, cfg, o.Connect)
	case "alb":
		cfg, err := alb.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = o.AWSCredentials
		return alb.New(ctx, cfg)
	case "albingress":
		cfg, err := albingress.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		if o.Connect == nil {
			return nil, fmt.Errorf("router %q: no way to reach the clusters", raw)
		}
		cfg.Credentials = o.AWSCredentials
		return albingress.New(ctx, cfg, o.Connect)
	}
	return nil, fmt.Errorf("%w: router %q: unknown router scheme %q; known: %s", traffic.ErrInvalid, raw, scheme, strings.Join(Schemes, ", "))
}
