package alb

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
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

// ParseURL reads alb://RULE_ARN?blue=TG_ARN&green=TG_ARN[&listener=LISTENER_ARN]
// [&endpoint=URL][&region=R] (the ARN as it is, colons and slashes
// included), or alb:///?rule=RULE_ARN&…. A listener, when given, must be
// the rule's.
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
	listener := ""
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "rule":
			c.Rule = v
		case "listener":
			listener = v
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		default:
			if err := CheckTargetGroupARN(k, v); err != nil {
				return bad("%v", err)
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
	if listener != "" && ListenerOf(c.Rule) != listener {
		return bad("rule %s belongs to listener %s, not to listener=%s: name a rule of that listener", RouteName(c.Rule), ListenerOf(c.Rule), listener)
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
	ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, optFns ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
	DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, optFns ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
}

var _ API = (*elb.Client)(nil)

// Router drives one listener rule.
type Router struct {
	cfg     Config
	route   string
	client  API
	checked bool // the rule is not the AWS Load Balancer Controller's
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
	return r.weightsOf(rule)
}

// weightsOf reads the weights of the rule's forward action.
func (r *Router) weightsOf(rule *types.Rule) (traffic.Weights, error) {
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

// SetWeights implements traffic.Router. ModifyRule (ModifyListener for a
// default rule) replaces the rule's whole action list, so the rule is read
// and sent back whole: only the weights inside its forward action change;
// every other action (authenticate-oidc/-cognito in front of it, which an
// app's login depends on), their order and the forward action's stickiness
// stay as they are.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	if err := w.ValidateFor("alb", r.route, r.cfg.TargetGroups); err != nil {
		return err
	}
	rule, err := r.rule(ctx)
	if err != nil {
		return err
	}
	if err := r.notControllers(ctx); err != nil {
		return err
	}
	current, err := r.weightsOf(rule)
	if err != nil {
		return err
	}
	tgCluster := map[string]string{}
	for c, tg := range r.cfg.TargetGroups {
		tgCluster[tg] = c
	}
	actions := make([]types.Action, 0, len(rule.Actions))
	done := false
	for _, a := range rule.Actions {
		switch {
		case a.Type == types.ActionTypeEnumForward && a.ForwardConfig != nil && !done:
			fc := *a.ForwardConfig // stickiness kept
			fc.TargetGroups = nil
			seen := map[string]bool{}
			for _, tg := range a.ForwardConfig.TargetGroups { // their order kept; others' groups (at 0) too
				arn := aws.ToString(tg.TargetGroupArn)
				if c, ok := tgCluster[arn]; ok {
					tg.Weight = aws.Int32(ToALB(weightFor(w, current, r.route, c)))
					seen[arn] = true
				}
				fc.TargetGroups = append(fc.TargetGroups, tg)
			}
			for _, c := range slices.Sorted(maps.Keys(r.cfg.TargetGroups)) {
				if tg := r.cfg.TargetGroups[c]; !seen[tg] {
					fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(tg), Weight: aws.Int32(ToALB(weightFor(w, current, r.route, c)))})
				}
			}
			a.ForwardConfig, a.TargetGroupArn = &fc, nil
			done = true
		case a.AuthenticateOidcConfig != nil:
			// DescribeRules never returns the client secret; the rule keeps its own.
			c := *a.AuthenticateOidcConfig
			c.ClientSecret, c.UseExistingClientSecret = nil, aws.Bool(true)
			a.AuthenticateOidcConfig = &c
		}
		actions = append(actions, a)
	}
	if aws.ToBool(rule.IsDefault) {
		// "To modify the actions for the default rule, use ModifyListener."
		if _, err := r.client.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(ListenerOf(r.cfg.Rule)), DefaultActions: actions}); err != nil {
			return fmt.Errorf("alb: modify the default actions of listener %s: %w", ListenerOf(r.cfg.Rule), err)
		}
		return nil
	}
	if _, err := r.client.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(r.cfg.Rule), Actions: actions}); err != nil {
		return fmt.Errorf("alb: modify rule %s: %w", r.route, err)
	}
	return nil
}

// weightFor is w's weight for cluster c, else the current one (left alone).
func weightFor(w, current traffic.Weights, route, c string) int {
	if v, ok := w[route][c]; ok {
		return v
	}
	return current[route][c]
}

// CheckTargetGroupARN checks that cluster=v of a router URL names a target group.
func CheckTargetGroupARN(cluster, v string) error {
	if !strings.HasPrefix(v, "arn:") || !strings.Contains(v, ":targetgroup/") {
		return fmt.Errorf("%s=%q: want a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)", cluster, v)
	}
	return nil
}

// LoadBalancerOf is the ARN of the load balancer a listener rule belongs to.
func LoadBalancerOf(ruleARN string) string {
	arn := strings.Replace(ruleARN, ":listener-rule/", ":loadbalancer/", 1)
	for range 2 {
		arn = arn[:strings.LastIndex(arn, "/")]
	}
	return arn
}

// ListenerOf is the ARN of the listener a listener rule belongs to.
func ListenerOf(ruleARN string) string {
	arn := strings.Replace(ruleARN, ":listener-rule/", ":listener/", 1)
	return arn[:strings.LastIndex(arn, "/")]
}

// controllerTags are the tags the AWS Load Balancer Controller puts on what
// it manages (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/configurations/):
// it writes its own weights back on its next reconcile.
var controllerTags = []string{"elbv2.k8s.aws/cluster", "ingress.k8s.aws/stack", "service.k8s.aws/stack"}

// notControllers refuses a rule the AWS Load Balancer Controller manages.
func (r *Router) notControllers(ctx context.Context) error {
	if r.checked {
		return nil
	}
	out, err := r.client.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{r.cfg.Rule}})
	if err != nil {
		return fmt.Errorf("alb: describe the tags of rule %s: %w", r.route, err)
	}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			if slices.Contains(controllerTags, aws.ToString(t.Key)) {
				return fmt.Errorf("%w: alb: rule %s is managed by the AWS Load Balancer Controller (tag %s=%s), which would put its own weights back: "+
					"shift through the Ingress instead (its alb.ingress.kubernetes.io/actions.<name> annotation, a forward action with both target groups), or ExternalDNS/Route53 in front of one ALB per cluster",
					traffic.ErrInvalid, r.route, aws.ToString(t.Key), aws.ToString(t.Value))
			}
		}
	}
	r.checked = true
	return nil
}

// Verify implements traffic.Router: the rule reads back as w.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	return traffic.VerifyByObserve(ctx, r, w)
}

// Preflight implements traffic.Preflighter: a forward action with target
// group stickiness keeps each client on the target group it got for the
// stickiness duration, whatever the weights say since. A step moves only
// clients new to the rule (or whose stickiness ran out), and a rollback
// leaves the clients that reached the target there until then.
func (r *Router) Preflight(ctx context.Context) ([]string, error) {
	rule, err := r.rule(ctx)
	if err != nil {
		return nil, err
	}
	fc, err := forward(rule)
	if err != nil {
		return nil, err
	}
	if st := fc.TargetGroupStickinessConfig; st != nil && aws.ToBool(st.Enabled) {
		d := time.Duration(aws.ToInt32(st.DurationSeconds)) * time.Second
		return []string{fmt.Sprintf("rule %s forwards with target group stickiness of %s: a client stays on the target group it got for that long, so each step moves only new clients, and after a rollback the clients that reached the target stay there until their stickiness runs out (gates see the target's traffic fall only then)", RouteName(r.cfg.Rule), d)}, nil
	}
	return nil, nil
}
