package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Identity finds the ServiceAccounts whose pods sign in to a cloud's IAM
// with their Kubernetes token (workload identity federation: AWS IRSA, Azure
// workload identity). The cloud trusts one token issuer, named in the IAM
// role's trust policy or in the federated identity credential, and checks
// each token with the keys that issuer publishes. A target with another
// issuer, or with the same issuer URL but other signing keys, gets tokens
// the cloud refuses: its pods start, pass the smoke tests that make no cloud
// call, and fail at their first one, once traffic has moved.
//
// EKS Pod Identity keeps its associations (a namespace and ServiceAccount
// to a role) in the EKS API, one set per cluster: a source that runs its
// agent is said to need them made for the target too. Not read here: GKE's
// workload identity (its tokens go through the project's pool and the
// node's metadata server, not the cluster's issuer).
type Identity struct{}

// Name is the check's name.
func (Identity) Name() string { return "identity" }

// federation is one kind of workload identity, told by a ServiceAccount's annotation.
type federation struct {
	annotation string
	what       string // what the pods sign in as, before the annotation's value
	via        string
	fix        string // %s: the ServiceAccount's subject
}

var federations = []federation{
	{annotation: "eks.amazonaws.com/role-arn", what: "AWS IAM role", via: "IRSA",
		fix: "before traffic moves, create an IAM OIDC provider for the target's issuer and add it to the role's trust policy (sub %s, aud sts.amazonaws.com); keep the source's while the way back is open"},
	{annotation: "azure.workload.identity/client-id", what: "Azure identity", via: "Azure workload identity",
		fix: "before traffic moves, add a federated identity credential for the target's issuer (subject %s) to this identity; keep the source's while the way back is open"},
}

// federated lists the ServiceAccounts of the namespaces sync copies that
// carry a federation annotation, with it.
func federated(accounts []*unstructured.Unstructured) ([]*unstructured.Unstructured, []federation) {
	var sas []*unstructured.Unstructured
	var feds []federation
	for _, sa := range accounts {
		if plan.SystemNamespace(sa.GetNamespace()) {
			continue // kube-system's add-ons get their roles from whoever installs them in the target
		}
		for _, f := range federations {
			if sa.GetAnnotations()[f.annotation] != "" {
				sas, feds = append(sas, sa), append(feds, f)
				break
			}
		}
	}
	return sas, feds
}

// Scope says what was read.
func (Identity) Scope(env *Env) string {
	sas, _ := federated(env.Of("", "ServiceAccount"))
	return fmt.Sprintf("%d ServiceAccounts federated with a cloud IAM (IRSA, Azure workload identity) against both clusters' token issuers; EKS Pod Identity's agent", len(sas))
}

// Run reads both clusters' token issuers when a ServiceAccount is federated.
func (Identity) Run(ctx context.Context, env *Env) ([]Finding, error) {
	out := podIdentity(env.Of("apps", "DaemonSet"))
	sas, feds := federated(env.Of("", "ServiceAccount"))
	if len(sas) == 0 {
		return out, nil
	}
	source, target := readIssuer(ctx, env.Source), readIssuer(ctx, env.Target)
	return append(out, identityFindings(sas, feds, source, target)...), nil
}

// podIdentityAgent is the DaemonSet of the EKS Pod Identity add-on.
const podIdentityAgent = "eks-pod-identity-agent"

// podIdentity says the source uses EKS Pod Identity when it runs its agent.
func podIdentity(daemonSets []*unstructured.Unstructured) []Finding {
	for _, ds := range daemonSets {
		if ds.GetNamespace() == "kube-system" && ds.GetName() == podIdentityAgent {
			return []Finding{{Severity: Warning, Object: Ref(ds),
				Message: "the source runs EKS Pod Identity: its associations (namespace and ServiceAccount to an IAM role) live in the EKS API, one set per cluster, and sync cannot copy them",
				Fix:     "before traffic moves, install the add-on in the target and make each association for it (aws eks list-pod-identity-associations --cluster-name SOURCE, then aws eks create-pod-identity-association --cluster-name TARGET …)"}}
		}
	}
	return nil
}

// identityFindings is the pure part of Run.
func identityFindings(sas []*unstructured.Unstructured, feds []federation, source, target issuer) []Finding {
	gap, sameIssuer := trustGap(source, target)
	if gap == "" {
		return []Finding{{Severity: Info, Object: "ServiceAccounts",
			Message: fmt.Sprintf("%d federated with a cloud IAM; both clusters issue tokens as %s with the same keys: the cloud trusts the target's as it trusts the source's", len(sas), source.URL)}}
	}
	var out []Finding
	for i, sa := range sas {
		f := feds[i]
		subject := "system:serviceaccount:" + sa.GetNamespace() + ":" + sa.GetName()
		fix := fmt.Sprintf(f.fix, subject)
		if sameIssuer {
			fix = "publish the target's signing keys at the issuer's URL beside the source's, or give the target an issuer of its own and, " + fix
		}
		out = append(out, Finding{Severity: Warning, Object: Ref(sa),
			Message: fmt.Sprintf("signs in to %s %s with its token (%s): %s", f.what, sa.GetAnnotations()[f.annotation], f.via, gap),
			Fix:     fix})
	}
	return out
}

// issuer is what a cluster says of the tokens it issues: the issuer URL and
// the ids of the keys it publishes (its apiserver's OIDC discovery).
type issuer struct {
	URL  string
	Keys []string
	Err  error
}

// readIssuer reads a cluster's OIDC discovery document and its key set
// through its apiserver (/.well-known/openid-configuration, /openid/v1/jwks).
func readIssuer(ctx context.Context, c *cluster.Conn) issuer {
	rc := c.Typed.Discovery().RESTClient()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	raw, err := rc.Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if err == nil {
		err = json.Unmarshal(raw, &doc)
	}
	if err != nil {
		return issuer{Err: fmt.Errorf("read %s's /.well-known/openid-configuration: %w", c.Context, err)}
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	raw, err = rc.Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err == nil {
		err = json.Unmarshal(raw, &jwks)
	}
	if err != nil {
		return issuer{URL: doc.Issuer, Err: fmt.Errorf("read %s's /openid/v1/jwks: %w", c.Context, err)}
	}
	is := issuer{URL: doc.Issuer}
	for _, k := range jwks.Keys {
		is.Keys = append(is.Keys, k.Kid)
	}
	sort.Strings(is.Keys)
	return is
}

// trustGap says why the cloud would not trust the target's tokens as it
// trusts the source's ("" when it would: the same issuer, keys the source
// publishes), and whether both clusters name the same issuer.
func trustGap(source, target issuer) (string, bool) {
	switch {
	case source.Err != nil || target.Err != nil:
		err := source.Err
		if err == nil {
			err = target.Err
		}
		return fmt.Sprintf("whether the target's tokens are trusted is unknown (%v); compare `kubectl get --raw /.well-known/openid-configuration` of both clusters", err), false
	case source.URL != target.URL:
		return fmt.Sprintf("the source's pods get tokens of issuer %s, the target's of %s", source.URL, target.URL), false
	}
	for _, k := range target.Keys {
		if !slices.Contains(source.Keys, k) {
			return fmt.Sprintf("both clusters issue tokens as %s, but the target signs them with keys the source does not publish (the cloud checks them with the keys at that issuer's URL)", source.URL), true
		}
	}
	return "", true
}
