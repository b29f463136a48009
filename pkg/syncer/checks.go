package syncer

// What a request is checked for before anything is read: the namespaces
// it names, in the source and, when the kind filters leave Namespaces out,
// in the target.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// CheckNamespaces refuses namespaces the source does not have.
func CheckNamespaces(ctx context.Context, source *cluster.Conn, names []string) error {
	if len(names) == 0 {
		return nil
	}
	list, err := listNamespaces(ctx, source)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var all []string
	for _, ns := range list.Items {
		have[ns.Name] = true
		all = append(all, ns.Name)
	}
	sort.Strings(all)
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("%w: namespace %q not found in the source %s; it has: %s", cluster.ErrBadInput, n, source.Context, strings.Join(all, ", "))
		}
	}
	return nil
}

// CheckTargetNamespaces refuses a selection whose kind filters leave
// Namespaces out (--include-kinds without Namespace, --exclude-kinds
// Namespace) when the target lacks one of the namespaces it names: every
// object of it would fail there, while a dry run would plan them as
// creates.
func CheckTargetNamespaces(ctx context.Context, target *cluster.Conn, sel plan.Selector) error {
	if target == nil || len(sel.Namespaces) == 0 || sel.KindAllowed(schema.GroupKind{Kind: "Namespace"}) {
		return nil
	}
	list, err := listNamespaces(ctx, target)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, ns := range list.Items {
		have[ns.Name] = true
	}
	for _, n := range sel.Namespaces {
		if !have[n] {
			return fmt.Errorf("%w: the target %s has no namespace %q, and the kind filters leave Namespaces out: add Namespace to --include-kinds (or create it there first)", cluster.ErrBadInput, target.Context, n)
		}
	}
	return nil
}
