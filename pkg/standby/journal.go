package standby

import (
	"fmt"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/journal"
)

// Verb is a switch's direction; it names the switch's journal.
type Verb string

// The two switches.
const (
	VerbActivate   Verb = "activate"   // standby → active
	VerbDeactivate Verb = "deactivate" // active → standby
)

// detailCluster is the start record's detail key naming the cluster (its context).
const detailCluster = "cluster"

// JournalPath is the journal file, under dir, of the switches v of the
// cluster with identity clusterID.
func JournalPath(dir string, v Verb, clusterID string) string {
	return journal.Path(dir, string(v), clusterID)
}

// begin begins the switch's run in the journal at o.JournalPath (nil when
// there is none): an interrupted switch goes on under its own id, the
// objects it did stay done.
func (o Options) begin(c *cluster.Conn) (*journal.Run, error) {
	if o.JournalPath == "" {
		return nil, nil
	}
	run, prev, err := journal.Begin(o.JournalPath, journal.Continue, map[string]string{detailCluster: c.Context})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if prev != nil && o.Resuming != nil {
		o.Resuming(prev.ID, prev.Done)
	}
	return run, nil
}

// end writes that the switch finished: nothing to resume.
func end(run *journal.Run) error {
	if run == nil {
		return nil
	}
	return run.End(nil)
}
