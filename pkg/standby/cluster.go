package standby

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Marker is the ConfigMap that says a cluster is standby.
const (
	MarkerNamespace = sanitize.StateNamespace
	MarkerName      = "standby"
)

// ErrNotStandby is returned by Activate on a cluster without the marker.
var ErrNotStandby = errors.New("not standby")

// ErrNamespace is returned by Deactivate for a named namespace it cannot park.
var ErrNamespace = errors.New("cannot park")

// ChoosePolicy picks the admission policy the cluster can run: a
// MutatingAdmissionPolicy where served (it keeps pipelines that apply
// replicas 3 working, at 0), else a ValidatingAdmissionPolicy that refuses.
func ChoosePolicy(c *cluster.Conn) (kind, version string, err error) {
	var vap string
	for _, v := range []string{"v1", "v1beta1"} {
		list, err := c.Discovery.ServerResourcesForGroupVersion("admissionregistration.k8s.io/" + v)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			switch r.Name {
			case "mutatingadmissionpolicies":
				return Mutating, v, nil
			case "validatingadmissionpolicies":
				if vap == "" {
					vap = v
				}
			}
		}
	}
	if vap == "" {
		return "", "", fmt.Errorf("%w: %s serves neither MutatingAdmissionPolicy nor ValidatingAdmissionPolicy: standby cannot be enforced there", cluster.ErrBadInput, c.Context)
	}
	return Validating, vap, nil
}

// validatingVersion is the ValidatingAdmissionPolicy version c serves, "" if none.
func validatingVersion(c *cluster.Conn) string {
	for _, v := range []string{"v1", "v1beta1"} {
		list, err := c.Discovery.ServerResourcesForGroupVersion("admissionregistration.k8s.io/" + v)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if r.Name == "validatingadmissionpolicies" {
				return v
			}
		}
	}
	return ""
}

func policyGVR(kind, version string) schema.GroupVersionResource {
	res := map[string]string{
		Mutating: "mutatingadmissionpolicies", Mutating + "Binding": "mutatingadmissionpolicybindings",
		Validating: "validatingadmissionpolicies", Validating + "Binding": "validatingadmissionpolicybindings",
	}[kind]
	return schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: version, Resource: res}
}

// Install writes the standby policy and marker, then waits until the
// apiserver enforces it (a server-side dry-run create in a covered namespace
// comes back at 0 replicas, or is refused).
//
// Custom workload kinds with a /scale subresource are found by discovery
// (DiscoverScaleKinds) and held too; warn (may be nil) is told of each that
// cannot be.
func Install(ctx context.Context, c *cluster.Conn, timeout time.Duration, warn func(string)) (kind string, err error) {
	kinds, err := discoverScaleKinds(ctx, c, warn)
	if err != nil {
		return "", err
	}
	return install(ctx, c, timeout, kinds, false, warn)
}

