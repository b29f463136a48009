package volume

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// Selection says which volumes to hand over.
type Selection struct {
	Namespace   string          // "" with a Selector: every namespace
	StatefulSet string          // the claims of this StatefulSet's volumeClaimTemplates
	PVC         string          // one claim
	Selector    labels.Selector // claims with these labels
}

// String is a stable description, used to match a resumed run.
func (s Selection) String() string {
	sel := ""
	if s.Selector != nil {
		sel = s.Selector.String()
	}
	return fmt.Sprintf("namespace=%s statefulset=%s pvc=%s selector=%s", s.Namespace, s.StatefulSet, s.PVC, sel)
}

// Discover lists the bound claims that sel picks in c, with their owners.
// A selected claim that is not Bound is an error: there is no volume to move.
func Discover(ctx context.Context, c *cluster.Conn, sel Selection) ([]Volume, error) {
	opts := metav1.ListOptions{}
	if sel.Selector != nil {
		opts.LabelSelector = sel.Selector.String()
	}
	pvcs, err := c.Typed.CoreV1().PersistentVolumeClaims(sel.Namespace).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: list PersistentVolumeClaims: %w", c.Context, err)
	}
	owners := map[string][]Owner{} // namespace/claim → owners
	namespaces := map[string]bool{}
	for _, p := range pvcs.Items {
		namespaces[p.Namespace] = true
	}
	var tmplPrefixes []string // when --statefulset: the claim name prefixes it owns
	for ns := range namespaces {
		stss, err := c.Typed.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: list StatefulSets: %w", c.Context, err)
		}
		for _, s := range stss.Items {
			for _, t := range s.Spec.VolumeClaimTemplates {
				prefix := t.Name + "-" + s.Name + "-"
				if s.Name == sel.StatefulSet && ns == sel.Namespace {
					tmplPrefixes = append(tmplPrefixes, prefix)
				}
				for _, p := range pvcs.Items {
					if p.Namespace == ns && ordinalClaim(p.Name, prefix) {
						k := ns + "/" + p.Name
						owners[k] = append(owners[k], Owner{Kind: "StatefulSet", Namespace: ns, Name: s.Name})
					}
				}
			}
		}
		deps, err := c.Typed.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: list Deployments: %w", c.Context, err)
		}
		for _, d := range deps.Items {
			for _, vol := range d.Spec.Template.Spec.Volumes {
				if vol.PersistentVolumeClaim != nil {
					k := ns + "/" + vol.PersistentVolumeClaim.ClaimName
					owners[k] = append(owners[k], Owner{Kind: "Deployment", Namespace: ns, Name: d.Name})
				}
			}
		}
	}
	if sel.StatefulSet != "" && len(tmplPrefixes) == 0 {
		return nil, fmt.Errorf("%w: StatefulSet %s/%s not found in %s or it has no volumeClaimTemplates", cluster.ErrBadInput, sel.Namespace, sel.StatefulSet, c.Context)
	}
	var vols []Volume
	var unbound []string
	for _, p := range pvcs.Items {
		switch {
		case sel.PVC != "" && p.Name != sel.PVC:
			continue
		case len(tmplPrefixes) > 0 && !hasOrdinalPrefix(p.Name, tmplPrefixes):
			continue
		case p.DeletionTimestamp != nil:
			unbound = append(unbound, p.Namespace+"/"+p.Name+" (being deleted)")
			continue
		case p.Status.Phase != corev1.ClaimBound || p.Spec.VolumeName == "":
			unbound = append(unbound, p.Namespace+"/"+p.Name+" ("+string(p.Status.Phase)+")")
			continue
		}
		vols = append(vols, Volume{Namespace: p.Namespace, Claim: p.Name, PV: p.Spec.VolumeName, Owners: owners[p.Namespace+"/"+p.Name]})
	}
	if len(unbound) > 0 {
		return nil, fmt.Errorf("%w: claims not Bound in %s: %s: bind them or leave them out of the selection", cluster.ErrBadInput, c.Context, strings.Join(unbound, ", "))
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].Key() < vols[j].Key() })
	return vols, nil
}

func hasOrdinalPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if ordinalClaim(name, p) {
			return true
		}
	}
	return false
}

// ordinalClaim says whether name is prefix followed by a StatefulSet ordinal.
func ordinalClaim(name, prefix string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}
