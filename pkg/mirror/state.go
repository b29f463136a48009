package mirror

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
	"github.com/tandem-io/tandem/pkg/switchover"
)

// LeaseName is the Lease, in the target's standby.MarkerNamespace, that a
// running mirror holds and renews; its annotations carry the mirror's state
// and the pause handshake.
const LeaseName = "tandem-mirror"

// Annotations of the lease.
const (
	annSource         = "tandem.io/mirror-source"      // source context
	annStats          = "tandem.io/mirror-stats"       // Stats, JSON
	annPauseRequested = "tandem.io/mirror-pause"       // "true": finish in-flight work and hold
	annPaused         = "tandem.io/mirror-paused"      // "true": holding (the acknowledgement)
	leaseDuration     = 15 * time.Second               // not renewed for this long: the mirror is gone
	renewEvery        = 2 * time.Second                // also how often a pause request is noticed
	pausePoll         = 200 * time.Millisecond         // how often Pause looks for the acknowledgement
	annHolderStarted  = "tandem.io/mirror-started-at"  // RFC3339
	annTarget         = "tandem.io/mirror-target-hint" // informational
)

// ErrRunning is wrapped when a live mirror already writes into the target.
var ErrRunning = errors.New("a mirror is already running")

// Stats are the running counts a mirror publishes.
type Stats struct {
	Events    int64     `json:"events"`
	Applied   int64     `json:"applied"`
	Unchanged int64     `json:"unchanged"`
	Deleted   int64     `json:"deleted"`
	Failed    int64     `json:"failed"`
	LagP50    float64   `json:"lagP50Seconds"`
	LagP99    float64   `json:"lagP99Seconds"`
	Queue     int       `json:"queue"`
	LastApply time.Time `json:"lastApply,omitzero"`
}

// State is a mirror as the target's lease tells it.
type State struct {
	Holder  string        `json:"holder"`
	Source  string        `json:"source"`
	Live    bool          `json:"live"` // renewed within the lease duration
	Renewed time.Duration `json:"renewedAgo"`
	Started time.Time     `json:"started,omitzero"`
	Paused  bool          `json:"paused"`
	Pausing bool          `json:"pauseRequested"`
	Stats   Stats         `json:"stats"`
}

// String is one line for status tables.
func (s *State) String() string {
	if s == nil {
		return "none"
	}
	live := "live"
	if !s.Live {
		live = fmt.Sprintf("gone (last renewed %s ago)", s.Renewed.Round(time.Second))
	}
	mode := "running"
	switch {
	case s.Paused:
		mode = "paused"
	case s.Pausing:
		mode = "pausing"
	}
	return fmt.Sprintf("from %s, %s, %s: %d events, %d applied, %d failed, lag p99 %.3fs", s.Source, live, mode, s.Stats.Events, s.Stats.Applied, s.Stats.Failed, s.Stats.LagP99)
}

// Status reads the mirror writing into target: nil, nil when none ever ran.
func Status(ctx context.Context, target *cluster.Conn) (*State, error) {
	l, err := target.Typed.CoordinationV1().Leases(standby.MarkerNamespace).Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the mirror lease of %s: %w", target.Context, err)
	}
	return stateOf(l), nil
}

func stateOf(l *coordinationv1.Lease) *State {
	st := &State{Source: l.Annotations[annSource], Paused: l.Annotations[annPaused] == "true", Pausing: l.Annotations[annPauseRequested] == "true"}
	if l.Spec.HolderIdentity != nil {
		st.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		st.Renewed = time.Since(l.Spec.RenewTime.Time)
		st.Live = st.Holder != "" && st.Renewed < leaseDuration
	}
	st.Started, _ = time.Parse(time.RFC3339, l.Annotations[annHolderStarted])
	_ = json.Unmarshal([]byte(l.Annotations[annStats]), &st.Stats)
	return st
}

