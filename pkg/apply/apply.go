package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/sanitize"
)

// Options tune a run.
type Options struct {
	Workers  int
	Force    bool // take over fields another manager owns
	Recreate bool // delete and create objects whose immutable fields changed
	// ApplyOnly writes a new object with a server-side apply too, not a
	// create: its next change is then one apply, with no upgrade of the
	// create's fields first (the mirror, where a change's latency counts
	// more than the apiserver's cost of a create).
	ApplyOnly bool
	// RecreateKinds, when Recreate is off, still recreates these kinds (the
	// mirror's list of kinds where delete + create is safe).
	RecreateKinds map[schema.GroupKind]bool
	// WaitTimeout bounds each wait between waves (CRDs Established, webhook backends ready).
	WaitTimeout time.Duration
	// CheckAvailable waits, after the APIServices' wave, for each APIService
	// written to be Available, and notes those that are not (Unavailable):
	// a run that reports to a person (sync, import) asks for it; the mirror,
	// whose workers a wait would hold, does not.
	CheckAvailable bool
	// Retries is how a write that fails for a reason that can pass is
	// tried again; zero: cluster.Backoff (14 attempts, about 40 s). The
	// mirror, whose work queue tries a change again itself, asks for few.
	Retries wait.Backoff
	Journal journal.Log // nil: no journal
	RunID   string
	Events  Events
	Log     *slog.Logger
}

