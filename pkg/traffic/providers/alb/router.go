package alb

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tandem-io/tandem/pkg/awsconf"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// MaxWeight is the largest target group weight of a forward action.
const MaxWeight = 999

// ToALB maps tandem's 0–100 onto 0–999 (nearest); FromALB maps back. Every
// 0–100 survives the round trip.
func ToALB(w int) int32 { return int32((w*MaxWeight + 50) / 100) }

// FromALB maps an ALB weight back onto 0–100.
func FromALB(a int32) int { return int((int(a)*100 + MaxWeight/2) / MaxWeight) }

// Config says which rule and which target group is which cluster.
type Config struct {
	Rule         string            // listener rule ARN
	TargetGroups map[string]string // cluster → target group ARN
	Endpoint     string            // "" = AWS
	Region       string            // default: the rule ARN's
	// Credentials replace the default credential chain when set.
	Credentials aws.CredentialsProvider
}

// ParseURL reads alb://RULE_ARN?blue=TG_ARN&green=TG_ARN[&endpoint=URL][&region=R]
// (the ARN as it is, colons and slashes included), or alb:///?rule=RULE_ARN&….
func ParseURL(raw string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: router %q: %s", traffic.ErrInvalid, raw, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(raw, "alb://")
	if !ok {
		return bad("want alb://LISTENER_RULE_ARN?blue=TG_ARN&green=TG_ARN")
	}
	arn, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return bad("%v", err)
	}
	c := Config{Rule: strings.TrimPrefix(arn, "/"), TargetGroups: map[string]string{}}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "rule":
			c.Rule = v
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		default:
			if !strings.HasPrefix(v, "arn:") || !strings.Contains(v, ":targetgroup/") {
				return bad("%s=%q: want a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)", k, v)
			}
			c.TargetGroups[k] = v
		}
	}
	parts := strings.Split(c.Rule, ":")
	if len(parts) < 6 || parts[0] != "arn" || !strings.HasPrefix(parts[5], "listener-rule/") {
		return bad("rule %q: want a listener rule ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/…)", c.Rule)
	}
	if c.Region == "" {
		c.Region = parts[3]
	}
	if len(c.TargetGroups) < 2 {
		return bad("want a target group per cluster, at least two: ?blue=TG_ARN&green=TG_ARN")
	}
	return c, nil
}

// API is the part of the ELBv2 client a Router calls;
// *elasticloadbalancingv2.Client (aws-sdk-go-v2) satisfies it, and a test
// may pass its own.
type API interface {
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, optFns ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
}

var _ API = (*elb.Client)(nil)

// Router drives one listener rule.
type Router struct {
	cfg    Config
	route  string
	client API
}

// New connects to ELBv2 (or to cfg.Endpoint).
func New(ctx context.Context, cfg Config) (*Router, error) {
	ac, err := awsconf.LoadWith(ctx, cfg.Region, cfg.Endpoint, cfg.Credentials)
	if err != nil {
		return nil, err
	}
	client := elb.NewFromConfig(ac, func(o *elb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return NewWithClient(cfg, client), nil
}

// NewWithClient drives cfg's rule through client.
func NewWithClient(cfg Config, client API) *Router {
	return &Router{cfg: cfg, route: RouteName(cfg.Rule), client: client}
}

// RouteName is the route a rule is known by: the ARN's last part.
func RouteName(ruleARN string) string {
	return "rule/" + ruleARN[strings.LastIndex(ruleARN, "/")+1:]
}

// TTL implements traffic.Router: a load balancer takes effect at once.
func (r *Router) TTL(context.Context) time.Duration { return 0 }

// RefusesAllZero implements traffic.AllZeroRefuser: a forward action with
// every weight 0 serves nothing.
func (r *Router) RefusesAllZero() bool { return true }

func (r *Router) rule(ctx context.Context) (*types.Rule, error) {
	out, err := r.client.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{r.cfg.Rule}})
	if err != nil {
		return nil, fmt.Errorf("alb: describe rule %s: %w", r.cfg.Rule, err)
	}
	if len(out.Rules) != 1 {
		return nil, fmt.Errorf("alb: rule %s: %d rules answered", r.cfg.Rule, len(out.Rules))
	}
	return &out.Rules[0], nil
}

func forward(rule *types.Rule) (*types.ForwardActionConfig, error) {
	for _, a := range rule.Actions {
		if a.Type == types.ActionTypeEnumForward && a.ForwardConfig != nil {
			return a.ForwardConfig, nil
		}
	}
	return nil, fmt.Errorf("alb: rule %s has no forward action with target groups", aws.ToString(rule.RuleArn))
}

// Observe implements traffic.Router: the weights the rule has now.
func (r *Router) Observe(ctx context.Context) (traffic.Weights, error) {
	rule, err := r.rule(ctx)
	if err != nil {
		return nil, err
	}
	fc, err := forward(rule)
	if err != nil {
		return nil, err
	}
	byARN := map[string]string{}
	for c, tg := range r.cfg.TargetGroups {
		byARN[tg] = c
	}
	w := traffic.Weights{r.route: {}}
	for _, tg := range fc.TargetGroups {
		c, ok := byARN[aws.ToString(tg.TargetGroupArn)]
		if !ok {
			if aws.ToInt32(tg.Weight) > 0 {
				return nil, fmt.Errorf("alb: rule %s also forwards to %s (weight %d), which is no cluster's target group: name it in the router URL", r.route, aws.ToString(tg.TargetGroupArn), aws.ToInt32(tg.Weight))
			}
			continue
		}
		w[r.route][c] = FromALB(aws.ToInt32(tg.Weight))
	}
	for c := range r.cfg.TargetGroups {
		if _, ok := w[r.route][c]; !ok {
			w[r.route][c] = 0 // not in the action yet: weight 0
		}
	}
	return w, nil
}

// SetWeights implements traffic.Router: one ModifyRule with every target group.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	if err := w.Validate(); err != nil {
		return err
	}
	for route, cl := range w {
		if route != r.route {
			return fmt.Errorf("%w: alb: route %q is not %q", traffic.ErrInvalid, route, r.route)
		}
		for c := range cl {
			if _, ok := r.cfg.TargetGroups[c]; !ok {
				return fmt.Errorf("%w: alb: no target group for cluster %q", traffic.ErrInvalid, c)
			}
		}
	}
	current, err := r.Observe(ctx)
	if err != nil {
		return err
	}
	var clusters []string
	for c := range r.cfg.TargetGroups {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	fc := &types.ForwardActionConfig{}
	for _, c := range clusters {
		v, ok := w[r.route][c]
		if !ok {
			v = current[r.route][c] // left alone
		}
		fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(r.cfg.TargetGroups[c]), Weight: aws.Int32(ToALB(v))})
	}
	_, err = r.client.ModifyRule(ctx, &elb.ModifyRuleInput{
		RuleArn: aws.String(r.cfg.Rule),
		Actions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: fc}},
	})
	if err != nil {
		return fmt.Errorf("alb: modify rule %s: %w", r.route, err)
	}
	return nil
}

// Verify implements traffic.Router: the rule reads back as w.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	return traffic.VerifyByObserve(ctx, r, w)
}