// Pause asks the mirror writing into target to finish its in-flight work and
// hold, and waits until it says it does. Without a live mirror it returns at
// once; a mirror started later starts unpaused.
func Pause(ctx context.Context, target *cluster.Conn, timeout time.Duration) error {
	if err := annotate(ctx, target, map[string]any{annPauseRequested: "true"}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // no mirror ever ran
		}
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := Status(ctx, target)
		if err != nil {
			return err
		}
		if st == nil || !st.Live || st.Paused {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the mirror into %s (%s) did not pause within %s", target.Context, st.Holder, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pausePoll):
		}
	}
}

// Resume lets a paused mirror go on.
func Resume(ctx context.Context, target *cluster.Conn) error {
	err := annotate(ctx, target, map[string]any{annPauseRequested: nil})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func annotate(ctx context.Context, target *cluster.Conn, kv map[string]any) error {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": kv}})
	_, err := target.Typed.CoordinationV1().Leases(standby.MarkerNamespace).Patch(ctx, LeaseName, types.MergePatchType, b, metav1.PatchOptions{FieldManager: plan.FieldManager})
	return err
}

// holder is this process, as the lease names it.
func holder(source string) string {
	return fmt.Sprintf("%s pid %d (mirror from %s)", switchover.Who(), os.Getpid(), source)
}

// acquire takes the lease, refusing while another live mirror holds it.
func acquire(ctx context.Context, target *cluster.Conn, id, source string) error {
	leases := target.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	now := metav1.NewMicroTime(time.Now())
	dur := int32(leaseDuration / time.Second)
	ann := map[string]string{annSource: source, annHolderStarted: time.Now().UTC().Format(time.RFC3339), annTarget: target.Context}
	for attempt := 0; attempt < 5; attempt++ {
		cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: LeaseName, Namespace: standby.MarkerNamespace, Annotations: ann},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &id, LeaseDurationSeconds: &dur, AcquireTime: &now, RenewTime: &now},
			}, metav1.CreateOptions{FieldManager: plan.FieldManager})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		if st := stateOf(cur); st.Live && st.Holder != id {
			return fmt.Errorf("%w into %s: %s, renewed %s ago", ErrRunning, target.Context, st.Holder, st.Renewed.Round(time.Millisecond))
		}
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		for k, v := range ann {
			cur.Annotations[k] = v
		}
		// A new mirror starts unpaused: a pause asked of an earlier one (a
		// switchover leaves its mirror paused) is not meant for it.
		delete(cur.Annotations, annPaused)
		delete(cur.Annotations, annPauseRequested)
		cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.AcquireTime, cur.Spec.RenewTime = &id, &dur, &now, &now
		if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: plan.FieldManager}); apierrors.IsConflict(err) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("%w into %s: the lease keeps changing hands", ErrRunning, target.Context)
}

// renew writes the stats and the pause acknowledgement; it returns whether a
// pause is requested.
func renew(ctx context.Context, target *cluster.Conn, id string, st Stats, paused bool) (pauseRequested bool, err error) {
	leases := target.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != id {
		return false, fmt.Errorf("%w: the mirror lease of %s was taken by %v", ErrRunning, target.Context, cur.Spec.HolderIdentity)
	}
	now := metav1.NewMicroTime(time.Now())
	cur.Spec.RenewTime = &now
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	b, _ := json.Marshal(st)
	cur.Annotations[annStats] = string(b)
	if paused {
		cur.Annotations[annPaused] = "true"
	} else {
		delete(cur.Annotations, annPaused)
	}
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: plan.FieldManager}); err != nil {
		return false, err
	}
	return cur.Annotations[annPauseRequested] == "true", nil
}

// release gives the lease up (it stays, unheld, with the last stats).
func release(ctx context.Context, target *cluster.Conn, id string) {
	leases := target.Typed.CoordinationV1().Leases(standby.MarkerNamespace)
	cur, err := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	if err != nil || cur.Spec.HolderIdentity == nil || *cur.Spec.HolderIdentity != id {
		return
	}
	empty := ""
	cur.Spec.HolderIdentity = &empty
	delete(cur.Annotations, annPaused)
	_, _ = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: plan.FieldManager})
}