// DefaultWorkers is how many writes a run has in flight: as many as the
// benchmarks' raw writer (bench/README.md), whose rate a sync matches only
// with as many requests in flight. What bounds the load on the target is
// its API Priority and Fairness (a 429 with Retry-After, honoured).
const DefaultWorkers = 32

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 60 * time.Second
	}
	if o.Retries.Steps <= 0 {
		o.Retries = cluster.Backoff
	}
	if o.Events == nil {
		o.Events = NoEvents{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// runner carries one run's state.
type runner struct {
	target    *cluster.Conn
	o         Options
	owners    *ownerIndex
	exhausted exhausted
	relinks   relinks
}

// Run applies the plan's waves in order and returns one result per step.
// Errors of single objects are results; the error return is for a run that
// could not go on (context cancelled, journal unwritable).
func Run(ctx context.Context, target *cluster.Conn, p plan.Plan, o Options) ([]Result, error) {
	return NewSession(target, o).Run(ctx, p)
}

// applyBatch applies the wave's steps idx, each one's result to put with
// its index in idx.
func (r *runner) applyBatch(ctx context.Context, w plan.Wave, idx []int, blocked map[int]string, put func(at int, res Result)) error {
	tasks := make(chan task)
	go func() {
		defer close(tasks)
		for j, i := range idx {
			if ctx.Err() != nil {
				return
			}
			tasks <- task{s: w.Steps[i], at: j, blocked: blocked[i]}
		}
	}()
	return r.work(ctx, w, tasks, put)
}

// task is one step to apply and where its result goes.
type task struct {
	s  plan.Step
	at int // its result's index
	// blocked is why the step is not written ("" to write it): a
	// webhook's backend not ready yet.
	blocked string
}

// work applies the tasks that come until tasks is closed, r.o.Workers at
// a time, each one's result to put with task.at; put is called from
// several goroutines at once, each time for another index.
func (r *runner) work(ctx context.Context, w plan.Wave, tasks <-chan task, put func(at int, res Result)) error {
	var wg sync.WaitGroup
	var fatalMu sync.Mutex
	var fatal error
	for i := 0; i < r.o.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tasks {
				var res Result
				if t.blocked != "" {
					res = resultOf(w, t.s)
					res.Status, res.Reason, res.Transient = Failed, t.blocked, true
				} else {
					var err error
					res, err = r.applyStep(ctx, w, t.s)
					if err != nil {
						fatalMu.Lock()
						fatal = errors.Join(fatal, err)
						fatalMu.Unlock()
					}
				}
				put(t.at, res)
				r.o.Events.ObjectDone(res)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fatal
}

// applyStep carries out one step; the error is only for journal failures.
func (r *runner) applyStep(ctx context.Context, w plan.Wave, s plan.Step) (Result, error) {
	res := resultOf(w, s)
	if s.TargetDeleting && s.Action != plan.Skip {
		res.Status, res.Reason, res.Transient = Failed, s.Reason+": not written; once it is gone, a next run creates it", true
		return res, nil
	}
	switch s.Action {
	case plan.Skip:
		res.Status = Skipped
		return res, nil
	case plan.Unchanged:
		res.Status = Unchanged
		if len(s.Foreign) > 0 {
			// Same as last applied, but another manager touched it: would our apply conflict?
			body, _, err := r.body(ctx, s, &res)
			if err != nil {
				res.Status, res.Reason = Failed, shortErr(err)
				return res, nil
			}
			_, err = r.ssa(ctx, s, body, true)
			if aligned, ok := r.alignOnConflict(ctx, s, body, err); ok {
				_, err = r.ssa(ctx, s, aligned, true)
			}
			if err != nil && apierrors.IsConflict(err) {
				res.Status, res.Reason = Conflict, conflictReason(s, err)
			}
		}
		r.owners.rememberStep(s)
		return res, nil
	}
	body, dropped, err := r.body(ctx, s, &res)
	if err != nil {
		res.Status, res.Reason, res.Transient = Failed, shortErr(err), transient(err)
		return res, nil
	}
	if len(dropped) > 0 && len(s.Foreign) == 0 && s.OwnersDropped == plan.OwnersDroppedHash(s.Hash, dropped) {
		// The copy was written without these same references, and their
		// owners are still not in the target: writing it again would
		// change nothing (an owner never copied costs no write per run).
		// One whose fields another manager took since is written, as a
		// change is: a conflict to report, or --force takes them back.
		res.Status, res.OwnersDropped = Unchanged, true
		r.owners.rememberStep(s)
		r.relinks.add(s, dropped)
		return res, nil
	}
	key := journalKey(s)
	if err := r.journal("intent", key, map[string]string{"action": string(s.Action), "hash": s.Hash}); err != nil {
		return res, err
	}
	applied, err := r.write(ctx, s, body, &res)
	if aligned, ok := r.alignOnConflict(ctx, s, body, err); ok {
		applied, err = r.write(ctx, s, aligned, &res)
	}
	if err != nil && isImmutable(err) && (r.o.Recreate || r.o.RecreateKinds[s.Ref.GroupVersionKind().GroupKind()]) {
		applied, err = r.recreate(ctx, s, body, &res)
		if err == nil {
			res.Notes = append(res.Notes, "deleted and created again: an immutable field changed")
		}
	}
	var made *madeMeanwhile
	switch {
	case errors.As(err, &made):
		res.Status, res.Reason = Skipped, made.Error()
	case err == nil:
		res.Status = Updated
		if s.TargetUID == "" {
			res.Status = Created
		}
		r.owners.remember(applied)
		if len(dropped) > 0 {
			res.OwnersDropped = true
			r.relinks.add(s, dropped)
		}
	case apierrors.IsConflict(err):
		res.Status, res.Reason = Conflict, conflictReason(s, err)
	case isImmutable(err):
		res.Status, res.Reason = Failed, "immutable field changed: "+shortErr(err)+"; re-run with --recreate to delete and create it"
	default:
		res.Status, res.Reason = Failed, shortErr(err)
		res.Transient = transient(err)
	}
	op := "done"
	if res.Bad() {
		op = "failed"
	}
	return res, r.journal(op, key, map[string]string{"status": string(res.Status)})
}

// body is the object as the apply sends it: the stored bytes themselves
// when no owner reference needs the target's UID (nothing decoded), else
// the desired object with the hash stamped and its owner references
// pointed at the target's UIDs. dropped are the references whose owner
// is not in the target (RemapOwners'; res's notes say so): the hash
// stamped is then plan.OwnersDroppedHash, and the run writes the object
// again once the owners are there (relink), or the next run does.
func (r *runner) body(ctx context.Context, s plan.Step, res *Result) (body []byte, dropped []metav1.OwnerReference, err error) {
	if s.Stored != nil && len(s.Ref.Owners) == 0 {
		body, err = s.Stored.Body()
		return body, nil, err
	}
	obj, err := s.Full()
	if err != nil {
		return nil, nil, err
	}
	hash := s.Hash
	if len(obj.GetOwnerReferences()) > 0 && !sanitize.DropMadeOwners(obj) {
		var failed error
		dropped = sanitize.RemapOwners(obj, r.ownerLookup(ctx, &failed))
		if failed != nil {
			return nil, nil, failed
		}
		if len(dropped) > 0 {
			res.Notes = append(res.Notes, sanitize.DroppedNotes(dropped)...)
			hash = plan.OwnersDroppedHash(hash, dropped)
		}
	}
	plan.StampHash(obj, hash)
	body, err = obj.MarshalJSON()
	return body, dropped, err
}

func (r *runner) resource(s plan.Step) dynamic.ResourceInterface {
	ri := r.target.Dynamic.Resource(s.Resource)
	if s.Namespaced {
		return ri.Namespace(s.Ref.Namespace)
	}
	return ri
}

// ssaWithRetry retries what a busy or restarting apiserver answers (429,
// 5xx, timeouts, refused or reset connections) with exponential backoff;
// everything else is final. A Retry-After the apiserver sends is already
// honoured by client-go's REST client before an error reaches here. An
// object that took more than one attempt says so in res's notes, with the
// first error: the report tells the user what the run rode out.
func (r *runner) ssaWithRetry(ctx context.Context, s plan.Step, body []byte, res *Result) (*unstructured.Unstructured, error) {
	return r.withRetry(ctx, s, res, func() (*unstructured.Unstructured, error) { return r.ssa(ctx, s, body, false) })
}

// withRetry is write with ssaWithRetry's retries.
func (r *runner) withRetry(ctx context.Context, s plan.Step, res *Result, write func() (*unstructured.Unstructured, error)) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	var first error
	tried := 0
	gk := s.Ref.GroupVersionKind().GroupKind()
	_, err := cluster.Retry(ctx, r.o.Retries, func(err error) bool {
		if !cluster.Retryable(err) || r.exhausted.has(gk, err) {
			return false
		}
		if first == nil {
			first = err
		}
		r.o.Log.Info("retrying apply", "object", journalKey(s), "attempt", tried, "err", err)
		return true
	}, func() error {
		tried++
		var err error
		out, err = write()
		return err
	})
	if tried > 1 && res != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%d attempts (the first failed: %s)", tried, shortErr(first)))
	}
	switch {
	case err == nil:
		r.exhausted.succeeded(gk)
	case tried >= r.o.Retries.Steps && cluster.Retryable(err):
		r.exhausted.add(gk, err)
	}
	return out, err
}

// exhausted remembers, for one run, the failures that outlasted a whole
// retry budget: an object that fails the same way afterwards is not retried
// (a conversion webhook down for good, a target that stays away), so such a
// failure costs the run one budget, not one per object. A write that goes
// through clears what its kind met, and a target that could not be reached:
// what was down is back, and a later blip is ridden out again.
type exhausted struct {
	mu sync.Mutex
	m  map[string]map[schema.GroupKind]bool // failure class → the kinds that met it
}

func (e *exhausted) has(gk schema.GroupKind, err error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[failureClass(gk, err)] != nil
}

func (e *exhausted) add(gk schema.GroupKind, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]map[schema.GroupKind]bool{}
	}
	c := failureClass(gk, err)
	if e.m[c] == nil {
		e.m[c] = map[schema.GroupKind]bool{}
	}
	e.m[c][gk] = true
}

