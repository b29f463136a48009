package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/internal/awstest"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers/externaldns"
	"github.com/tandem-io/tandem/pkg/traffic/providertest"
)

// playExternalDNS publishes what each cluster's Ingress annotations say, as
// each cluster's ExternalDNS would (--policy sync, the GA prefix): a weighted
// A record per cluster with its set identifier and weight. It runs until stop.
func playExternalDNS(t *testing.T, ns, name, host string, ips map[string]string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	client := r53.New(r53.Options{Region: "us-east-1", BaseEndpoint: aws.String(lab.aws), Credentials: credentials.NewStaticCredentialsProvider("e2e", "e2e", "")})
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := map[string]string{}
		for ctx.Err() == nil {
			for c, ip := range ips {
				conn, err := cluster.Connect(lab.kubeconfig, c)
				if err != nil {
					t.Logf("played ExternalDNS of %s: %v", c, err)
					continue
				}
				ing, err := conn.Typed.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					t.Logf("played ExternalDNS of %s: %v", c, err)
					continue
				}
				id, weight := ing.Annotations["external-dns.kubernetes.io/set-identifier"], ing.Annotations["external-dns.kubernetes.io/aws-weight"]
				if id == "" || weight == "" || last[c] == id+"/"+weight {
					continue
				}
				wt, _ := strconv.ParseInt(weight, 10, 64)
				_, err = client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(lab.zone), ChangeBatch: &r53types.ChangeBatch{
					Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
						Name: aws.String(host), Type: r53types.RRTypeA, SetIdentifier: aws.String(id), Weight: aws.Int64(wt), TTL: aws.Int64(1),
						ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(ip)}}}}}}})
				if err != nil {
					t.Logf("played ExternalDNS of %s: %v", c, err)
					continue
				}
				last[c] = id + "/" + weight
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// With verify=route53://ZONE the externaldns router holds a step until the
// weights are published in Route53, and fails naming ExternalDNS when they
// are not.
func TestShiftExternalDNSVerifiesPublishedRecords(t *testing.T) {
	const ns = "e2e-ednsv"
	if lab.zone == "" {
		t.Fatal("the lab has no hosted zone (TANDEM_LAB_ZONE): lab up makes one")
	}
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "create", "namespace", ns)
		ctx := c
		t.Cleanup(func() { kubectl(t, "--context", ctx, "delete", "namespace", ns, "--wait=false") })
		mustKubectl(t, "--context", c, "-n", ns, "create", "ingress", "web", "--rule=ednsv.example/=web:80")
		// The lab's own ExternalDNS leaves an Ingress of another controller alone: this one is the played one's.
		mustKubectl(t, "--context", c, "-n", ns, "annotate", "ingress", "web", "external-dns.kubernetes.io/ttl=1", "external-dns.kubernetes.io/controller=e2e-played")
		kubectlCreate(t, c, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"external-dns","namespace":"`+ns+`"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"external-dns"}},"template":{"metadata":{"labels":{"app":"external-dns"}},
"spec":{"containers":[{"name":"external-dns","image":"registry.k8s.io/external-dns/external-dns:v0.23.0","args":["--source=ingress","--provider=aws","--txt-owner-id=`+c+`"]}]}}}}`)
	}
	router := "externaldns://ingress/" + ns + "/web?clusters=blue,green&verify=route53://" + lab.zone + "&endpoint=" + lab.aws
	jdir := t.TempDir()

	t.Run("nothing publishes: the step fails naming ExternalDNS, and rolls back", func(t *testing.T) {
		r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50", "--pause", "0s", "--verify-timeout", "4s", "--journal-dir", jdir)
		if r.code != 1 || !strings.Contains(r.stderr, "ExternalDNS has not published") {
			t.Fatalf("shift with nothing publishing: exit %d, want 1 naming ExternalDNS\n%s", r.code, r.stderr)
		}
	})

	t.Run("published: each step holds once Route53 has it", func(t *testing.T) {
		stop := playExternalDNS(t, ns, "web", "ednsv.example", map[string]string{"blue": "127.0.10.1", "green": "127.0.10.2"})
		defer stop()
		r := tandem(t, "shift", "--router", router, "--from", "blue", "--to", "green", "--steps", "50,100", "--pause", "0s", "--verify-timeout", "15s", "--journal-dir", jdir)
		if r.code != 0 {
			t.Fatalf("shift: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "ExternalDNS published the weights to Route53") {
			t.Errorf("the progress does not say the records were published:\n%s", r.stderr)
		}
		out, stderr, code := awstest.CLI(t, lab.aws, "route53", "list-resource-record-sets", "--hosted-zone-id", lab.zone, "--query", "ResourceRecordSets[?Name=='ednsv.example.'].[SetIdentifier,Weight]")
		if flat := strings.Join(strings.Fields(out), ""); code != 0 || !strings.Contains(flat, `["green",255]`) || !strings.Contains(flat, `["blue",0]`) {
			t.Fatalf("published records (aws route53 list-resource-record-sets): exit %d\n%s%s", code, out, stderr)
		}
	})
}

// The externaldns Router passes the conformance suite on the lab: the
// weights it sets in both clusters' Ingress annotations are the weights it
// observes and verifies.
func TestShiftExternalDNSConformance(t *testing.T) {
	const ns = "e2e-ednsc"
	for _, c := range []string{"blue", "green"} {
		mustKubectl(t, "--context", c, "create", "namespace", ns)
		ctx := c
		t.Cleanup(func() { kubectl(t, "--context", ctx, "delete", "namespace", ns, "--wait=false") })
		mustKubectl(t, "--context", c, "-n", ns, "create", "ingress", "web", "--rule=ednsc.example/=web:80")
		// The lab's own ExternalDNS leaves an Ingress of another controller alone.
		mustKubectl(t, "--context", c, "-n", ns, "annotate", "ingress", "web", "external-dns.kubernetes.io/controller=e2e-none")
		kubectlCreate(t, c, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"external-dns","namespace":"`+ns+`"},
"spec":{"replicas":0,"selector":{"matchLabels":{"app":"external-dns"}},"template":{"metadata":{"labels":{"app":"external-dns"}},
"spec":{"containers":[{"name":"external-dns","image":"registry.k8s.io/external-dns/external-dns:v0.23.0","args":["--source=ingress","--provider=aws","--txt-owner-id=`+c+`"]}]}}}}`)
	}
	cfg, err := externaldns.ParseURL("externaldns://ingress/" + ns + "/web?clusters=blue,green")
	if err != nil {
		t.Fatal(err)
	}
	connect := func(name string) (*cluster.Conn, error) { return cluster.Connect(lab.kubeconfig, name) }
	providertest.Run(t, func(t *testing.T) traffic.Router {
		r, err := externaldns.New(context.Background(), cfg, connect)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, []string{"ingress/" + ns + "/web"}, []string{"blue", "green"})
}
