package alb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tandem-io/tandem/pkg/awsconf"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/alb"
	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

const (
	ruleARN  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	blueTG   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"
	greenTG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1a2b3c4d5e6f7a8b"
	routeArg = "rule/9683b2d02a6cabee"
)

func TestWeightMappingRoundTrips(t *testing.T) {
	for w := 0; w <= traffic.MaxWeight; w++ {
		a := alb.ToALB(w)
		if a < 0 || a > alb.MaxWeight || alb.FromALB(a) != w {
			t.Fatalf("%d → %d → %d", w, a, alb.FromALB(a))
		}
	}
}

func newRouter(t *testing.T, fake *awsfake.Server) *alb.Router {
	t.Helper()
	cfg, err := alb.ParseURL("alb://" + ruleARN + "?blue=" + blueTG + "&green=" + greenTG + "&endpoint=" + fake.URL)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Fatalf("region from the ARN: %q", cfg.Region)
	}
	r, err := alb.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) traffic.Router {
		fake := awsfake.New()
		t.Cleanup(fake.Close)
		fake.AddRule(ruleARN, map[string]int64{blueTG: 999, greenTG: 0})
		return newRouter(t, fake)
	}, []string{routeArg}, []string{"blue", "green"})
}

func TestObserveSeesOthersChanges(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddRule(ruleARN, map[string]int64{blueTG: 999, greenTG: 0})
	r := newRouter(t, fake)
	fake.SetRuleWeight(ruleARN, greenTG, 333) // someone changed it in the console
	got, err := r.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got[routeArg]["green"] != 33 || got[routeArg]["blue"] != 100 {
		t.Fatalf("observed %s", got)
	}
}

func TestRefusals(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddRule(ruleARN, map[string]int64{blueTG: 999, greenTG: 0})
	r := newRouter(t, fake)
	for _, w := range []traffic.Weights{
		{routeArg: {"blue": 0, "green": 0}},
		{routeArg: {"blue": 140, "green": 0}},
		{routeArg: {"blue": 50, "purple": 50}},
	} {
		if err := r.SetWeights(context.Background(), w); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("SetWeights(%s) = %v, want invalid", w, err)
		}
	}
	if fake.Calls["ModifyRule"] != 0 {
		t.Fatalf("%d ModifyRule calls for refused weights", fake.Calls["ModifyRule"])
	}
	if _, err := alb.ParseURL("alb://" + ruleARN + "?blue=" + blueTG + "&green=" + greenTG + "&listener=" + alb.ListenerOf(ruleARN)); err != nil {
		t.Errorf("the rule's own listener: %v", err)
	}
	for _, raw := range []string{"alb://", "alb://arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/x?blue=" + blueTG, "alb://" + ruleARN + "?blue=nope&green=" + greenTG, "alb://not-an-arn?blue=" + blueTG + "&green=" + greenTG,
		// a rule of another listener than the one named
		"alb://" + ruleARN + "?blue=" + blueTG + "&green=" + greenTG + "&listener=arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/0000000000000000"} {
		if _, err := alb.ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}

// oidcRule is a rule that logs users in (authenticate-oidc) before it
// forwards, sticky, to blue only.
func oidcRule(arn string, isDefault bool, tags map[string]string) awsfake.Rule {
	return awsfake.Rule{Arn: arn, IsDefault: isDefault, Tags: tags, Actions: []types.Action{
		{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1), AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{
			Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/auth"),
			TokenEndpoint: aws.String("https://idp.example.com/token"), UserInfoEndpoint: aws.String("https://idp.example.com/userinfo"),
			ClientId: aws.String("shop"), ClientSecret: aws.String("s3cret"), OnUnauthenticatedRequest: types.AuthenticateOidcActionConditionalBehaviorEnumAuthenticate}},
		{Type: types.ActionTypeEnumForward, Order: aws.Int32(2), ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String(blueTG), Weight: aws.Int32(999)}, {TargetGroupArn: aws.String(greenTG), Weight: aws.Int32(0)}},
			TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(3600)}}},
	}}
}

