package switchover

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/lease"
	"github.com/tandem-io/tandem/pkg/plan"
	"github.com/tandem-io/tandem/pkg/standby"
)

// Roles a record can hold.
const (
	RoleActive  = "active"
	RoleStandby = "standby"
)

// RecordName is the ConfigMap, in standby.MarkerNamespace, that holds a
// cluster's record.
const RecordName = "tandem-role"

// Record is what one cluster says about itself. Each cluster carries its own;
// when they disagree the higher epoch is authoritative.
type Record struct {
	Role        string    `json:"role"`
	Epoch       int64     `json:"epoch"`
	Peer        string    `json:"peer,omitempty"`        // the other cluster's identity (kube-system UID)
	PeerContext string    `json:"peerContext,omitempty"` // the other cluster's context name when it was written
	Time        time.Time `json:"time"`
	Who         string    `json:"who,omitempty"`    // user@host of the tandem that wrote it
	Reason      string    `json:"reason,omitempty"` // e.g. "switchover", "emergency failover: source unreachable"
	Router      string    `json:"router,omitempty"` // the router URL the last switchover used
	LastDrill   *Drilled  `json:"lastDrill,omitempty"`
}

// Drilled is the summary of the last drill, kept in the record.
type Drilled struct {
	Time    time.Time `json:"time"`
	Result  string    `json:"result"` // "passed" or "failed: …"
	Seconds float64   `json:"seconds"`
	Failed  int64     `json:"failedRequests"`
	Report  string    `json:"report,omitempty"` // where the report was written
}

// Who names the person and machine running tandem, for records and locks.
func Who() string { return lease.Who() }

// ReadRecord returns the cluster's record, or nil when it has none.
func ReadRecord(ctx context.Context, c *cluster.Conn) (*Record, error) {
	cm, err := c.Typed.CoreV1().ConfigMaps(standby.MarkerNamespace).Get(ctx, RecordName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the record of %s: %w", c.Context, err)
	}
	return decodeRecord(cm.Data)
}

func decodeRecord(data map[string]string) (*Record, error) {
	r := &Record{Role: data["role"], Peer: data["peer"], PeerContext: data["peerContext"], Who: data["who"], Reason: data["reason"], Router: data["router"]}
	var err error
	if r.Epoch, err = strconv.ParseInt(data["epoch"], 10, 64); err != nil {
		return nil, fmt.Errorf("record: epoch %q: %w", data["epoch"], err)
	}
	if r.Role != RoleActive && r.Role != RoleStandby {
		return nil, fmt.Errorf("record: role %q: want active or standby", r.Role)
	}
	if t := data["time"]; t != "" {
		if r.Time, err = time.Parse(time.RFC3339, t); err != nil {
			return nil, fmt.Errorf("record: time %q: %w", t, err)
		}
	}
	if d := data["lastDrill"]; d != "" {
		r.LastDrill = &Drilled{}
		if err := json.Unmarshal([]byte(d), r.LastDrill); err != nil {
			return nil, fmt.Errorf("record: lastDrill: %w", err)
		}
	}
	return r, nil
}

func encodeRecord(r *Record) map[string]string {
	data := map[string]string{
		"role": r.Role, "epoch": strconv.FormatInt(r.Epoch, 10), "time": r.Time.UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{"peer": r.Peer, "peerContext": r.PeerContext, "who": r.Who, "reason": r.Reason, "router": r.Router} {
		if v != "" {
			data[k] = v
		}
	}
	if r.LastDrill != nil {
		b, _ := json.Marshal(r.LastDrill)
		data["lastDrill"] = string(b)
	}
	return data
}

// WriteRecord creates or replaces the cluster's record.
func WriteRecord(ctx context.Context, c *cluster.Conn, r *Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	if err := standby.EnsureStateNamespace(ctx, c); err != nil {
		return err
	}
	cms := c.Typed.CoreV1().ConfigMaps(standby.MarkerNamespace)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: RecordName, Namespace: standby.MarkerNamespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "tandem"}},
		Data:       encodeRecord(r),
	}
	_, err := cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: plan.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: plan.FieldManager})
	}
	if err != nil {
		return fmt.Errorf("write the record of %s: %w", c.Context, err)
	}
	return nil
}

// Side is one cluster as the records see it.
type Side struct {
	Context string
	Record  *Record // nil: no record
	Standby bool    // carries the standby marker (pkg/standby)
	Err     error   // unreachable or unreadable
}

// Verdict is which cluster is active according to the records, and what
// does not add up.
type Verdict struct {
	Active   string   `json:"active,omitempty"` // context of the authoritative active cluster; "" when unknown
	Epoch    int64    `json:"epoch"`            // the authoritative epoch
	Problems []string `json:"problems,omitempty"`
	Notes    []string `json:"notes,omitempty"` // worth knowing, not wrong
}

