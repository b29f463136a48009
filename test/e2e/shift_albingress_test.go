package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/albingress"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

// albLab is one ALB in the lab's AWS endpoint, made with the ordinary ELBv2
// calls: two target groups, a listener, a weighted rule.
type albLab struct {
	client               *elb.Client
	lb, dns, rule        string
	blueTG, greenTG, tgX string
	otherRule            string // a rule of another ALB
}

func newALBLab(t *testing.T, name string) albLab {
	t.Helper()
	if lab.aws == "" {
		t.Fatal("the lab has no AWS endpoint (TANDEM_LAB_AWS): lab up starts one")
	}
	ctx := context.Background()
	c := elb.New(elb.Options{Region: "eu-west-1", BaseEndpoint: aws.String(lab.aws),
		Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", "")})
	a := albLab{client: c}
	mkLB := func(n string) (string, string, string) {
		lb, err := c.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(n), Subnets: []string{"subnet-a", "subnet-b"}})
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), aws.ToString(lb.LoadBalancers[0].DNSName), aws.ToString(l.Listeners[0].ListenerArn)
	}
	tg := func(n string) string {
		out, err := c.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(n), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
			VpcId: aws.String("vpc-e2e"), TargetType: elbtypes.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	rule := func(listener, prio string, tgs ...string) string {
		fc := &elbtypes.ForwardActionConfig{}
		for i, g := range tgs {
			fc.TargetGroups = append(fc.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(g), Weight: aws.Int32(int32(999 * (1 - min(i, 1))))})
		}
		var p int32
		fmt.Sscan(prio, &p)
		out, err := c.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listener), Priority: aws.Int32(p),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), Values: []string{"app.example"}}},
			Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: fc}}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Rules[0].RuleArn)
	}
	var listener, otherListener string
	a.lb, a.dns, listener = mkLB(name)
	_, _, otherListener = mkLB(name + "-other")
	a.blueTG, a.greenTG, a.tgX = tg(name+"-blue"), tg(name+"-green"), tg(name+"-x")
	a.rule = rule(listener, "10", a.blueTG)
	a.otherRule = rule(otherListener, "10", a.tgX)
	return a
}

// playController does what the AWS Load Balancer Controller does with the
// Ingress's action annotation: it puts the forward config into the rule,
// after delay. It runs until stop.
func (a albLab) playController(t *testing.T, conn *cluster.Conn, ns, ing, action string, delay time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		applied := ""
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			o, err := conn.Typed.NetworkingV1().Ingresses(ns).Get(ctx, ing, metav1.GetOptions{})
			if err != nil {
				continue
			}
			v := o.Annotations[albingress.ActionPrefix+action]
			if v == "" || v == applied {
				continue
			}
			var spec struct {
				ForwardConfig struct {
					TargetGroups []struct {
						ARN    string `json:"targetGroupARN"`
						Weight int32  `json:"weight"`
					} `json:"targetGroups"`
				} `json:"forwardConfig"`
			}
			if err := json.Unmarshal([]byte(v), &spec); err != nil {
				t.Errorf("the controller cannot read %s: %v", v, err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			fc := &elbtypes.ForwardActionConfig{}
			for _, g := range spec.ForwardConfig.TargetGroups {
				fc.TargetGroups = append(fc.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(g.ARN), Weight: aws.Int32(g.Weight)})
			}
			if _, err := a.client.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(a.rule), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: fc}}}); err != nil {
				if ctx.Err() == nil {
					t.Errorf("the controller's ModifyRule: %v", err)
				}
				return
			}
			applied = v
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func (a albLab) weights(t *testing.T) map[string]int32 {
	t.Helper()
	out, err := a.client.DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{a.rule}})
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]int32{}
	for _, g := range out.Rules[0].Actions[0].ForwardConfig.TargetGroups {
		switch aws.ToString(g.TargetGroupArn) {
		case a.blueTG:
			w["blue"] = aws.ToInt32(g.Weight)
		case a.greenTG:
			w["green"] = aws.ToInt32(g.Weight)
		}
	}
	return w
}

const tgbCRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"targetgroupbindings.elbv2.k8s.aws"},
"spec":{"group":"elbv2.k8s.aws","scope":"Namespaced","names":{"kind":"TargetGroupBinding","plural":"targetgroupbindings","singular":"targetgroupbinding"},
"versions":[{"name":"v1beta1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`

// The AWS Load Balancer Controller's way (seed 002: one ALB, two target
// groups, a weighted rule): tandem writes the Ingress's action annotation,
// the controller (played by the test) applies it, Verify reads the rule.
func TestShiftALBIngress(t *testing.T) {
	a := newALBLab(t, "albi")
	const ns = "albi"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			kubectl(t, "--context", c, "delete", "namespace", ns, "--wait=false")
		}
	})
	for _, c := range []string{"blue", "green"} {
		kubectl(t, "--context", c, "create", "namespace", ns)
		if r := kubectl(t, "--context", c, "get", "crd", "targetgroupbindings.elbv2.k8s.aws"); r.code != 0 {
			kubectlCreate(t, c, tgbCRD)
		}
		mustKubectl(t, "--context", c, "wait", "--for=condition=Established", "crd/targetgroupbindings.elbv2.k8s.aws", "--timeout=60s")
		kubectlCreate(t, c, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"`+ns+`"},"spec":{"ports":[{"port":80}],"selector":{"app":"web"}}}`)
		tg := map[string]string{"blue": a.blueTG, "green": a.greenTG}[c]
		// The binding may be refused for a moment while the new CRD is published.
		doc := `{"apiVersion":"elbv2.k8s.aws/v1beta1","kind":"TargetGroupBinding","metadata":{"name":"web","namespace":"` + ns + `"},"spec":{"targetGroupARN":"` + tg + `","serviceRef":{"name":"web","port":80}}}`
		deadline := time.Now().Add(30 * time.Second)
		for {
			f := filepath.Join(t.TempDir(), "tgb.json")
			if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := kubectl(t, "--context", c, "create", "-f", f); r.code == 0 || time.Now().After(deadline) {
				if r.code != 0 {
					t.Fatalf("TargetGroupBinding in %s: %s", c, r.stderr)
				}
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	action := `{"type":"forward","forwardConfig":{"targetGroups":[{"targetGroupARN":"` + a.blueTG + `","weight":999}],"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":300}}}`
	ing := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "web", "namespace": ns, "annotations": map[string]string{albingress.ActionPrefix + "split": action}},
		"spec": map[string]any{"ingressClassName": "alb", "rules": []any{map[string]any{"host": "albi.example", "http": map[string]any{"paths": []any{
			map[string]any{"path": "/", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": "split", "port": map[string]any{"name": "use-annotation"}}}}}}}}}}
	doc, _ := json.Marshal(ing)
	kubectlCreate(t, "blue", string(doc))
	// The controller's other part: the Ingress's status names its ALB.
	mustKubectl(t, "--context", "blue", "-n", ns, "patch", "ingress", "web", "--subresource=status", "--type=merge",
		"-p", `{"status":{"loadBalancer":{"ingress":[{"hostname":"`+a.dns+`"}]}}}`)

	conn, err := cluster.Connect(lab.kubeconfig, "blue")
	if err != nil {
		t.Fatal(err)
	}
	router := "albingress://" + ns + "/web?context=blue&blue=" + a.blueTG + "&green=" + a.greenTG + "&endpoint=" + lab.aws
	jdir := t.TempDir()

	t.Run("without the controller the step is not verified and rolls back", func(t *testing.T) {
		r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50", "--pause", "0s", "--verify-timeout", "3s", "--journal-dir", jdir)
		if r.code != 1 || !strings.Contains(r.stderr, "has not applied") {
			t.Fatalf("shift with no controller: exit %d, want 1 naming the controller\n%s", r.code, r.stderr)
		}
		if w := a.weights(t); w["blue"] != 999 || w["green"] != 0 {
			t.Fatalf("the rule changed with no controller: %v", w)
		}
	})

	t.Run("with the controller each step holds once applied", func(t *testing.T) {
		stop := a.playController(t, conn, ns, "web", "split", 2*time.Second)
		defer stop()
		r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50,100", "--pause", "0s", "--journal-dir", jdir)
		if r.code != 0 {
			t.Fatalf("shift: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "target group albi-blue is bound by TargetGroupBinding albi/web") {
			t.Errorf("the preflight did not check the TargetGroupBindings:\n%s", r.stderr)
		}
		if w := a.weights(t); w["blue"] != 0 || w["green"] != 999 {
			t.Fatalf("the rule after 50,100: %v", w)
		}
		got, err := conn.Typed.NetworkingV1().Ingresses(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v := got.Annotations[albingress.ActionPrefix+"split"]; !strings.Contains(v, `"durationSeconds":300`) {
			t.Fatalf("the action lost its stickiness: %s", v)
		}
		// Back to blue, for the conformance suite.
		mustTandem(t, "shift", "--router", router, "--from", "green", "--to", "blue", "--steps", "100", "--pause", "0s", "--journal-dir", jdir)
	})

	t.Run("conformance", func(t *testing.T) {
		stop := a.playController(t, conn, ns, "web", "split", 0)
		defer stop()
		connect := func(name string) (*cluster.Conn, error) { return cluster.Connect(lab.kubeconfig, name) }
		cfg, err := albingress.ParseURL(router)
		if err != nil {
			t.Fatal(err)
		}
		providertest.Run(t, func(t *testing.T) traffic.Router {
			r, err := albingress.NewWithClient(context.Background(), cfg, connect, a.client)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, []string{"ingress/" + ns + "/web"}, []string{"blue", "green"})
	})

	t.Run("bad input: one line, exit 2", func(t *testing.T) {
		for _, c := range []struct{ router, want string }{
			{"albingress://" + ns + "/web?context=blue&blue=" + a.blueTG + "&green=" + a.greenTG + "&rule=" + a.otherRule + "&endpoint=" + lab.aws, "belongs to load balancer"},
			{"albingress://" + ns + "/web?context=blue&blue=" + a.blueTG + "&green=" + a.tgX + "&endpoint=" + lab.aws, "bound by no TargetGroupBinding"},
			{"albingress://" + ns + "/web?context=blue&blue=" + a.greenTG + "&green=" + a.blueTG + "&endpoint=" + lab.aws, "swapped"},
			{"albingress://" + ns + "/nope?context=blue&blue=" + a.blueTG + "&green=" + a.greenTG + "&endpoint=" + lab.aws, "not found"},
		} {
			r := tandem(t, "shift", "--router", c.router, "--from", "blue", "--to", "green", "--steps", "50", "--journal-dir", jdir)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("%s: exit %d, want 2 with one line naming %q:\n%s", c.router, r.code, c.want, r.stderr)
			}
		}
		// blue's binding copied into green: green's pods would join blue's
		// target group, whatever the weights say.
		kubectlCreate(t, "green", `{"apiVersion":"elbv2.k8s.aws/v1beta1","kind":"TargetGroupBinding","metadata":{"name":"copied","namespace":"`+ns+`"},"spec":{"targetGroupARN":"`+a.blueTG+`","serviceRef":{"name":"web","port":80}}}`)
		defer mustKubectl(t, "--context", "green", "-n", ns, "delete", "targetgroupbinding", "copied")
		r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50", "--journal-dir", jdir)
		if r.code != 2 || !strings.Contains(r.stderr, "is bound in green too (green (TargetGroupBinding "+ns+"/copied))") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("a target group bound in both clusters: exit %d, want 2 with one line naming green's binding:\n%s", r.code, r.stderr)
		}
	})
}