// A shift changes the weights and nothing else: the login in front of the
// forward action, the order, the client secret, the stickiness all stay —
// for a rule (ModifyRule) and for a listener's default rule (ModifyListener).
func TestShiftKeepsEveryOtherAction(t *testing.T) {
	for _, isDefault := range []bool{false, true} {
		fake := awsfake.New()
		fake.AddRuleWithActions(oidcRule(ruleARN, isDefault, nil))
		r := newRouter(t, fake)
		for _, g := range []int{0, 50, 100} {
			if err := r.SetWeights(context.Background(), traffic.Weights{routeArg: {"blue": 100 - g, "green": g}}); err != nil {
				t.Fatalf("default %v: shift to %d: %v", isDefault, g, err)
			}
		}
		got := fake.RuleOf(ruleARN)
		if len(got.Actions) != 2 || got.Actions[0].Type != types.ActionTypeEnumAuthenticateOidc || aws.ToInt32(got.Actions[0].Order) != 1 ||
			aws.ToString(got.Actions[0].AuthenticateOidcConfig.ClientSecret) != "s3cret" {
			t.Fatalf("default %v: actions after the shift %+v: want the login kept first, its secret kept", isDefault, got.Actions)
		}
		fc := got.Actions[1].ForwardConfig
		if st := fc.TargetGroupStickinessConfig; st == nil || !aws.ToBool(st.Enabled) || aws.ToInt32(st.DurationSeconds) != 3600 {
			t.Errorf("default %v: stickiness after the shift: %+v", isDefault, st)
		}
		if w, _ := r.Observe(context.Background()); w[routeArg]["green"] != 100 || w[routeArg]["blue"] != 0 {
			t.Errorf("default %v: weights after the shift %v", isDefault, w)
		}
		wantCall := map[bool]string{false: "ModifyRule", true: "ModifyListener"}[isDefault]
		if fake.Calls[wantCall] != 3 || fake.Calls["ModifyRule"]+fake.Calls["ModifyListener"] != 3 {
			t.Errorf("default %v: calls %v, want 3 %s", isDefault, fake.Calls, wantCall)
		}
		fake.Close()
	}
}

// The default rule changes only through ModifyListener, as on AWS.
func TestFakeRefusesModifyRuleOnTheDefaultRule(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddRuleWithActions(oidcRule(ruleARN, true, nil))
	ac, err := awsconf.LoadWith(context.Background(), "eu-west-1", fake.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := elb.NewFromConfig(ac, func(o *elb.Options) { o.BaseEndpoint = aws.String(fake.URL) })
	_, err = client.ModifyRule(context.Background(), &elb.ModifyRuleInput{RuleArn: aws.String(ruleARN), Actions: []types.Action{
		{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(greenTG), Weight: aws.Int32(1)}}}}}})
	if err == nil || !strings.Contains(err.Error(), "OperationNotPermitted") {
		t.Fatalf("ModifyRule on a default rule: %v, want OperationNotPermitted", err)
	}
	// An authenticate-oidc action sent back without its secret and without UseExistingClientSecret is refused.
	rule := oidcRule(ruleARN, false, nil)
	rule.Actions[0].AuthenticateOidcConfig.ClientSecret = nil
	fake.AddRuleWithActions(oidcRule(ruleARN, false, nil))
	if _, err := client.ModifyRule(context.Background(), &elb.ModifyRuleInput{RuleArn: aws.String(ruleARN), Actions: rule.Actions}); err == nil || !strings.Contains(err.Error(), "ClientSecret") {
		t.Fatalf("ModifyRule with an oidc action and no secret: %v, want refused", err)
	}
}

// A rule the AWS Load Balancer Controller manages is refused before any change.
func TestRefusesARuleOfTheLoadBalancerController(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddRuleWithActions(oidcRule(ruleARN, false, map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "shop/web"}))
	r := newRouter(t, fake)
	err := r.SetWeights(context.Background(), traffic.Weights{routeArg: {"blue": 50, "green": 50}})
	if !errors.Is(err, traffic.ErrInvalid) || !strings.Contains(err.Error(), "AWS Load Balancer Controller") || !strings.Contains(err.Error(), "alb.ingress.kubernetes.io/actions") {
		t.Fatalf("shift of a controller's rule: %v, want refused naming the controller and the annotation", err)
	}
	if fake.Calls["ModifyRule"] != 0 {
		t.Fatalf("%d ModifyRule calls on a controller's rule", fake.Calls["ModifyRule"])
	}
}

func TestARNsOfARule(t *testing.T) {
	const rule = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	if got, want := alb.LoadBalancerOf(rule), "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"; got != want {
		t.Errorf("LoadBalancerOf = %s, want %s", got, want)
	}
	if got, want := alb.ListenerOf(rule), "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"; got != want {
		t.Errorf("ListenerOf = %s, want %s", got, want)
	}
}

// The preflight says what target group stickiness does to a shift and to a
// rollback, with its duration; a rule without stickiness has nothing to say.
func TestPreflightNamesStickiness(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddRuleWithActions(oidcRule(ruleARN, false, nil))
	lines, err := newRouter(t, fake).Preflight(context.Background())
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "stickiness of 1h0m0s") || !strings.Contains(lines[0], "rollback") {
		t.Fatalf("preflight of a sticky rule: %q %v, want one line naming the 1h stickiness and the rollback", lines, err)
	}
	plain := awsfake.New()
	defer plain.Close()
	rule := oidcRule(ruleARN, false, nil)
	rule.Actions[1].ForwardConfig.TargetGroupStickinessConfig = nil
	plain.AddRuleWithActions(rule)
	if lines, err := newRouter(t, plain).Preflight(context.Background()); err != nil || len(lines) != 0 {
		t.Fatalf("preflight of a rule without stickiness: %q %v, want nothing", lines, err)
	}
}