// install is Install with the custom kinds already found; with onlyLabelled
// the policy holds only the namespaces labelled NamespaceLabel=true (Policy).
// warn (may be nil) is told when the policy's enforcement cannot be seen.
func install(ctx context.Context, c *cluster.Conn, timeout time.Duration, kinds ScaleKinds, onlyLabelled bool, warn func(string)) (kind string, err error) {
	kind, version, err := ChoosePolicy(c)
	if err != nil {
		return "", err
	}
	if err := Mark(ctx, c, kind); err != nil {
		return "", err
	}
	vapVersion := version
	if kind != Validating {
		if vapVersion = validatingVersion(c); vapVersion == "" {
			return "", fmt.Errorf("%w: %s serves no ValidatingAdmissionPolicy for the /scale guard", cluster.ErrBadInput, c.Context)
		}
	}
	policies := append(Policy(kind, version, kinds, onlyLabelled), ScalePolicy(vapVersion, kinds, onlyLabelled)...)
	for _, o := range policies {
		version := version
		if strings.HasPrefix(o.GetKind(), Validating) {
			version = vapVersion // the guards that are validating whatever the cluster's kind
		}
		b, _ := json.Marshal(o.Object)
		force := true
		if _, err := c.Dynamic.Resource(policyGVR(o.GetKind(), version)).Patch(ctx, o.GetName(), types.ApplyPatchType, b,
			metav1.PatchOptions{FieldManager: plan.FieldManager, Force: &force}); err != nil {
			return "", fmt.Errorf("install %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return kind, waitEnforced(ctx, c, timeout, kind, warn)
}

// heldWhole says whether c's standby policy is installed and holds every
// namespace (not only the labelled ones): a deactivate naming namespaces
// then leaves it so.
func heldWhole(ctx context.Context, c *cluster.Conn) (bool, error) {
	// The /scale guard's binding: a ValidatingAdmissionPolicy whatever kind
	// holds the workloads, so it is read the same way on every cluster.
	version := validatingVersion(c)
	if version == "" {
		return false, nil
	}
	b, err := c.Dynamic.Resource(policyGVR(Validating+"Binding", version)).Get(ctx, scalePolicy, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: read the standby policy's binding: %w", c.Context, err)
	}
	exprs, _, _ := unstructured.NestedSlice(b.Object, "spec", "matchResources", "namespaceSelector", "matchExpressions")
	for _, e := range exprs {
		if m, ok := e.(map[string]any); ok && m["key"] == NamespaceLabel {
			return false, nil
		}
	}
	return true, nil
}

// Remove deletes tandem's standby policies and bindings, of either kind and any version.
func Remove(ctx context.Context, c *cluster.Conn) error {
	for _, kind := range []string{Mutating, Validating} {
		for _, version := range []string{"v1", "v1beta1"} {
			for _, k := range []string{kind + "Binding", kind} {
				for _, name := range PolicyNames() {
					err := c.Dynamic.Resource(policyGVR(k, version)).Delete(ctx, name, metav1.DeleteOptions{})
					if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
						return fmt.Errorf("remove %s %s: %w", k, name, err)
					}
				}
			}
		}
	}
	return nil
}

// EnsureStateNamespace makes sure tandem's own namespace (MarkerNamespace:
// records, the standby marker, locks, the mirror's lease) is in c. It is
// read first and created only when missing: a create, even of a namespace
// that is there, goes through the cluster's admission webhooks and
// policies on namespaces (Gatekeeper's, Kyverno's), which may refuse it
// (a label the policy wants) or be down (their backend not ready yet, on a
// cluster just activated).
func EnsureStateNamespace(ctx context.Context, c *cluster.Conn) error {
	_, err := c.Typed.CoreV1().Namespaces().Get(ctx, MarkerNamespace, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil
	case !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		// Forbidden to read it, an identity may still create it: try.
		return fmt.Errorf("read namespace %s in %s: %w", MarkerNamespace, c.Context, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: MarkerNamespace}}
	if _, err := c.Typed.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: plan.FieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s in %s: %w", MarkerNamespace, c.Context, err)
	}
	return nil
}

// Mark writes the marker ConfigMap (and its namespace).
func Mark(ctx context.Context, c *cluster.Conn, policy string) error {
	if err := EnsureStateNamespace(ctx, c); err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: MarkerName, Namespace: MarkerNamespace},
		Data:       map[string]string{"policy": policy, "since": time.Now().UTC().Format(time.RFC3339)},
	}
	_, err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Create(ctx, cm, metav1.CreateOptions{FieldManager: plan.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil // keep "since" of the first time
	}
	if err != nil {
		return fmt.Errorf("mark %s standby: %w", c.Context, err)
	}
	return nil
}

// IsStandby reports whether the cluster carries the marker.
func IsStandby(ctx context.Context, c *cluster.Conn) (bool, error) {
	_, err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, MarkerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Unmark removes the marker.
func Unmark(ctx context.Context, c *cluster.Conn) error {
	err := c.Typed.CoreV1().ConfigMaps(MarkerNamespace).Delete(ctx, MarkerName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("unmark %s: %w", c.Context, err)
	}
	return nil
}

// ExemptNamespaces are the namespaces of the clusters labelled
// ExemptLabel=true (nil clusters are skipped). A sync or mirror into a
// standby asks it of the source: what those namespaces hold is copied as
// it is (Decide), and the label comes with the Namespace, so the standby
// policy and Deactivate leave it alone in the target too.
func ExemptNamespaces(ctx context.Context, clusters ...*cluster.Conn) (map[string]bool, error) {
	out := map[string]bool{}
	for _, c := range clusters {
		if c == nil {
			continue
		}
		nss, err := c.Metadata.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).List(ctx, metav1.ListOptions{LabelSelector: ExemptLabel + "=true"})
		if err != nil {
			return nil, fmt.Errorf("%s: list namespaces labelled %s: %w", c.Context, ExemptLabel, err)
		}
		for _, n := range nss.Items {
			out[n.Name] = true
		}
	}
	return out, nil
}
