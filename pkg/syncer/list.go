package syncer

// Reading both clusters: resources listed in parallel (a bounded number at
// once), in the selected namespaces only when the selection names them, and
// the target's objects kept as far as a decision needs them.

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/inventory"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// listParallel is how many lists run at once against one cluster: enough to
// hide each list's round trips; each holds up to three decoded pages
// (pager's buffer), so this bounds the memory a sync needs while it reads.
// Measured on 10k objects: 8 lists at once were no faster than 4 and took
// 30 MB more.
const listParallel = 4

// listScope is the namespaces namespaced resources are listed in, nil for
// all: those the selection names, when they are a small part of the
// cluster (at most one in perNamespaceShare of its namespaces). Listing one
// namespace costs a request per resource, so naming most of the cluster's
// namespaces is read faster cluster-wide. An app stack's objects and
// dependencies may be anywhere: listed cluster-wide.
func listScope(ctx context.Context, req Request) ([]string, error) {
	s := req.Selector
	if s.Stack != "" || len(s.Namespaces) == 0 {
		return nil, nil
	}
	all, err := listNamespaces(ctx, req.Source)
	if err != nil {
		return nil, fmt.Errorf("list namespaces in %s: %w", req.Source.Context, err)
	}
	if len(s.Namespaces)*perNamespaceShare > len(all.Items) {
		return nil, nil
	}
	return s.Namespaces, nil
}

// listNamespaces lists c's namespaces, riding out a blip as a page of
// any list does (cluster.Retry).
func listNamespaces(ctx context.Context, c *cluster.Conn) (*corev1.NamespaceList, error) {
	var list *corev1.NamespaceList
	_, err := cluster.Retry(ctx, cluster.Backoff, cluster.Retryable, func() error {
		var err error
		list, err = c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		return err
	})
	return list, err
}

// perNamespaceShare: the selection is listed namespace by namespace when it
// names at most one in this many of the cluster's namespaces.
const perNamespaceShare = 5

// AnyNamespace are namespaced kinds a selection reaches outside its
// namespaces: a RoleBinding elsewhere that binds a selected ServiceAccount,
// and its Role. They are listed (and a mirror watches them) in every
// namespace, whatever the selection names.
func AnyNamespace(gk schema.GroupKind) bool {
	return gk.Group == "rbac.authorization.k8s.io" && (gk.Kind == "RoleBinding" || gk.Kind == "Role")
}

// listTask is one list: a resource in a namespace ("" for all).
type listTask struct {
	r         inventory.Resource
	namespace string
}

// listAll runs the tasks, listParallel at once, and returns each task's
// objects in task order (the same order whatever finishes first). keep
// trims an object before it is held, or says not to hold it (false). A task
// that fails leaves its slot nil and its error in errs.
func listAll[T any](ctx context.Context, c func(listTask, func(*unstructured.Unstructured) error) error, tasks []listTask, keep func(*unstructured.Unstructured) (T, bool, error)) ([][]T, []error) {
	out := make([][]T, len(tasks))
	errs := make([]error, len(tasks))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(listParallel)
	for i, t := range tasks {
		g.Go(func() error {
			var objs []T
			err := c(t, func(o *unstructured.Unstructured) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				k, ok, err := keep(o)
				if err != nil || !ok {
					return err
				}
				objs = append(objs, k)
				return nil
			})
			out[i], errs[i] = objs, err
			return nil // one resource failing does not stop the others
		})
	}
	_ = g.Wait()
	return out, errs
}

// listSource reads the source's objects of the resources, in the
// selection's namespaces when it names them. A resource that cannot be
// listed (an aggregated API whose backend is down…) is a warning: the rest
// go on.
//
// With sp, each namespaced object is written to it whole and only its
// sketch (a *sketched, which knows where its object is) is returned; other
// objects are returned whole (*unstructured.Unstructured).
func listSource(ctx context.Context, req Request, resources []inventory.Resource, scope []string, sp *spill) ([]plan.Object, []Unread, error) {
	var tasks []listTask
	for _, r := range resources {
		if !r.Namespaced || len(scope) == 0 || AnyNamespace(r.GroupKind()) {
			tasks = append(tasks, listTask{r: r})
			continue
		}
		for _, ns := range scope {
			tasks = append(tasks, listTask{r: r, namespace: ns})
		}
	}
	// A resource whose list outlasted its retries in one namespace (an
	// aggregated API or a conversion webhook whose backend is down) is not
	// tried again in the others: it costs the sync one retry budget. (Per
	// resource, not per API: one CRD's conversion webhook being down says
	// nothing of the group's other CRDs.)
	var gaveUpMu sync.Mutex
	gaveUp := map[schema.GroupResource]error{}
	list := func(t listTask, fn func(*unstructured.Unstructured) error) error {
		gr := t.r.GroupResource()
		gaveUpMu.Lock()
		err := gaveUp[gr]
		gaveUpMu.Unlock()
		if err != nil {
			return fmt.Errorf("list %s: not tried: %w", t.r, err)
		}
		err = inventory.List(ctx, req.Source, t.r, t.namespace, fn)
		if err != nil && cluster.Retryable(err) {
			gaveUpMu.Lock()
			gaveUp[gr] = err
			gaveUpMu.Unlock()
		}
		return err
	}
	in := newInterner()
	var spillMu sync.Mutex
	var spillErr error
	slots, errs := listAll(ctx, list, tasks, func(o *unstructured.Unstructured) (plan.Object, bool, error) {
		SlimSource(o)
		if sp == nil || o.GetNamespace() == "" {
			return o, true, nil
		}
		ref, err := sp.put(o)
		if err != nil {
			// The spill is the sync's, not the resource's: no warning, the sync stops.
			spillMu.Lock()
			spillErr = err
			spillMu.Unlock()
			return nil, false, err
		}
		return sketch(o, in, ref), true, nil
	})
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if spillErr != nil {
		return nil, nil, spillErr
	}
	var raw []plan.Object
	var unread []Unread
	warned := map[schema.GroupKind]bool{}
	for i, objs := range slots {
		if err := errs[i]; err != nil {
			if gk := tasks[i].r.GroupKind(); !warned[gk] {
				warned[gk] = true
				unread = append(unread, Unread{Resource: tasks[i].r, Namespace: tasks[i].namespace,
					Warning: fmt.Sprintf("source: %v: its objects are not copied", err)})
			}
			continue
		}
		raw = append(raw, objs...)
	}
	return raw, unread, nil
}

