package albingress

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/awsconf"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/alb"
)

// ActionPrefix is the annotation prefix of the AWS Load Balancer
// Controller's custom actions: alb.ingress.kubernetes.io/actions.NAME holds
// the action a backend with service.name NAME and port.name use-annotation
// stands for (https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/#actions).
const ActionPrefix = "alb.ingress.kubernetes.io/actions."

// UseAnnotation is the port name by which a backend points at an action.
const UseAnnotation = "use-annotation"

// Config names the Ingress, its action, and each cluster's target group.
type Config struct {
	Namespace, Ingress string
	Context            string            // the cluster whose controller reconciles the Ingress
	Action             string            // "" = the Ingress's one use-annotation backend
	Rule               string            // listener rule ARN; "" = found from the Ingress's load balancer
	TargetGroups       map[string]string // cluster (a kubeconfig context) → target group ARN
	Endpoint, Region   string
	Credentials        aws.CredentialsProvider
}

// ParseURL reads albingress://NAMESPACE/INGRESS?context=CTX&blue=TG_ARN&green=TG_ARN
// [&action=NAME][&rule=RULE_ARN][&endpoint=URL][&region=R].
func ParseURL(raw string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: router %q: %s", traffic.ErrInvalid, raw, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(raw, "albingress://")
	if !ok {
		return bad("want albingress://NAMESPACE/INGRESS?context=CONTEXT&blue=TG_ARN&green=TG_ARN")
	}
	path, query, _ := strings.Cut(rest, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return bad("want albingress://NAMESPACE/INGRESS?…")
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return bad("%v", err)
	}
	c := Config{Namespace: parts[0], Ingress: parts[1], TargetGroups: map[string]string{}}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "context":
			c.Context = v
		case "action":
			c.Action = v
		case "rule":
			if !strings.HasPrefix(v, "arn:") || !strings.Contains(v, ":listener-rule/") {
				return bad("rule %q: want a listener rule ARN", v)
			}
			c.Rule = v
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		default:
			if err := alb.CheckTargetGroupARN(k, v); err != nil {
				return bad("%v", err)
			}
			c.TargetGroups[k] = v
		}
	}
	if c.Context == "" {
		return bad("name the cluster whose AWS Load Balancer Controller reconciles the Ingress: context=CONTEXT")
	}
	if len(c.TargetGroups) < 2 {
		return bad("want a target group per cluster, at least two: ?blue=TG_ARN&green=TG_ARN")
	}
	if c.Region == "" {
		for _, tg := range c.TargetGroups {
			c.Region = strings.Split(tg, ":")[3]
			break
		}
	}
	return c, nil
}

// API is the part of the ELBv2 client the Router calls.
type API interface {
	alb.API
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, optFns ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
}

var _ API = (*elb.Client)(nil)

// Router shifts through the Ingress annotation and reads the ALB rule the
// controller made of it.
type Router struct {
	cfg    Config
	route  string
	conn   *cluster.Conn // the Ingress's cluster
	conns  map[string]*cluster.Conn
	client API
	rule   *alb.Router // reads the rule's weights
	notes  []string
}

