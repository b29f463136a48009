package preflight

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// LastAppliedAnnotation is where `kubectl apply` keeps what it applied.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// HelmReleaseType is the Secret type of Helm v3 releases.
const HelmReleaseType = "helm.sh/release.v1"

// ManagedFieldsUsages returns the group/version each field manager wrote the object with.
func ManagedFieldsUsages(o *unstructured.Unstructured) []Usage {
	var out []Usage
	kind := o.GetKind()
	for _, mf := range o.GetManagedFields() {
		gv, err := schema.ParseGroupVersion(mf.APIVersion)
		if err != nil || mf.APIVersion == "" {
			continue
		}
		manager := mf.Manager
		if mf.Subresource != "" {
			manager += " (" + mf.Subresource + ")"
		}
		out = append(out, Usage{GroupVersion: gv, Kind: kind, Object: Ref(o), Evidence: EvidenceManagedFields, Detail: manager})
	}
	return out
}

// controlPlaneManagers are the field managers of a cluster's own control
// plane. What they write with is the source cluster's own doing, replaced
// by the target's control plane, not a client that moves: green's
// kube-controller-manager publishing ClusterTrustBundles at a version
// blue does not serve says nothing about switching back to blue.
var controlPlaneManagers = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "cloud-controller-manager", "kubelet"}

// ControlPlaneManager says whether a usage's Detail (a field manager, with
// its subresource) is the source's control plane.
func ControlPlaneManager(detail string) bool {
	manager, _, _ := strings.Cut(detail, " (")
	return slices.Contains(controlPlaneManagers, manager)
}

// LastAppliedUsage returns the group/version of the object's last `kubectl apply`.
func LastAppliedUsage(o *unstructured.Unstructured) (Usage, bool) {
	raw, ok := o.GetAnnotations()[LastAppliedAnnotation]
	if !ok {
		return Usage{}, false
	}
	head, ok := lastAppliedHead(raw)
	if !ok {
		return Usage{}, false
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return Usage{}, false
	}
	kind := head.Kind
	if kind == "" {
		kind = o.GetKind()
	}
	return Usage{GroupVersion: gv, Kind: kind, Object: Ref(o), Evidence: EvidenceLastApplied}, true
}

// helmSecrets are the source's Helm v3 release Secrets of deployed releases.
func helmSecrets(env *Env) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, s := range env.Of("", "Secret") {
		t, _, _ := unstructured.NestedString(s.Object, "type")
		if t != HelmReleaseType {
			continue
		}
		// Superseded revisions are history; the deployed one is what the next upgrade starts from.
		if st := s.GetLabels()["status"]; st != "" && st != "deployed" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// HelmSecretUsages decodes a Helm v3 release Secret and returns the
// group/versions its rendered manifest uses. namespaced says whether a kind
// is namespaced (documents without a namespace land in the release's); nil
// treats every kind as namespaced.
func HelmSecretUsages(s *unstructured.Unstructured, namespaced func(schema.GroupKind) bool) ([]Usage, error) {
	data, _, _ := unstructured.NestedString(s.Object, "data", "release")
	if data == "" {
		return nil, fmt.Errorf("no data.release")
	}
	// The API base64-encodes Secret data; Helm's value is itself base64 text.
	helmText, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("data.release: %w", err)
	}
	rel, err := DecodeHelmRelease(string(helmText))
	if err != nil {
		return nil, err
	}
	release := s.GetNamespace() + "/" + rel.Name
	var out []Usage
	for _, d := range ManifestDocs(rel.Manifest) {
		gv, err := schema.ParseGroupVersion(d.APIVersion)
		if err != nil {
			continue
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: d.Kind}
		ns := d.Metadata.Namespace
		if ns == "" && (namespaced == nil || namespaced(gk)) {
			ns = rel.Namespace
		}
		obj := ref(gk, ns, d.Metadata.Name) + " (in " + Ref(s) + ")"
		out = append(out, Usage{GroupVersion: gv, Kind: d.Kind, Object: obj, Evidence: EvidenceHelm, Detail: release})
	}
	return out, nil
}

// HelmRelease is the part of a Helm v3 release this check reads.
type HelmRelease struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   int    `json:"version"`
	Manifest  string `json:"manifest"`
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// DecodeHelmRelease decodes Helm v3's storage format: base64 of gzipped
// JSON (very old releases are not gzipped).
func DecodeHelmRelease(text string) (*HelmRelease, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("helm release: base64: %w", err)
	}
	if bytes.HasPrefix(b, gzipMagic) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("helm release: gzip: %w", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("helm release: gzip: %w", err)
		}
	}
	var rel HelmRelease
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("helm release: json: %w", err)
	}
	return &rel, nil
}

// ManifestDoc is the head of one YAML document of a manifest.
type ManifestDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

// ManifestDocs splits a multi-document YAML manifest and returns the head of
// each document that has an apiVersion and kind.
func ManifestDocs(manifest string) []ManifestDoc {
	var out []ManifestDoc
	for _, part := range docSeparator.Split(manifest, -1) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var d ManifestDoc
		if err := yaml.Unmarshal([]byte(part), &d); err != nil || d.APIVersion == "" || d.Kind == "" {
			continue
		}
		out = append(out, d)
	}
	return out
}

// MetricUsage is one series of apiserver_requested_deprecated_apis.
type MetricUsage struct {
	Group, Version, Resource, Subresource, RemovedRelease string
}

// deprecatedAPIsMetric is the apiserver's gauge of deprecated APIs requested since it started.
const deprecatedAPIsMetric = "apiserver_requested_deprecated_apis"

// ParseDeprecatedMetrics reads the apiserver_requested_deprecated_apis series
// from Prometheus text exposition, in the order they appear. On a parse error
// it returns the series read before it, with the error.
func ParseDeprecatedMetrics(text string) ([]MetricUsage, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		err = fmt.Errorf("parse the apiserver's /metrics: %w", err)
	}
	var out []MetricUsage
	for _, m := range families[deprecatedAPIsMetric].GetMetric() {
		// A value of 0 would mean "not requested"; the gauge is only ever set to 1.
		if m.GetGauge().GetValue() == 0 && m.GetUntyped().GetValue() == 0 {
			continue
		}
		var u MetricUsage
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "group":
				u.Group = l.GetValue()
			case "version":
				u.Version = l.GetValue()
			case "resource":
				u.Resource = l.GetValue()
			case "subresource":
				u.Subresource = l.GetValue()
			case "removed_release":
				u.RemovedRelease = l.GetValue()
			}
		}
		out = append(out, u)
	}
	return out, err
}
