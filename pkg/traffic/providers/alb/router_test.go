package alb_test

import (
	"context"
	"errors"
	"testing"

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
	for _, raw := range []string{"alb://", "alb://arn:aws:elasticloadbalancing:eu-west-1:1:listener-rule/x?blue=" + blueTG, "alb://" + ruleARN + "?blue=nope&green=" + greenTG, "alb://not-an-arn?blue=" + blueTG + "&green=" + greenTG} {
		if _, err := alb.ParseURL(raw); !errors.Is(err, traffic.ErrInvalid) {
			t.Errorf("ParseURL(%q) = %v, want invalid", raw, err)
		}
	}
}