// New opens the Ingress's cluster and every cluster named in the target
// groups (connect opens a kubeconfig context), connects to ELBv2 (or
// cfg.Endpoint) and checks what can be checked before a step: the Ingress
// and its action, the rule (found from the Ingress's load balancer when not
// given) and which cluster each target group serves. What is wrong there
// wraps traffic.ErrInvalid.
func New(ctx context.Context, cfg Config, connect func(context string) (*cluster.Conn, error)) (*Router, error) {
	ac, err := awsconf.LoadWith(ctx, cfg.Region, cfg.Endpoint, cfg.Credentials)
	if err != nil {
		return nil, err
	}
	client := elb.NewFromConfig(ac, func(o *elb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return NewWithClient(ctx, cfg, connect, client)
}

// NewWithClient is New with an ELBv2 client of the caller's.
func NewWithClient(ctx context.Context, cfg Config, connect func(context string) (*cluster.Conn, error), client API) (*Router, error) {
	r := &Router{cfg: cfg, route: "ingress/" + cfg.Namespace + "/" + cfg.Ingress, conns: map[string]*cluster.Conn{}, client: client}
	for _, name := range append([]string{cfg.Context}, slices.Sorted(maps.Keys(cfg.TargetGroups))...) {
		if _, done := r.conns[name]; done {
			continue
		}
		c, err := connect(name)
		if err != nil {
			return nil, err
		}
		r.conns[name] = c
	}
	r.conn = r.conns[cfg.Context]
	ing, err := r.ingress(ctx)
	if err != nil {
		return nil, err
	}
	if r.cfg.Action, err = actionOf(ing, cfg.Action); err != nil {
		return nil, err
	}
	if err := r.findRule(ctx, ing); err != nil {
		return nil, err
	}
	r.rule = alb.NewWithClient(alb.Config{Rule: r.cfg.Rule, TargetGroups: cfg.TargetGroups}, client)
	if err := r.checkBindings(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Router) invalid(format string, args ...any) error {
	return fmt.Errorf("%w: albingress: Ingress %s/%s in %s: %s", traffic.ErrInvalid, r.cfg.Namespace, r.cfg.Ingress, r.cfg.Context, fmt.Sprintf(format, args...))
}

func (r *Router) ingress(ctx context.Context) (*networkingv1.Ingress, error) {
	ing, err := r.conn.Typed.NetworkingV1().Ingresses(r.cfg.Namespace).Get(ctx, r.cfg.Ingress, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: albingress: Ingress %s/%s in %s: %v", traffic.ErrInvalid, r.cfg.Namespace, r.cfg.Ingress, r.cfg.Context, err)
	}
	return ing, nil
}

// actionOf is the action the Ingress's use-annotation backends name: want
// when given (and a backend names it), else the only one.
func actionOf(ing *networkingv1.Ingress, want string) (string, error) {
	names := map[string]bool{}
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil && b.Service.Port.Name == UseAnnotation {
			names[b.Service.Name] = true
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP != nil {
			for _, p := range rule.HTTP.Paths {
				add(&p.Backend)
			}
		}
	}
	where := fmt.Sprintf("Ingress %s/%s", ing.Namespace, ing.Name)
	switch {
	case want != "" && names[want]:
		return want, nil
	case want != "":
		return "", fmt.Errorf("%w: albingress: %s has no backend for action %q (service.name %s, port.name %s): the controller would not use it", traffic.ErrInvalid, where, want, want, UseAnnotation)
	case len(names) == 1:
		return slices.Collect(maps.Keys(names))[0], nil
	case len(names) == 0:
		return "", fmt.Errorf("%w: albingress: %s has no backend with port.name %s: point one at an action (service.name ACTION, port.name %s) and name it here with action=ACTION", traffic.ErrInvalid, where, UseAnnotation, UseAnnotation)
	}
	return "", fmt.Errorf("%w: albingress: %s has several actions (%s): name one with action=", traffic.ErrInvalid, where, strings.Join(slices.Sorted(maps.Keys(names)), ", "))
}

// findRule checks the rule given, or finds it: the rule of the Ingress's
// load balancer (its status hostname) whose forward action sends to a
// cluster's target group.
func (r *Router) findRule(ctx context.Context, ing *networkingv1.Ingress) error {
	var hostname string
	for _, lb := range ing.Status.LoadBalancer.Ingress {
		if lb.Hostname != "" {
			hostname = lb.Hostname
		}
	}
	var lbARN string
	if hostname != "" {
		out, err := r.client.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
		if err != nil {
			return fmt.Errorf("albingress: describe load balancers: %w", err)
		}
		for _, lb := range out.LoadBalancers {
			if strings.EqualFold(aws.ToString(lb.DNSName), hostname) {
				lbARN = aws.ToString(lb.LoadBalancerArn)
			}
		}
		if lbARN == "" {
			return r.invalid("its load balancer %s is no ALB of this account and region (endpoint, region=)", hostname)
		}
	}
	if r.cfg.Rule != "" {
		if lbARN != "" && alb.LoadBalancerOf(r.cfg.Rule) != lbARN {
			return r.invalid("rule %s belongs to load balancer %s, not to the Ingress's %s (%s): name a rule of the Ingress's listener", alb.RouteName(r.cfg.Rule), alb.LoadBalancerOf(r.cfg.Rule), lbARN, hostname)
		}
		return nil
	}
	if lbARN == "" {
		return r.invalid("it has no load balancer in its status yet, so its rule cannot be found: wait for the AWS Load Balancer Controller, or name the rule with rule=RULE_ARN")
	}
	ls, err := r.client.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil {
		return fmt.Errorf("albingress: describe the listeners of %s: %w", lbARN, err)
	}
	ours := map[string]bool{}
	for _, tg := range r.cfg.TargetGroups {
		ours[tg] = true
	}
	var found []string
	for _, l := range ls.Listeners {
		rules, err := r.client.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			return fmt.Errorf("albingress: describe the rules of %s: %w", aws.ToString(l.ListenerArn), err)
		}
		for _, rule := range rules.Rules {
			if forwardsTo(rule, ours) {
				found = append(found, aws.ToString(rule.RuleArn))
			}
		}
	}
	switch len(found) {
	case 1:
		r.cfg.Rule = found[0]
		r.notes = append(r.notes, fmt.Sprintf("rule %s of %s forwards to the clusters' target groups", alb.RouteName(found[0]), hostname))
		return nil
	case 0:
		return r.invalid("no rule of its load balancer %s forwards to %s: check the target group ARNs", hostname, strings.Join(slices.Sorted(maps.Values(r.cfg.TargetGroups)), ", "))
	}
	return r.invalid("%d rules of its load balancer forward to the clusters' target groups: name one with rule=RULE_ARN", len(found))
}

func forwardsTo(rule elbtypes.Rule, tgs map[string]bool) bool {
	for _, a := range rule.Actions {
		if a.ForwardConfig == nil {
			continue
		}
		for _, t := range a.ForwardConfig.TargetGroups {
			if tgs[aws.ToString(t.TargetGroupArn)] {
				return true
			}
		}
	}
	return false
}

// TTL implements traffic.Router: a load balancer takes effect at once.
func (r *Router) TTL(context.Context) time.Duration { return 0 }

// RefusesAllZero implements traffic.AllZeroRefuser: a forward action with
// every weight 0 serves nothing.
func (r *Router) RefusesAllZero() bool { return true }

// Observe implements traffic.Router: the weights the ALB rule has now (what
// the controller applied, not what the annotation asks).
func (r *Router) Observe(ctx context.Context) (traffic.Weights, error) {
	w, err := r.rule.Observe(ctx)
	if err != nil {
		return nil, err
	}
	return traffic.Weights{r.route: w[alb.RouteName(r.cfg.Rule)]}, nil
}

// SetWeights implements traffic.Router: it writes the weights into the
// action annotation's forward config and leaves the rest of the action (its
// stickiness, other target groups at 0, fields tandem does not know) as it
// is; the controller applies it to the rule.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	if err := w.ValidateFor("albingress", r.route, r.cfg.TargetGroups); err != nil {
		return err
	}
	ing, err := r.ingress(ctx)
	if err != nil {
		return err
	}
	key := ActionPrefix + r.cfg.Action
	action := map[string]any{"type": "forward"}
	if v := ing.Annotations[key]; v != "" {
		if err := json.Unmarshal([]byte(v), &action); err != nil {
			return r.invalid("annotation %s is not JSON: %v", key, err)
		}
	}
	updated, err := r.withWeights(action, w[r.route])
	if err != nil {
		return err
	}
	value, _ := json.Marshal(updated)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: string(value)}}})
	if _, err := r.conn.Typed.NetworkingV1().Ingresses(r.cfg.Namespace).Patch(ctx, r.cfg.Ingress, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: plan.FieldManager}); err != nil {
		return fmt.Errorf("albingress: annotate Ingress %s/%s in %s: %w", r.cfg.Namespace, r.cfg.Ingress, r.cfg.Context, err)
	}
	return nil
}