// Decide reads two sides: the higher epoch is authoritative. Without records,
// the standby markers decide (the cluster without a marker is active).
// Pure: no I/O.
func Decide(a, b Side) Verdict {
	var v Verdict
	sides := []Side{a, b}
	for _, s := range sides {
		if s.Err != nil {
			v.Problems = append(v.Problems, fmt.Sprintf("%s: %v", s.Context, s.Err))
		}
	}
	ra, rb := a.Record, b.Record
	switch {
	case ra == nil && rb == nil:
		var actives []string
		for _, s := range sides {
			if s.Err == nil && !s.Standby {
				actives = append(actives, s.Context)
			}
		}
		switch len(actives) {
		case 1:
			v.Active = actives[0]
			v.Notes = append(v.Notes, "no records yet: the cluster without the standby marker is taken as active (the first switchover writes them)")
		case 2:
			v.Problems = append(v.Problems, "no records and neither cluster is standby: both would take traffic")
		default:
			v.Problems = append(v.Problems, "no records and no active cluster")
		}
		return v
	case ra == nil || rb == nil:
		s, other := a, b
		if ra == nil {
			s, other = b, a
		}
		if other.Err == nil {
			v.Notes = append(v.Notes, fmt.Sprintf("%s has no record yet: its role follows from %s's", other.Context, s.Context))
		}
		v.Epoch = s.Record.Epoch
		if s.Record.Role == RoleActive {
			v.Active = s.Context
		} else {
			v.Active = other.Context
		}
	case ra.Epoch == rb.Epoch:
		v.Epoch = ra.Epoch
		switch {
		case ra.Role == RoleActive && rb.Role == RoleStandby:
			v.Active = a.Context
		case rb.Role == RoleActive && ra.Role == RoleStandby:
			v.Active = b.Context
		default:
			v.Problems = append(v.Problems, fmt.Sprintf("records disagree: both say %s at epoch %d", ra.Role, ra.Epoch))
		}
	default:
		hi, lo := a, b
		if rb.Epoch > ra.Epoch {
			hi, lo = b, a
		}
		v.Epoch = hi.Record.Epoch
		if hi.Record.Role == RoleActive {
			v.Active = hi.Context
		} else {
			v.Active = lo.Context
		}
		// Opposite roles at different epochs agree on who is active (one
		// cluster changed role by activate/deactivate); the same role does not.
		if hi.Record.Role == lo.Record.Role {
			v.Problems = append(v.Problems, fmt.Sprintf("%s still says %s at epoch %d; %s (epoch %d) is authoritative", lo.Context, lo.Record.Role, lo.Record.Epoch, hi.Context, hi.Record.Epoch))
		}
	}
	for _, s := range sides {
		if s.Record == nil || s.Err != nil {
			continue
		}
		if s.Record.Role == RoleActive && s.Standby && s.Context == v.Active {
			v.Problems = append(v.Problems, fmt.Sprintf("%s is recorded active but carries the standby marker (run tandem activate --cluster %s)", s.Context, s.Context))
		}
		if s.Context != v.Active && v.Active != "" && !s.Standby {
			v.Problems = append(v.Problems, fmt.Sprintf("%s is not active but has no standby marker: its workloads may run", s.Context))
		}
	}
	return v
}

func deleteRecord(ctx context.Context, c *cluster.Conn) error {
	err := c.Typed.CoreV1().ConfigMaps(standby.MarkerNamespace).Delete(ctx, RecordName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the record of %s: %w", c.Context, err)
	}
	return nil
}

// SetRole records that c now has role (after `tandem activate`, `deactivate`
// or `sync --standby`): its record moves to an epoch above both clusters'
// so it is the newest word. peer may be nil when it is unknown or
// unreachable; the epoch is then above c's own only.
func SetRole(ctx context.Context, c, peer *cluster.Conn, role, reason string) (*Record, error) {
	own, err := ReadRecord(ctx, c)
	if err != nil {
		return nil, err
	}
	rec := &Record{Role: role, Who: Who(), Reason: reason}
	if own != nil {
		rec.Epoch, rec.Peer, rec.PeerContext, rec.Router, rec.LastDrill = own.Epoch, own.Peer, own.PeerContext, own.Router, own.LastDrill
	}
	if peer != nil {
		pr, err := ReadRecord(ctx, peer)
		if err != nil {
			return nil, err
		}
		if pr != nil {
			rec.Epoch = max(rec.Epoch, pr.Epoch)
			if rec.Router == "" {
				rec.Router = pr.Router
			}
		}
		if id, err := peer.Identity(ctx); err == nil {
			rec.Peer, rec.PeerContext = id, peer.Context
		}
	}
	rec.Epoch++
	return rec, WriteRecord(ctx, c, rec)
}

// RememberedRouter is the router URL of the newest record among conns ("" if
// none): the router the last switchover used, so a later one, `status` and a
// drill need not be told again.
func RememberedRouter(ctx context.Context, conns ...*cluster.Conn) string {
	var best *Record
	for _, c := range conns {
		if c == nil {
			continue
		}
		if r, err := ReadRecord(ctx, c); err == nil && r != nil && r.Router != "" && (best == nil || r.Epoch > best.Epoch) {
			best = r
		}
	}
	if best == nil || redirects(best.Router) {
		return ""
	}
	return best.Router
}

// redirects says whether a router URL sends its calls to an endpoint of its
// own (endpoint=): anyone who can write tandem-system could point a
// remembered one at a server of theirs, so such a URL is used only when the
// user gives it (--router), never from a record.
func redirects(router string) bool {
	u, err := url.Parse(router)
	return err != nil || u.Query().Get("endpoint") != ""
}

// RememberDrill keeps a drill's result in c's record.
func RememberDrill(ctx context.Context, c *cluster.Conn, d *Drilled) error {
	r, err := ReadRecord(ctx, c)
	if err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("%s has no record", c.Context)
	}
	r.LastDrill = d
	return WriteRecord(ctx, c, r)
}