// succeeded forgets the failures a write of gk that went through disproves.
func (e *exhausted) succeeded(gk schema.GroupKind) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c, kinds := range e.m {
		if c == classUnreachable || kinds[gk] {
			delete(e.m, c)
		}
	}
}

// classUnreachable is the failure class of a target that did not answer.
const classUnreachable = "unreachable"

// webhookName finds the webhook an admission error names.
var webhookName = regexp.MustCompile(`failed calling webhook "([^"]+)"`)

// failureClass names what failed: a webhook by its name (whatever kind it
// guards), a target that cannot be reached, else the kind and the status.
func failureClass(gk schema.GroupKind, err error) string {
	if m := webhookName.FindStringSubmatch(err.Error()); m != nil {
		return "webhook " + m[1]
	}
	if !isAPIStatus(err) {
		return classUnreachable
	}
	return fmt.Sprintf("%s %s", gk, apierrors.ReasonForError(err))
}

func isAPIStatus(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s)
}

func (r *runner) recreate(ctx context.Context, s plan.Step, body []byte, res *Result) (*unstructured.Unstructured, error) {
	name := s.Ref.Name
	prop := metav1.DeletePropagationForeground
	opts := metav1.DeleteOptions{PropagationPolicy: &prop}
	// The UID precondition: only the object the plan was made against, never
	// one that took its name since.
	cur, err := r.resource(s).Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if err == nil {
		if s.TargetUID != "" && cur.GetUID() != s.TargetUID {
			return nil, fmt.Errorf("%s was replaced in the target since it was read (uid %s, read %s): not recreated", name, cur.GetUID(), s.TargetUID)
		}
		uid := cur.GetUID()
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
		if err := r.resource(s).Delete(ctx, name, opts); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, r.o.WaitTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := r.resource(s).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for the old object to be deleted: %w", err)
	}
	return r.ssaWithRetry(ctx, s, body, res)
}

// journal records one object's step. The records are not waited for on
// disk where the journal can take them so (journal.Buffered): a re-run is
// idempotent through the content hashes, so what they are for is the
// report of an interrupted run — and an fsync per record would be a wait
// per object. The run's start and end records are fsynced.
func (r *runner) journal(op, key string, detail map[string]string) error {
	if r.o.Journal == nil {
		return nil
	}
	rec := journal.Record{Time: time.Now().UTC(), Run: r.o.RunID, Op: op, Key: key, Detail: detail}
	if b, ok := r.o.Journal.(journal.Buffered); ok {
		return b.AppendBuffered(rec)
	}
	return r.o.Journal.Append(rec)
}

func journalKey(s plan.Step) string {
	gvk := s.Ref.GroupVersionKind()
	return strings.Join([]string{gvk.Group, gvk.Kind, s.Ref.Namespace, s.Ref.Name}, "/")
}

// transient says whether a failed apply may succeed later unchanged: what
// retryable covers, and a namespace that is not there yet (NotFound on an
// apply, which creates the object, means its namespace is missing).
func transient(err error) bool {
	return cluster.Retryable(err) || apierrors.IsNotFound(err)
}

func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(err.Error(), "immutable")
}

func conflictReason(s plan.Step, err error) string {
	msg := shortErr(err)
	if len(s.Foreign) > 0 {
		return fmt.Sprintf("fields owned by %s in the target (%s); --force takes them over", strings.Join(s.Foreign, ", "), msg)
	}
	return msg + "; --force takes them over"
}

func shortErr(err error) string {
	msg := err.Error()
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return msg
}

// sortResults orders results by wave as applied, then kind, namespace, name.
func sortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}
