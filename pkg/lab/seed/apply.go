package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// FieldManager is the server-side apply field manager of the seed.
const FieldManager = "tandem-lab-seed"

// EstablishTimeout bounds the wait for the seeded CRDs to be Established.
const EstablishTimeout = 60 * time.Second

// Result lists what Apply did.
type Result struct {
	Applied []string // "Kind namespace/name" per object
	Skipped []string // "apiVersion Kind name: reason" for documents whose API the cluster does not serve
}

// transient backs off over errors that a retry may cure: a CR's endpoint that
// is not served yet right after its CRD was established, an apiserver under
// load.
var transient = wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 6}

// Apply server-side-applies the embedded platform into the cluster (field manager "tandem-lab-seed", force), CRDs first and waits until they are Established (bounded, 60 s), then everything else in file order; it is idempotent. progress, when non-nil, is told one short line per file.
func Apply(ctx context.Context, conn *cluster.Conn, progress func(string)) (Result, error) {
	var res Result
	docs, err := documents()
	if err != nil {
		return res, err
	}
	tell := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
	}

	var crds []document
	for _, group := range byFile(docs) {
		var here []document
		for _, d := range group {
			if isCRD(d) {
				here = append(here, d)
			}
		}
		for _, d := range here {
			if _, err := applyDoc(ctx, conn, d); err != nil {
				return res, err
			}
			res.Applied = append(res.Applied, d.String())
		}
		if len(here) > 0 {
			tell("%s: %d CustomResourceDefinition(s) applied", here[0].file, len(here))
		}
		crds = append(crds, here...)
	}
	if len(crds) > 0 {
		if err := waitEstablished(ctx, conn, crds); err != nil {
			return res, err
		}
		tell("%d CustomResourceDefinition(s) established", len(crds))
	}

	for _, group := range byFile(docs) {
		applied, skipped := 0, 0
		for _, d := range group {
			if isCRD(d) {
				continue
			}
			reason, err := applyDoc(ctx, conn, d)
			if err != nil {
				return res, err
			}
			if reason != "" {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s %s: %s", d.obj.GetAPIVersion(), d.obj.GetKind(), d.obj.GetName(), reason))
				skipped++
				continue
			}
			res.Applied = append(res.Applied, d.String())
			applied++
		}
		switch {
		case skipped > 0:
			tell("%s: %d applied, %d skipped (API not served)", group[0].file, applied, skipped)
		case applied > 0:
			tell("%s: %d applied", group[0].file, applied)
		}
	}
	return res, nil
}

// applyDoc applies one document. It returns a non-empty reason, and no error,
// when the document is optional and the cluster does not serve its API.
func applyDoc(ctx context.Context, conn *cluster.Conn, d document) (string, error) {
	gvk := d.obj.GroupVersionKind()
	mapping, err := conn.ResourceFor(gvk)
	if err != nil {
		if meta.IsNoMatchError(err) && optionalFiles[d.file] {
			return fmt.Sprintf("%s not served by this cluster", gvk.GroupVersion()), nil
		}
		return "", fmt.Errorf("manifests/%s: %s (%s): %w", d.file, d, d.obj.GetAPIVersion(), err)
	}
	var ri dynamic.ResourceInterface = conn.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if d.obj.GetNamespace() == "" {
			return "", fmt.Errorf("manifests/%s: %s: namespaced kind without metadata.namespace", d.file, d)
		}
		ri = conn.Dynamic.Resource(mapping.Resource).Namespace(d.obj.GetNamespace())
	}
	body, err := json.Marshal(d.obj.Object)
	if err != nil {
		return "", fmt.Errorf("manifests/%s: %s: %w", d.file, d, err)
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true)}
	err = retry.OnError(transient, retriable, func() error {
		_, err := ri.Patch(ctx, d.obj.GetName(), types.ApplyPatchType, body, opts)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("manifests/%s: apply %s: %w", d.file, d, err)
	}
	return "", nil
}

// retriable reports errors worth another try. NotFound is among them: an
// apply never needs the object to exist, so it means the endpoint (a CR's, a
// namespace's) is not served yet.
func retriable(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err)
}

func isCRD(d document) bool {
	gvk := d.obj.GroupVersionKind()
	return gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition"
}

// byFile groups documents, which are sorted by file, into one slice per file.
func byFile(docs []document) [][]document {
	var groups [][]document
	for i, d := range docs {
		if i == 0 || docs[i-1].file != d.file {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], d)
	}
	return groups
}

func ptr[T any](v T) *T { return &v }