// withWeights is the action with the clusters' target groups at w in its
// forwardConfig (the controller's JSON: targetGroupARN, serviceName,
// servicePort, weight), every other field kept.
func (r *Router) withWeights(action map[string]any, w map[string]int) (map[string]any, error) {
	if t, _ := action["type"].(string); t != "forward" {
		return nil, r.invalid("action %s is of type %q, not forward: tandem only changes the weights of a forward action", r.cfg.Action, t)
	}
	fc, _ := action["forwardConfig"].(map[string]any)
	if fc == nil {
		fc = map[string]any{}
	}
	if tg, ok := action["targetGroupARN"].(string); ok && tg != "" {
		// The short form (one target group) becomes a forward config.
		fc["targetGroups"] = []any{map[string]any{"targetGroupARN": tg, "weight": 1}}
		delete(action, "targetGroupARN")
	}
	cluster := map[string]string{}
	for c, tg := range r.cfg.TargetGroups {
		cluster[tg] = c
	}
	groups, _ := fc["targetGroups"].([]any)
	seen := map[string]bool{}
	for _, g := range groups {
		m, ok := g.(map[string]any)
		if !ok {
			return nil, r.invalid("action %s: forwardConfig.targetGroups holds %v, not objects", r.cfg.Action, g)
		}
		arn, _ := m["targetGroupARN"].(string)
		c, ours := cluster[arn]
		switch {
		case ours:
			if v, set := w[c]; set {
				m["weight"] = alb.ToALB(v)
			}
			seen[c] = true
		case weightOf(m) > 0:
			what := arn
			if what == "" {
				what = fmt.Sprintf("service %v", m["serviceName"])
			}
			return nil, r.invalid("action %s also forwards to %s (weight %v), which is no cluster's target group: name its target group ARN for its cluster in the router URL", r.cfg.Action, what, m["weight"])
		}
	}
	for _, c := range slices.Sorted(maps.Keys(r.cfg.TargetGroups)) {
		if !seen[c] {
			groups = append(groups, map[string]any{"targetGroupARN": r.cfg.TargetGroups[c], "weight": alb.ToALB(w[c])})
		}
	}
	fc["targetGroups"] = groups
	action["forwardConfig"] = fc
	return action, nil
}

func weightOf(m map[string]any) float64 {
	switch v := m["weight"].(type) {
	case float64:
		return v
	case int32:
		return float64(v)
	}
	return 0
}

// Verify implements traffic.Router: the ALB rule forwards with w (the
// controller has applied the annotation).
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	return traffic.VerifyByObserve(ctx, r, w)
}

// Verifies implements traffic.Verifier.
func (r *Router) Verifies() string {
	return "the AWS Load Balancer Controller applied the Ingress annotation to the ALB rule"
}

// Lag implements traffic.Lagger: the controller has not applied the
// annotation, and what the rule forwards with instead.
func (r *Router) Lag(ctx context.Context, w traffic.Weights) string {
	got, err := r.Observe(ctx)
	if err != nil {
		return err.Error()
	}
	if w.Covers(got) {
		return ""
	}
	return fmt.Sprintf("the AWS Load Balancer Controller of %s has not applied Ingress %s/%s's action %s: rule %s forwards %s", r.cfg.Context, r.cfg.Namespace, r.cfg.Ingress, r.cfg.Action, alb.RouteName(r.cfg.Rule), got)
}
