package traffic

// The shift's journal: a Shifter with a JournalPath begins its run there,
// resumes an interrupted run of the same plan, and writes every step.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/tandem-io/tandem/pkg/journal"
)

// RouterKey names a router's journal: one shift at a time per router URL.
func RouterKey(routerURL string) string {
	sum := sha256.Sum256([]byte(routerURL))
	return hex.EncodeToString(sum[:6])
}

// JournalPath is the journal file, under dir, of the shifts through the
// router routerURL names.
func JournalPath(dir, routerURL string) string {
	return filepath.Join(dir, "shift-"+RouterKey(routerURL)+".jsonl")
}

// shiftLog writes a shift's records: to a journal.Run (JournalPath), to the
// journal the caller opened (the deprecated Journal and Run fields), or
// nowhere.
// shiftLog is the shift's journal run; with no JournalPath it writes nothing.
type shiftLog struct {
	run *journal.Run
}

// openLog begins the shift's run at s.JournalPath: an interrupted run of the
// same plan is resumed (its done steps are returned); an interrupted run of
// another plan is left as it is and a fresh run begins.
func (s *Shifter) openLog() (*shiftLog, map[string]bool, error) {
	if !s.journaled() {
		return &shiftLog{}, nil, nil
	}
	detail := map[string]string{DetailPlan: s.Plan.Key()}
	begin := func(resume journal.Resume) (*journal.Run, error) {
		j, recs, err := s.openJournal()
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		run, _, err := journal.BeginIn(j, recs, resume, detail)
		if err != nil {
			j.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		return run, nil
	}
	run, err := begin(journal.Continue)
	if err != nil {
		return nil, nil, err
	}
	if run.Resumed && run.Start[DetailPlan] != s.Plan.Key() {
		run.Close()
		if run, err = begin(journal.Fresh); err != nil {
			return nil, nil, err
		}
	}
	var done map[string]bool
	if run.Resumed {
		done = run.DoneKeys()
	}
	return &shiftLog{run: run}, done, nil
}

// runID is the id of the interrupted run a Shifter with a JournalPath
// resumes ("" otherwise).
func (l *shiftLog) runID() string {
	if l.run != nil && l.run.Resumed {
		return l.run.ID
	}
	return ""
}

func (l *shiftLog) intent(key string, detail map[string]string) error {
	if l.run != nil {
		return l.run.Intent(key, detail)
	}
	return nil
}

func (l *shiftLog) done(key string) error {
	if l.run != nil {
		return l.run.MarkDone(key, nil)
	}
	return nil
}

func (l *shiftLog) failed(key, reason string) error {
	if l.run != nil {
		return l.run.Failed(key, reason)
	}
	return nil
}

func (l *shiftLog) rolledBack(key, reason string) error {
	detail := map[string]string{DetailReason: reason}
	if l.run != nil {
		return l.run.Note(OpRollback, key, detail)
	}
	return nil
}

// end says the run is over; reason "" for a shift that completed.
func (l *shiftLog) end(reason string) error {
	var detail map[string]string
	if reason != "" {
		detail = map[string]string{DetailReason: reason}
	}
	if l.run != nil {
		return l.run.End(detail)
	}
	return nil
}

func (l *shiftLog) close() {
	if l.run != nil {
		l.run.Close()
	}
}

// endInterrupted ends the interrupted run of the journal, if any, with
// reason: the safe weights are in place, so a re-run starts from the first step.
func (s *Shifter) endInterrupted(reason string) error {
	j, recs, err := s.openJournal()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer j.Close()
	last, ended := journal.LastRun(recs)
	if len(last) == 0 || ended {
		return nil
	}
	if err := j.Append(journal.Record{Run: last[0].Run, Op: journal.OpEnd, Detail: map[string]string{DetailReason: reason}}); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
