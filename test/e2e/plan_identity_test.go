package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/preflight"
)

// A ServiceAccount that signs in to AWS IAM with its token (IRSA) is
// flagged when the target's tokens would not be trusted: the lab's clusters
// both name the issuer https://kubernetes.default.svc but sign with keys of
// their own, as read from each apiserver's OIDC discovery.
func TestPlanIdentityComparesTokenIssuers(t *testing.T) {
	const ns = "e2e-identity"
	cleanup := func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
	}
	cleanup()
	t.Cleanup(cleanup)

	// The premise, from the clusters themselves.
	var docs [2]struct {
		Issuer string `json:"issuer"`
	}
	var keys [2]string
	for i, c := range []string{"blue", "green"} {
		if err := json.Unmarshal([]byte(mustKubectl(t, "--context", c, "get", "--raw", "/.well-known/openid-configuration")), &docs[i]); err != nil {
			t.Fatal(err)
		}
		keys[i] = mustKubectl(t, "--context", c, "get", "--raw", "/openid/v1/jwks")
	}
	if docs[0].Issuer == "" || docs[0].Issuer != docs[1].Issuer || keys[0] == keys[1] {
		t.Fatalf("lab premise: issuers %q and %q, same keys %v; want one issuer, keys of each cluster's own", docs[0].Issuer, docs[1].Issuer, keys[0] == keys[1])
	}

	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	kubectlCreate(t, "blue", `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"app","namespace":"`+ns+`",
"annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::111122223333:role/e2e-app"}}}`)
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "serviceaccount", "plain")

	r := tandem(t, "plan", "--source", "blue", "--target", "green", "--only", "identity", "-o", "json")
	var rep preflight.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
		t.Fatalf("plan --only identity: exit %d (want 0: warnings only), %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	fs := planFind(&rep, "identity", "ServiceAccount "+ns+"/", "")
	if len(fs) != 1 || fs[0].Object != "ServiceAccount "+ns+"/app" || fs[0].Severity != preflight.Warning {
		t.Fatalf("identity findings in %s: %+v; want one warning on ServiceAccount %s/app (not on the plain one)", ns, fs, ns)
	}
	for _, want := range []string{"arn:aws:iam::111122223333:role/e2e-app", "IRSA", "both clusters issue tokens as " + docs[0].Issuer, "keys the source does not publish"} {
		if !strings.Contains(fs[0].Message, want) {
			t.Errorf("message %q does not say %q", fs[0].Message, want)
		}
	}
	if !strings.Contains(fs[0].Fix, "system:serviceaccount:"+ns+":app") || !strings.HasPrefix(fs[0].Fix, "publish the target's signing keys") {
		t.Errorf("fix %q: want the keys published at the shared issuer (or an issuer of its own), and the subject the trust policy must allow", fs[0].Fix)
	}
}
