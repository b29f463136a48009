package cli

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/pmezard/go-difflib/difflib"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// plannedStep is one row of a dry run: the result a step would have, plus what only a plan knows.
type plannedStep struct {
	apply.Result
	Foreign []string `json:"foreignManagers,omitempty"`
	Diff    string   `json:"diff,omitempty"`
}

// printPlan prints what sync would do, without writing; with --diff, the
// difference each write would make to the target.
func (o *SyncOptions) printPlan(ctx context.Context, target *cluster.Conn, prep *syncer.Prepared, unshared []apply.Result) error {
	var steps []plannedStep
	var writes []plan.Step // with --diff: the steps whose diffs are printed, in steps' order
	var writeAt []int
	for _, w := range prep.Plan.Waves {
		for _, s := range w.Steps {
			d := s.Ref
			ps := plannedStep{Result: apply.Result{Wave: w.Name, Group: d.GroupVersionKind().Group, Kind: d.Kind, Namespace: d.Namespace, Name: d.Name,
				Action: s.Action, Status: apply.Planned, Reason: s.Reason, Why: s.Why, Notes: s.Decision.Notes}, Foreign: s.Foreign}
			if o.Diff && (s.Action == plan.Create || s.Action == plan.Update) {
				writes, writeAt = append(writes, s), append(writeAt, len(steps))
			}
			steps = append(steps, ps)
		}
	}
	if len(writes) > 0 {
		diffs, err := diffSteps(ctx, target, writes, o.Force)
		if err != nil {
			return err
		}
		for i, d := range diffs {
			steps[writeAt[i]].Diff = d
		}
	}
	for _, u := range unshared {
		u.Action = "fail"
		steps = append(steps, plannedStep{Result: u})
	}
	counts := prep.Plan.Counts()
	return o.g.printObject(map[string]any{"steps": steps, "counts": counts, "unshared": len(unshared)}, func(w io.Writer) {
		tw := newTable(w, "WAVE", "ACTION", "KIND", "NAMESPACE", "NAME", "REASON / WHY")
		for _, s := range steps {
			if s.Action == plan.Skip && len(s.Notes) == 0 && o.g.Verbose == 0 {
				continue
			}
			row(tw, s.Wave, s.Action, kindOf(s.Result), dash(s.Namespace), s.Name, reasonText(s.Result))
		}
		tw.Flush()
		fmt.Fprintf(w, "\nplan: %d create, %d update, %d unchanged, %d skip, %d cannot be copied (dry run: nothing written; skipped objects are listed with -v)\n",
			counts[plan.Create], counts[plan.Update], counts[plan.Unchanged], counts[plan.Skip], len(unshared))
		for _, s := range steps {
			if s.Diff != "" {
				fmt.Fprintln(w, s.Diff)
			}
		}
	})
}

// comparable strips what the server adds so a diff shows only real changes.
func comparable(obj *unstructured.Unstructured) string {
	if obj == nil {
		return ""
	}
	c := obj.DeepCopy()
	sanitize.DropMadeOwners(c) // as apply writes it (the target's copy: as its operator adopted it)
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	unstructured.RemoveNestedField(c.Object, "metadata", "annotations", plan.HashAnnotation)
	if len(c.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	}
	dropNullTimestamps(c.Object)
	if c.GetKind() == "Secret" && c.GroupVersionKind().Group == "" {
		redactSecret(c)
	}
	data, _ := yaml.Marshal(c.Object)
	return string(data)
}

// redactKey is this run's key for the Secret values in diffs: random, never
// written anywhere, so equal values compare equal within one run while the
// printed tags cannot be tested offline against guesses (a short password).
var redactKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

// redactSecret replaces Secret values by a short keyed hash, so a diff shows
// which keys changed without ever printing a secret.
func redactSecret(c *unstructured.Unstructured) {
	for _, field := range []string{"data", "stringData"} {
		m, ok := c.Object[field].(map[string]any)
		if !ok {
			continue
		}
		for k, v := range m {
			mac := hmac.New(sha256.New, redactKey)
			mac.Write([]byte(fmt.Sprint(v)))
			m[k] = fmt.Sprintf("<redacted hmac:%x>", mac.Sum(nil)[:8])
		}
	}
	if _, ok := c.GetAnnotations()[lastApplied]; ok {
		unstructured.SetNestedField(c.Object, "<redacted>", "metadata", "annotations", lastApplied)
	}
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// dropNullTimestamps removes the `creationTimestamp: null` that older
// apiservers put into embedded templates: noise, not a difference.
func dropNullTimestamps(v any) {
	switch t := v.(type) {
	case map[string]any:
		if ts, ok := t["creationTimestamp"]; ok && ts == nil {
			delete(t, "creationTimestamp")
		}
		for _, child := range t {
			dropNullTimestamps(child)
		}
	case []any:
		for _, child := range t {
			dropNullTimestamps(child)
		}
	}
}

// diffSteps is the unified diff of each step: its object (read back from
// where the plan keeps it) against the target's copy, read now for each
// update — the plan holds no copy of the target's objects, and a diff
// holds only what it prints.
func diffSteps(ctx context.Context, target *cluster.Conn, steps []plan.Step, force bool) ([]string, error) {
	diffs := make([]string, len(steps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(diffReads)
	for i, s := range steps {
		g.Go(func() error {
			desired, err := s.Full()
			if err != nil {
				return err
			}
			name := s.Ref.Kind + " " + s.Ref.Namespace + "/" + s.Ref.Name
			if s.Action != plan.Update {
				diffs[i] = unifiedDiff(s.Ref, nil, desired)
				return nil
			}
			current, err := cluster.Scoped(target.Dynamic.Resource(s.Resource), s.Namespaced, s.Ref.Namespace).Get(gctx, s.Ref.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				diffs[i] = unifiedDiff(s.Ref, nil, desired) // deleted since the plan read the target
				return nil
			}
			if err != nil {
				// This object's diff says so; the others are still made.
				diffs[i] = fmt.Sprintf("# %s: cannot read the target's copy to diff it: %s\n", name, firstLine(err.Error()))
				return nil
			}
			// What the apply would make of the copy (fields other managers
			// own stay), not the source's object as it is. A copy whose
			// fields tandem's create owns is first made tandem's apply's
			// (a write a dry run cannot make): then the apply makes it the
			// source's object, and the diff is against that.
			after, err := desired, error(nil)
			if !s.Upgrade {
				after, err = apply.Preview(gctx, target, s, force)
			}
			header := ""
			switch {
			case apierrors.IsConflict(err):
				header = fmt.Sprintf("# %s: a conflict, not written without --force (%s); the source's object:\n", name, firstLine(err.Error()))
				after = desired
			case err != nil:
				header = fmt.Sprintf("# %s: the target refused a dry run of the write (%s); the source's object:\n", name, firstLine(err.Error()))
				after = desired
			}
			d := unifiedDiff(s.Ref, current, after)
			if d == "" && header == "" {
				d = fmt.Sprintf("# %s: its content stays as it is; the write puts tandem's hash annotation on it and makes its fields tandem's\n", name)
			}
			diffs[i] = header + d
			return nil
		})
	}
	return diffs, g.Wait()
}

// diffReads is how many of the target's copies a diff reads at once.
const diffReads = 8

func unifiedDiff(ref plan.Ref, current, desired *unstructured.Unstructured) string {
	name := ref.Kind + " " + ref.Namespace + "/" + ref.Name
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(comparable(current)), B: difflib.SplitLines(comparable(desired)),
		FromFile: "target/" + name, ToFile: "source/" + name, Context: 3,
	})
	return text
}
