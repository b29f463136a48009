package preflight

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Keys finds the objects sync copies that only a key the source's cluster
// holds can open: a SealedSecret (Bitnami's sealed-secrets) is encrypted
// for the sealing keys of the controller that runs in the source, and the
// target's controller opens it only with those same keys — it makes keys
// of its own at its first start, and the Secret a SealedSecret stands for
// (which sync leaves to that controller) never appears. The keys are
// Secrets of the controller's namespace labelled as sealing keys; in
// kube-system, where its manifest installs it, sync does not copy them.
// Only the certificates (public) are compared, by digest; no key is read
// out or printed.
type Keys struct{}

// Name is the check's name.
func (Keys) Name() string { return "keys" }

// sealing is one kind of object that a controller decrypts with keys it
// keeps in Secrets of its cluster.
type sealing struct {
	group, kind string
	label       string // the label on each key Secret
	cert        string // the key Secret's data key holding the public certificate
	what        string
	fix         string // %s: kubectl's flag for the key Secrets' namespaces
}

var sealings = []sealing{
	{group: "bitnami.com", kind: "SealedSecret", label: "sealedsecrets.bitnami.com/sealed-secrets-key", cert: "tls.crt", what: "sealed-secrets controller",
		// https://github.com/bitnami-labs/sealed-secrets#how-can-i-do-a-backup-of-my-sealedsecrets
		fix: "before the sync, copy the keys into the namespace of the target's controller (kubectl get secret %s -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml, applied to the target without uid and resourceVersion) and restart that controller: it loads its keys when it starts"},
}

// Scope says what was read.
func (Keys) Scope(env *Env) string {
	n := 0
	for _, s := range sealings {
		n += env.Seen.Copied(s.group, s.kind)
	}
	return fmt.Sprintf("%d sealed objects (SealedSecrets) against the sealing keys both clusters hold", n)
}

// key is one sealing key Secret: where it is and its certificate's digest.
type key struct {
	namespace, name string
	cert            [sha256.Size]byte
}

// readKeys lists the Secrets of c labelled label, with the digest of each one's certificate.
func readKeys(ctx context.Context, c *cluster.Conn, label, cert string) ([]key, error) {
	list, err := c.Typed.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: label})
	if err != nil {
		return nil, fmt.Errorf("list the Secrets labelled %s in %s: %w", label, c.Context, err)
	}
	var out []key
	for _, s := range list.Items {
		out = append(out, key{namespace: s.Namespace, name: s.Name, cert: sha256.Sum256(s.Data[cert])})
	}
	return out, nil
}

// Run reads the sealing keys of both clusters when the source has sealed objects to copy.
func (Keys) Run(ctx context.Context, env *Env) ([]Finding, error) {
	var out []Finding
	for _, s := range sealings {
		n := env.Seen.Copied(s.group, s.kind)
		if n == 0 {
			continue
		}
		source, err := readKeys(ctx, env.Source, s.label, s.cert)
		if err != nil {
			return out, err
		}
		target, err := readKeys(ctx, env.Target, s.label, s.cert)
		if err != nil {
			return out, err
		}
		out = append(out, keyFindings(s, n, source, target)...)
	}
	return out, nil
}

// keyFindings is the pure part of Run: what the target's controller can
// open of n sealed objects, given the key Secrets of both clusters.
func keyFindings(s sealing, n int, source, target []key) []Finding {
	subject := s.kind + "." + s.group
	if len(source) == 0 {
		return []Finding{{Severity: Warning, Object: subject,
			Message: fmt.Sprintf("the source has %d, but no Secret labelled %s: the keys that open them in the source are not where the %s keeps them", n, s.label, s.what),
			Fix:     "find the keys that open them and give them to the target's controller before the sync"}}
	}
	held := map[[sha256.Size]byte]bool{}
	for _, k := range target {
		held[k.cert] = true
	}
	var missing, copied []string
	namespaces := map[string]bool{}
	for _, k := range source {
		switch {
		case held[k.cert]:
		case !plan.SystemNamespace(k.namespace):
			copied = append(copied, k.namespace+"/"+k.name)
		default:
			missing = append(missing, k.namespace+"/"+k.name)
			namespaces[k.namespace] = true
		}
	}
	if len(missing) == 0 {
		msg := fmt.Sprintf("%d to copy; the target holds each of the source's %d sealing keys", n, len(source))
		if len(copied) > 0 {
			msg = fmt.Sprintf("%d to copy; sync copies the sealing keys %s with their namespace (the target's controller must run there, and start after them)", n, strings.Join(copied, ", "))
		}
		return []Finding{{Severity: Info, Object: subject, Message: msg}}
	}
	where := "-A"
	if ns := slices.Sorted(maps.Keys(namespaces)); len(ns) == 1 {
		where = "-n " + ns[0]
	}
	return []Finding{{Severity: Error, Object: subject,
		Message: fmt.Sprintf("the source has %d, sealed for its %s's keys; the target does not hold %s, and sync does not copy a system namespace: the target's controller cannot open them, and the Secrets they stand for never appear there",
			n, s.what, strings.Join(missing, ", ")),
		Fix: fmt.Sprintf(s.fix, where)}}
}
