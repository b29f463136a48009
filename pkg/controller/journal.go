package controller

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/tandem-io/tandem/pkg/journal"
)

// journalKey is the ConfigMap key holding the records, one JSON line each
// (the format of a journal file).
const journalKey = "journal.jsonl"

// configMapLog is a journal kept in a ConfigMap of the management cluster,
// owned by the resource it journals (deleted with it). Every Append is a
// read-modify-write guarded by the resourceVersion: it lands whole or not
// at all, and the replica holding the leader Lease is the only writer.
type configMapLog struct {
	client client.Client
	reader client.Reader
	key    types.NamespacedName
	// onAppend hears each record once it is stored (status follows the journal).
	onAppend func(journal.Record)

	mu sync.Mutex
}

// openConfigMapLog returns the journal named key, creating it owned by
// owner, with the records it holds.
func openConfigMapLog(ctx context.Context, c client.Client, r client.Reader, key types.NamespacedName, owner client.Object, onAppend func(journal.Record)) (*configMapLog, []journal.Record, error) {
	var cm corev1.ConfigMap
	err := r.Get(ctx, key, &cm)
	if apierrors.IsNotFound(err) {
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "tandem", "tandem.io/journal-of": owner.GetName()}}}
		if err := controllerutil.SetControllerReference(owner, &cm, c.Scheme()); err != nil {
			return nil, nil, err
		}
		if err = c.Create(ctx, &cm); apierrors.IsAlreadyExists(err) {
			err = r.Get(ctx, key, &cm)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal ConfigMap %s: %w", key, err)
	}
	recs, err := parseRecords(cm.Data[journalKey])
	if err != nil {
		return nil, nil, fmt.Errorf("journal ConfigMap %s: %w", key, err)
	}
	return &configMapLog{client: c, reader: r, key: key, onAppend: onAppend}, recs, nil
}

// readConfigMapLog returns the records of the journal named key (none when
// it does not exist).
func readConfigMapLog(ctx context.Context, r client.Reader, key types.NamespacedName) ([]journal.Record, error) {
	var cm corev1.ConfigMap
	if err := r.Get(ctx, key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return parseRecords(cm.Data[journalKey])
}

func parseRecords(s string) ([]journal.Record, error) {
	var recs []journal.Record
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r journal.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("record %d: %w", len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	return recs, sc.Err()
}

// Append implements journal.Log.
func (l *configMapLog) Append(r journal.Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal record: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// The write must land even while the run is being cancelled (its undo is journaled too).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		var cm corev1.ConfigMap
		if err := l.reader.Get(ctx, l.key, &cm); err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[journalKey] += string(b) + "\n"
		return l.client.Update(ctx, &cm)
	})
	if err != nil {
		return fmt.Errorf("journal ConfigMap %s: %w", l.key, err)
	}
	if l.onAppend != nil {
		l.onAppend(r)
	}
	return nil
}

// Close implements journal.Log.
func (l *configMapLog) Close() error { return nil }
