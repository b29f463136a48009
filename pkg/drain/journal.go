package drain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/journal"
)

// Journal detail keys.
const (
	detailCluster = "cluster" // start: the cluster's context
	detailNodes   = "nodes"   // start: the node selector
	detailUndo    = "undo"    // end: the run was ended by --undo
)

// JournalPath is the journal file, under dir, of the drains of the nodes
// selects in the cluster with identity clusterID: one per cluster and selector.
func JournalPath(dir, clusterID string, nodes labels.Selector) string {
	sum := sha256.Sum256([]byte(clusterID + "\x00" + nodes.String()))
	return filepath.Join(dir, "drain-"+hex.EncodeToString(sum[:8])+".jsonl")
}

// begin begins the drain's run in the journal at o.JournalPath (nil when
// there is none): an interrupted drain goes on under its own id, the nodes
// it drained stay done.
func (o Options) begin() (*journal.Run, error) {
	if o.JournalPath == "" {
		return nil, nil
	}
	run, prev, err := journal.Begin(o.JournalPath, journal.Continue, o.startDetail())
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if prev != nil && o.Resuming != nil {
		o.Resuming(prev.ID, prev.Done)
	}
	return run, nil
}

func (o Options) startDetail() map[string]string {
	return map[string]string{detailCluster: o.Cluster, detailNodes: o.Nodes.String()}
}

// endUndone ends the drain's run after an undo, so that the next drain starts
// over. Its errors are dropped: the undo itself is done, and a journal left
// open only makes the next drain say it resumes.
func (o Options) endUndone() {
	if o.JournalPath == "" {
		return
	}
	run, _, err := journal.Begin(o.JournalPath, journal.Continue, o.startDetail())
	if err != nil {
		return
	}
	defer run.Close()
	_ = run.End(map[string]string{detailUndo: "true"})
}

// done says whether an interrupted run of this drain drained node.
func (r *run) done(node string) bool {
	if r.journal == nil {
		return false
	}
	_, ok := r.journal.Done(node)
	return ok
}

// step runs f as node's step of the journal: intent before, done after.
func (r *run) step(node string, f func() error) error {
	if r.journal == nil {
		return f()
	}
	_, err := r.journal.Step(node, nil, func() (map[string]string, error) { return nil, f() })
	return err
}
