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
// (which sync leaves to that controller) never appears. The controller
// loads, from its own namespace only, the Secrets labelled as active
// sealing keys and the one named as before v0.9; in kube-system, where its
// manifest installs it, sync does not copy them. Only the certificates
// (public) are compared, by digest; no key is read out or printed.
type Keys struct{}

// Name is the check's name.
func (Keys) Name() string { return "keys" }

// sealing is one kind of object that a controller decrypts with keys it
// keeps in Secrets of its own namespace.
type sealing struct {
	group, kind string
	// selector picks its key Secrets; legacy names the one it also reads
	// without the label.
	selector, legacy string
	cert             string // the key Secret's data key holding the public certificate
	image            string // in the image of the controller's container
	what             string
	fix              string // %[1]s: the source's keys' namespace, %[2]s: the target controller's
}

// The keys' label, the legacy name and the namespace:
// https://github.com/bitnami-labs/sealed-secrets/blob/main/pkg/controller/main.go
// (SealedSecretsKeyLabel, "active"; the pre-v0.9 key), and the README's
// "How can I do a backup of my SealedSecrets?".
var sealings = []sealing{
	{group: "bitnami.com", kind: "SealedSecret", selector: "sealedsecrets.bitnami.com/sealed-secrets-key=active", legacy: "sealed-secrets-key",
		cert: "tls.crt", image: "sealed-secrets-controller", what: "sealed-secrets controller",
		fix: "before the target's controller opens them, copy the keys into its namespace %[2]s: kubectl get secret -n %[1]s -l sealedsecrets.bitnami.com/sealed-secrets-key=active -o yaml, " +
			"applied to the target with namespace %[2]s and without uid and resourceVersion; then restart that controller (it loads its keys when it starts)"},
}

// Scope says what was read.
func (Keys) Scope(env *Env) string {
	n := 0
	for _, s := range sealings {
		n += env.Seen.Copied(s.group, s.kind)
	}
	return fmt.Sprintf("%d sealed objects (SealedSecrets) against the sealing keys both clusters' controllers load", n)
}

// key is one sealing key Secret: where it is and its certificate's digest.
type key struct {
	namespace, name string
	cert            [sha256.Size]byte
}

// readKeys lists the key Secrets of s in c, with the digest of each one's certificate.
func readKeys(ctx context.Context, c *cluster.Conn, s sealing) ([]key, error) {
	var out []key
	for _, opts := range []metav1.ListOptions{{LabelSelector: s.selector}, {FieldSelector: "metadata.name=" + s.legacy}} {
		list, err := c.Typed.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list the sealing keys (%s%s) in %s: %w", opts.LabelSelector, opts.FieldSelector, c.Context, err)
		}
		for _, sec := range list.Items {
			if slices.ContainsFunc(out, func(k key) bool { return k.namespace == sec.Namespace && k.name == sec.Name }) {
				continue // labelled and legacy-named both
			}
			out = append(out, key{namespace: sec.Namespace, name: sec.Name, cert: sha256.Sum256(sec.Data[s.cert])})
		}
	}
	return out, nil
}

// controllerNamespace is the namespace of c's Deployment running the
// controller of s (its image), "" when it runs none.
func controllerNamespace(ctx context.Context, c *cluster.Conn, s sealing) (string, error) {
	list, err := c.Typed.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list Deployments in %s: %w", c.Context, err)
	}
	for _, d := range list.Items {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if strings.Contains(ctr.Image, s.image) {
				return d.Namespace, nil
			}
		}
	}
	return "", nil
}

// Run reads the sealing keys of both clusters when the source has sealed objects to copy.
func (Keys) Run(ctx context.Context, env *Env) ([]Finding, error) {
	var out []Finding
	for _, s := range sealings {
		n := env.Seen.Copied(s.group, s.kind)
		if n == 0 {
			continue
		}
		source, err := readKeys(ctx, env.Source, s)
		if err != nil {
			return out, err
		}
		// The source's controller loads those of its namespace alone (a
		// backup elsewhere opens nothing there either).
		if ns, err := controllerNamespace(ctx, env.Source, s); err != nil {
			return out, err
		} else if ns != "" {
			source = slices.DeleteFunc(source, func(k key) bool { return k.namespace != ns })
		}
		target, err := readKeys(ctx, env.Target, s)
		if err != nil {
			return out, err
		}
		ns, err := controllerNamespace(ctx, env.Target, s)
		if err != nil {
			return out, err
		}
		out = append(out, keyFindings(s, n, source, target, ns)...)
	}
	return out, nil
}

// keyFindings is the pure part of Run: what the target's controller can
// open of n sealed objects, given the key Secrets of both clusters and the
// namespace the target's controller runs in ("" when it runs none yet: it
// is taken to come where the source's runs, by sync or by its installer).
func keyFindings(s sealing, n int, source, target []key, controller string) []Finding {
	subject := s.kind + "." + s.group
	if len(source) == 0 {
		return []Finding{{Severity: Warning, Object: subject,
			Message: fmt.Sprintf("the source has %d, but no key Secret its %s loads (labelled %s, or named %s): what opens them there is not where that controller keeps it", n, s.what, s.selector, s.legacy),
			Fix:     "find the keys that open them and give them to the target's controller before the sync"}}
	}
	sourceNS := map[string]bool{}
	for _, k := range source {
		sourceNS[k.namespace] = true
	}
	namespaces := slices.Sorted(maps.Keys(sourceNS))
	if controller == "" {
		controller = namespaces[0]
	}
	loaded := map[[sha256.Size]byte]bool{}
	elsewhere := map[[sha256.Size]byte]string{}
	for _, k := range target {
		if k.namespace == controller {
			loaded[k.cert] = true
		} else {
			elsewhere[k.cert] = k.namespace
		}
	}
	var missing, copied, misplaced []string
	for _, k := range source {
		switch {
		case loaded[k.cert]:
		case !plan.SystemNamespace(k.namespace) && k.namespace == controller:
			copied = append(copied, k.namespace+"/"+k.name)
		default:
			missing = append(missing, k.namespace+"/"+k.name)
			if ns, ok := elsewhere[k.cert]; ok {
				misplaced = append(misplaced, fmt.Sprintf("%s/%s's in namespace %s", k.namespace, k.name, ns))
			}
		}
	}
	if len(missing) == 0 {
		msg := fmt.Sprintf("%d to copy; the target's controller (namespace %s) loads each of the source's %d sealing keys", n, controller, len(source))
		if len(copied) > 0 {
			msg = fmt.Sprintf("%d to copy; sync copies the sealing keys %s with their namespace, where the target's controller must run and start after them", n, strings.Join(copied, ", "))
		}
		return []Finding{{Severity: Info, Object: subject, Message: msg}}
	}
	why := "sync does not copy a system namespace"
	if !plan.SystemNamespace(namespaces[0]) {
		why = "the target's controller runs in namespace " + controller + ", and sync copies them into " + strings.Join(namespaces, ", ")
	}
	msg := fmt.Sprintf("the source has %d, sealed for its %s's keys; the target's controller (namespace %s) does not load %s (%s): it cannot open them, and the Secrets they stand for never appear there",
		n, s.what, controller, strings.Join(missing, ", "), why)
	if len(misplaced) > 0 {
		msg += "; the target holds the certificate of " + strings.Join(misplaced, ", ") + ", which its controller does not read"
	}
	return []Finding{{Severity: Error, Object: subject, Message: msg, Fix: fmt.Sprintf(s.fix, namespaces[0], controller)}}
}
