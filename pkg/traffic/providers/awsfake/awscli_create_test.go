package awsfake_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// cliJSON runs the AWS CLI against the fake, fails the test on a non-zero
// exit and decodes stdout into v.
func cliJSON(t *testing.T, url string, v any, args ...string) {
	t.Helper()
	out, stderr, code := awsCLI(t, url, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d: %s", strings.Join(args[:2], " "), code, stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
}

// TestSetUpThroughTheAWSCLI builds a zone and an ALB with two target groups,
// a listener and a weighted rule with the calls an operator would make, and
// checks what AWS refuses on the way.
func TestSetUpThroughTheAWSCLI(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()

	var zone struct {
		HostedZone    struct{ Id, Name string }
		DelegationSet struct{ NameServers []string }
	}
	cliJSON(t, fake.URL, &zone, "route53", "create-hosted-zone", "--name", "app.example", "--caller-reference", "r1")
	if !strings.HasPrefix(zone.HostedZone.Id, "/hostedzone/Z") || zone.HostedZone.Name != "app.example." || len(zone.DelegationSet.NameServers) != 4 {
		t.Fatalf("create-hosted-zone answered %+v", zone)
	}
	if _, stderr, code := awsCLI(t, fake.URL, "route53", "create-hosted-zone", "--name", "other.example", "--caller-reference", "r1"); code == 0 || !strings.Contains(stderr, "HostedZoneAlreadyExists") {
		t.Fatalf("a reused caller reference: exit %d %s", code, stderr)
	}
	var zones struct{ HostedZones []struct{ Id string } }
	cliJSON(t, fake.URL, &zones, "route53", "list-hosted-zones")
	if len(zones.HostedZones) != 1 || zones.HostedZones[0].Id != zone.HostedZone.Id {
		t.Fatalf("list-hosted-zones answered %+v", zones)
	}
	var sets struct{ ResourceRecordSets []struct{ Type string } }
	cliJSON(t, fake.URL, &sets, "route53", "list-resource-record-sets", "--hosted-zone-id", zone.HostedZone.Id)
	if len(sets.ResourceRecordSets) != 2 {
		t.Fatalf("a new zone holds %+v, want its NS and SOA", sets)
	}

	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "create-load-balancer", "--name", "shop", "--subnets", "subnet-a"); code == 0 || !strings.Contains(stderr, "two subnets") {
		t.Fatalf("an ALB in one subnet: exit %d %s", code, stderr)
	}
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "create-load-balancer", "--name=-shop", "--subnets", "subnet-a", "subnet-b"); code == 0 || !strings.Contains(stderr, "ValidationError") {
		t.Fatalf("a name beginning with a hyphen: exit %d %s", code, stderr)
	}
	var lbs struct {
		LoadBalancers []struct{ LoadBalancerArn, DNSName, CanonicalHostedZoneId string }
	}
	cliJSON(t, fake.URL, &lbs, "elbv2", "create-load-balancer", "--name", "shop", "--subnets", "subnet-a", "subnet-b")
	lb := lbs.LoadBalancers[0]
	if !strings.Contains(lb.LoadBalancerArn, ":eu-west-1:123456789012:loadbalancer/app/shop/") || !strings.HasSuffix(lb.DNSName, ".eu-west-1.elb.amazonaws.com") || lb.CanonicalHostedZoneId != "Z32O12XQLNTSW2" {
		t.Fatalf("create-load-balancer answered %+v", lb)
	}
	tg := map[string]string{}
	for _, c := range []string{"blue", "green"} {
		var out struct {
			TargetGroups []struct{ TargetGroupArn string }
		}
		cliJSON(t, fake.URL, &out, "elbv2", "create-target-group", "--name", "shop-"+c, "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1", "--target-type", "ip")
		tg[c] = out.TargetGroups[0].TargetGroupArn
	}
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "create-target-group", "--name", "shop-x", "--target-type", "ip"); code == 0 || !strings.Contains(stderr, "VPC") {
		t.Fatalf("a target group without protocol, port and VPC: exit %d %s", code, stderr)
	}
	var ls struct {
		Listeners []struct{ ListenerArn string }
	}
	cliJSON(t, fake.URL, &ls, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancerArn, "--protocol", "HTTP", "--port", "80",
		"--default-actions", "Type=fixed-response,FixedResponseConfig={StatusCode=404}")
	listener := ls.Listeners[0].ListenerArn
	actions := `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"` + tg["blue"] + `","Weight":999},{"TargetGroupArn":"` + tg["green"] + `","Weight":0}]}}]`
	var rules struct{ Rules []struct{ RuleArn string } }
	cliJSON(t, fake.URL, &rules, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
		"--conditions", "Field=host-header,Values=app.example", "--actions", actions)
	rule := rules.Rules[0].RuleArn
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "10",
		"--conditions", "Field=path-pattern,Values=/x", "--actions", actions); code == 0 || !strings.Contains(stderr, "PriorityInUse") {
		t.Fatalf("a second rule at priority 10: exit %d %s", code, stderr)
	}
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "create-rule", "--listener-arn", listener, "--priority", "11",
		"--conditions", "Field=path-pattern,Values=/x", "--actions", "Type=forward,TargetGroupArn=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/nope/0123456789abcdef"); code == 0 || !strings.Contains(stderr, "TargetGroupNotFound") {
		t.Fatalf("a rule forwarding to no target group: exit %d %s", code, stderr)
	}
	var all struct {
		Rules []struct {
			RuleArn    string
			IsDefault  bool
			Conditions []struct{ Field string }
		}
	}
	cliJSON(t, fake.URL, &all, "elbv2", "describe-rules", "--listener-arn", listener)
	if len(all.Rules) != 2 {
		t.Fatalf("describe-rules --listener-arn answered %+v, want the rule and the default rule", all)
	}
	for _, r := range all.Rules {
		if r.RuleArn == rule && (len(r.Conditions) != 1 || r.Conditions[0].Field != "host-header") {
			t.Fatalf("the rule lost its condition: %+v", r)
		}
	}
	var tgs struct {
		TargetGroups []struct{ LoadBalancerArns []string }
	}
	cliJSON(t, fake.URL, &tgs, "elbv2", "describe-target-groups", "--target-group-arns", tg["green"])
	if len(tgs.TargetGroups) != 1 || len(tgs.TargetGroups[0].LoadBalancerArns) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != lb.LoadBalancerArn {
		t.Fatalf("describe-target-groups answered %+v, want the ALB its rule forwards from", tgs)
	}
	cliJSON(t, fake.URL, nil, "elbv2", "add-tags", "--resource-arns", rule, "--tags", "Key=ingress.k8s.aws/stack,Value=shop/web")
	var tags struct {
		TagDescriptions []struct{ Tags []struct{ Key, Value string } }
	}
	cliJSON(t, fake.URL, &tags, "elbv2", "describe-tags", "--resource-arns", rule)
	if len(tags.TagDescriptions) != 1 || len(tags.TagDescriptions[0].Tags) != 1 || tags.TagDescriptions[0].Tags[0].Value != "shop/web" {
		t.Fatalf("describe-tags answered %+v", tags)
	}
	var described struct {
		Listeners []struct{ DefaultActions []struct{ Type string } }
	}
	cliJSON(t, fake.URL, &described, "elbv2", "describe-listeners", "--load-balancer-arn", lb.LoadBalancerArn)
	if len(described.Listeners) != 1 || described.Listeners[0].DefaultActions[0].Type != "fixed-response" {
		t.Fatalf("describe-listeners answered %+v", described)
	}
}