// maxOutsideRounds bounds how far readOutside follows dependencies from
// namespace to namespace (an HTTPRoute's Gateway in infra, that Gateway's
// Secret in certs…).
const maxOutsideRounds = 4

// readOutside completes a selection read namespace by namespace (scoped):
// the picked objects may need objects in namespaces that were not listed
// (plan.Selection.Needed: a Gateway in infra that an HTTPRoute of shop
// names). Each is read by itself — found or not, once — and the selection
// made again with them, until nothing more is needed. It returns raw with
// those objects, the selection, and warnings for the reads that failed.
func readOutside(ctx context.Context, req Request, byGK map[schema.GroupKind]inventory.Resource, raw []plan.Object, p picker, sp *spill) ([]plan.Object, picker, []Unread, error) {
	if p.sel == nil {
		return raw, p, nil, nil
	}
	tried := map[plan.ObjectKey]bool{}
	in := newInterner()
	var unread []Unread
	for round := 0; round < maxOutsideRounds; round++ {
		found := 0
		for k := range p.sel.Needed() {
			if tried[k] {
				continue
			}
			tried[k] = true
			r, ok := byGK[schema.GroupKind{Group: k.Group, Kind: k.Kind}]
			if !ok || r.ReadOnly || r.Unshared || alwaysGenerated(r.GroupKind()) {
				continue
			}
			var o *unstructured.Unstructured
			_, err := cluster.Retry(ctx, cluster.Backoff, cluster.Retryable, func() error {
				var err error
				o, err = req.Source.Dynamic.Resource(r.GVR()).Namespace(k.Namespace).Get(ctx, k.Name, metav1.GetOptions{})
				return err
			})
			switch {
			case apierrors.IsNotFound(err):
				continue // a candidate the source does not have
			case err != nil:
				if ctx.Err() != nil {
					return nil, p, nil, ctx.Err()
				}
				unread = append(unread, Unread{Resource: r, Namespace: k.Namespace, Name: k.Name,
					Warning: fmt.Sprintf("source: read %s %s/%s (needed by the selection): %v: not copied", k.Kind, k.Namespace, k.Name, err)})
				continue
			}
			SlimSource(o)
			var obj plan.Object = o
			if sp != nil {
				ref, err := sp.put(o)
				if err != nil {
					return nil, p, nil, err
				}
				obj = sketch(o, in, ref)
			}
			raw = append(raw, obj)
			found++
		}
		if found == 0 {
			break
		}
		p = pick(raw, req.Selector)
	}
	return raw, p, unread, nil
}

// listTarget reads the target's copies of the jobs' objects into their
// current: it lists the kinds of the jobs, in their namespaces when the
// source was read namespace by namespace (scoped). jobs are in newJobs'
// order: each object listed is looked up there (findJob), and only the copies
// of picked objects are kept — nothing else of the target is held, and of
// those only what a decision reads (targetCopy): the apiserver sends their
// metadata alone (PartialObjectMetadata).
func listTarget(ctx context.Context, req Request, byGK map[schema.GroupKind]inventory.Resource, jobs []prepareJob, scoped bool) error {
	namespaces := map[schema.GroupKind]map[string]bool{}
	var kinds []schema.GroupKind
	for _, j := range jobs {
		gk := schema.GroupKind{Group: j.key.Group, Kind: j.key.Kind}
		if r := byGK[gk]; r.Unshared || r.Pending {
			continue
		}
		if namespaces[gk] == nil {
			namespaces[gk] = map[string]bool{}
			kinds = append(kinds, gk)
		}
		namespaces[gk][j.key.Namespace] = true
	}
	var tasks []listTask
	for _, gk := range kinds {
		r := byGK[gk]
		if !r.Namespaced || !scoped {
			tasks = append(tasks, listTask{r: r})
			continue
		}
		for ns := range namespaces[gk] {
			tasks = append(tasks, listTask{r: r, namespace: ns})
		}
	}
	list := func(t listTask, fn func(*unstructured.Unstructured) error) error {
		return inventory.ListMetadata(ctx, req.Target.Metadata, t.r, t.namespace, fn)
	}
	// Each object is its own job's: lists running at once never write
	// the same job.
	in := newInterner()
	keep := func(o *unstructured.Unstructured) (struct{}, bool, error) {
		i, ok := findJob(jobs, plan.KeyOf(o))
		if !ok {
			return struct{}{}, false, nil
		}
		c := targetOf(o, in)
		jobs[i].current = &c
		return struct{}{}, false, nil
	}
	_, errs := listAll(ctx, list, tasks, keep)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	return nil
}

// SlimSource drops what the pipeline never reads of a source object:
// managedFields (most of an object's bytes), except where sanitizing reads
// them as evidence (sanitize.NeedsManagedFields).
func SlimSource(o *unstructured.Unstructured) {
	if !sanitize.NeedsManagedFields(o) {
		unstructured.RemoveNestedField(o.Object, "metadata", "managedFields")
	}
}
