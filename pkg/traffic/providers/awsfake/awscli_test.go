package awsfake_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tandem-io/tandem/internal/awstest"
	"github.com/tandem-io/tandem/pkg/traffic/providers/awsfake"
)

// The fakes are judged by AWS's own client: the AWS CLI (Debian's awscli,
// which `make test` installs) pointed at them with --endpoint-url. A shape
// the real service would not send or accept shows here.

func awsCLI(t *testing.T, url string, args ...string) (string, string, int) {
	t.Helper()
	return awstest.CLI(t, url, args...)
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

func TestRoute53ThroughTheAWSCLI(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	fake.AddZone("Z1")
	ttl := int64(60)
	fake.PutRecord("Z1", awsfake.RecordSet{Name: "app.example.com", Type: "A", TTL: &ttl, Values: []string{"192.0.2.10"}})
	alias := func(id string, w int) map[string]any {
		return map[string]any{"Name": "app.example.com", "Type": "A", "SetIdentifier": id, "Weight": w,
			"AliasTarget": map[string]any{"HostedZoneId": "Z32O12XQLNTSW2", "DNSName": id + "-1.eu-west-1.elb.amazonaws.com", "EvaluateTargetHealth": true}}
	}
	change := func(changes ...map[string]any) (string, string, int) {
		return awsCLI(t, fake.URL, "route53", "change-resource-record-sets", "--hosted-zone-id", "Z1",
			"--change-batch", writeJSON(t, map[string]any{"Changes": changes}))
	}
	// A weighted record beside a simple one of the same name: refused.
	if _, stderr, code := change(map[string]any{"Action": "UPSERT", "ResourceRecordSet": alias("blue", 255)}); code == 0 || !strings.Contains(stderr, "InvalidChangeBatch") {
		t.Fatalf("weighted beside simple: exit %d %s", code, stderr)
	}
	// An alias with a TTL: refused.
	bad := alias("blue", 255)
	bad["TTL"] = 60
	if _, stderr, code := change(map[string]any{"Action": "UPSERT", "ResourceRecordSet": bad}); code == 0 || !strings.Contains(stderr, "InvalidInput") {
		t.Fatalf("alias with a TTL: exit %d %s", code, stderr)
	}
	// The simple record becomes a weighted alias set in one batch.
	out, stderr, code := change(
		map[string]any{"Action": "DELETE", "ResourceRecordSet": map[string]any{"Name": "app.example.com", "Type": "A", "TTL": 60, "ResourceRecords": []any{map[string]any{"Value": "192.0.2.10"}}}},
		map[string]any{"Action": "CREATE", "ResourceRecordSet": alias("blue", 255)},
		map[string]any{"Action": "CREATE", "ResourceRecordSet": alias("green", 0)})
	if code != 0 {
		t.Fatalf("convert to a weighted alias set: exit %d %s", code, stderr)
	}
	var ch struct{ ChangeInfo struct{ Id, Status string } }
	if err := json.Unmarshal([]byte(out), &ch); err != nil || ch.ChangeInfo.Status != "PENDING" {
		t.Fatalf("change answer %q: %v", out, err)
	}
	if out, stderr, code := awsCLI(t, fake.URL, "route53", "get-change", "--id", ch.ChangeInfo.Id); code != 0 || !strings.Contains(out, `"Status"`) {
		t.Fatalf("get-change: exit %d %s %s", code, out, stderr)
	}
	// Records of one weighted set with different TTLs: refused.
	for i, ttl := range []int{60, 300} {
		rec := map[string]any{"Name": "api.example.com", "Type": "A", "SetIdentifier": fmt.Sprint(i), "Weight": 1, "TTL": ttl, "ResourceRecords": []any{map[string]any{"Value": "192.0.2.1"}}}
		_, stderr, code := change(map[string]any{"Action": "CREATE", "ResourceRecordSet": rec})
		if (i == 0) != (code == 0) {
			t.Fatalf("weighted record %d with TTL %d: exit %d %s", i, ttl, code, stderr)
		}
	}
	// 320 more records: the CLI's own paginator walks NextRecordName/NextRecordType.
	var many []map[string]any
	for i := 0; i < 320; i++ {
		many = append(many, map[string]any{"Action": "CREATE", "ResourceRecordSet": map[string]any{"Name": fmt.Sprintf("h%03d.example.com", i), "Type": "A", "TTL": 60,
			"ResourceRecords": []any{map[string]any{"Value": "192.0.2.1"}}}})
	}
	if _, stderr, code := change(many...); code != 0 {
		t.Fatalf("320 records: exit %d %s", code, stderr)
	}
	out, stderr, code = awsCLI(t, fake.URL, "route53", "list-resource-record-sets", "--hosted-zone-id", "Z1")
	if code != 0 {
		t.Fatalf("list: exit %d %s", code, stderr)
	}
	var list struct{ ResourceRecordSets []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if n := len(list.ResourceRecordSets); n != 323 {
		t.Fatalf("the CLI listed %d record sets across pages, want 323", n)
	}
	for _, rs := range list.ResourceRecordSets {
		if rs["Name"] == "app.example.com." {
			at, _ := rs["AliasTarget"].(map[string]any)
			if at == nil || at["EvaluateTargetHealth"] != true || rs["TTL"] != nil || rs["ResourceRecords"] != nil {
				t.Errorf("alias record as the CLI reads it: %v", rs)
			}
		}
	}
}

func TestELBv2ThroughTheAWSCLI(t *testing.T) {
	fake := awsfake.New()
	defer fake.Close()
	const (
		rule    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
		defRule = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/0000000000000001"
		blueTG  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/73e2d6bc24d8a067"
		greenTG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/1a2b3c4d5e6f7a8b"
	)
	oidc := &types.AuthenticateOidcActionConfig{Issuer: aws.String("https://idp.example.com"), AuthorizationEndpoint: aws.String("https://idp.example.com/a"),
		TokenEndpoint: aws.String("https://idp.example.com/t"), UserInfoEndpoint: aws.String("https://idp.example.com/u"), ClientId: aws.String("shop"), ClientSecret: aws.String("s3cret")}
	forward := &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(blueTG), Weight: aws.Int32(999)}, {TargetGroupArn: aws.String(greenTG), Weight: aws.Int32(0)}},
		TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(3600)}}
	for _, r := range []awsfake.Rule{
		{Arn: rule, Tags: map[string]string{"team": "shop"}, Actions: []types.Action{
			{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1), AuthenticateOidcConfig: oidc},
			{Type: types.ActionTypeEnumForward, Order: aws.Int32(2), ForwardConfig: forward}}},
		{Arn: defRule, IsDefault: true, Actions: []types.Action{{Type: types.ActionTypeEnumForward, Order: aws.Int32(1), ForwardConfig: forward}}},
	} {
		fake.AddRuleWithActions(r)
	}
	out, stderr, code := awsCLI(t, fake.URL, "elbv2", "describe-rules", "--rule-arns", rule)
	if code != 0 {
		t.Fatalf("describe-rules: exit %d %s", code, stderr)
	}
	var desc struct {
		Rules []struct {
			Actions []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &desc); err != nil || len(desc.Rules) != 1 || len(desc.Rules[0].Actions) != 2 {
		t.Fatalf("describe-rules answer %s: %v", out, err)
	}
	if strings.Contains(out, "s3cret") || !strings.Contains(out, `"DurationSeconds": 3600`) {
		t.Fatalf("describe-rules shows the client secret or loses stickiness:\n%s", out)
	}
	// Sent back as read, with UseExistingClientSecret: accepted; without the secret: refused.
	actions := desc.Rules[0].Actions
	actions[0]["AuthenticateOidcConfig"].(map[string]any)["UseExistingClientSecret"] = true
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "modify-rule", "--rule-arn", rule, "--actions", writeJSON(t, actions)); code != 0 {
		t.Fatalf("modify-rule keeping the secret: exit %d %s", code, stderr)
	}
	delete(actions[0]["AuthenticateOidcConfig"].(map[string]any), "UseExistingClientSecret")
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "modify-rule", "--rule-arn", rule, "--actions", writeJSON(t, actions)); code == 0 || !strings.Contains(stderr, "ClientSecret") {
		t.Fatalf("modify-rule without the secret: exit %d %s", code, stderr)
	}
	// The default rule: ModifyRule refused, ModifyListener accepted.
	fwd := []map[string]any{{"Type": "forward", "ForwardConfig": map[string]any{"TargetGroups": []any{map[string]any{"TargetGroupArn": greenTG, "Weight": 1}}}}}
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "modify-rule", "--rule-arn", defRule, "--actions", writeJSON(t, fwd)); code == 0 || !strings.Contains(stderr, "OperationNotPermitted") {
		t.Fatalf("modify-rule on the default rule: exit %d %s", code, stderr)
	}
	listener := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "modify-listener", "--listener-arn", listener, "--default-actions", writeJSON(t, fwd)); code != 0 {
		t.Fatalf("modify-listener: exit %d %s", code, stderr)
	}
	if out, stderr, code := awsCLI(t, fake.URL, "elbv2", "describe-tags", "--resource-arns", rule); code != 0 || !strings.Contains(out, `"team"`) {
		t.Fatalf("describe-tags: exit %d %s %s", code, out, stderr)
	}
	// A weight out of 0–999: refused with AWS's validation message.
	bad := []map[string]any{{"Type": "forward", "ForwardConfig": map[string]any{"TargetGroups": []any{map[string]any{"TargetGroupArn": greenTG, "Weight": 1000}}}}}
	if _, stderr, code := awsCLI(t, fake.URL, "elbv2", "modify-rule", "--rule-arn", rule, "--actions", writeJSON(t, bad)); code == 0 || !strings.Contains(stderr, "999") {
		t.Fatalf("weight 1000: exit %d %s", code, stderr)
	}
}
