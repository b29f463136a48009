package journal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Record is one line of a journal.
type Record struct {
	Time   time.Time         `json:"time"`
	Run    string            `json:"run"`              // run id
	Op     string            `json:"op"`               // "start", "intent", "done", "failed", "end", or a verb's own step names
	Key    string            `json:"key,omitempty"`    // the object or step the record is about
	Detail map[string]string `json:"detail,omitempty"` // anything else the verb needs to resume or report
}

// The ops every verb shares.
const (
	OpStart  = "start"  // a run begins
	OpIntent = "intent" // a step is about to change something
	OpDone   = "done"   // a step finished
	OpFailed = "failed" // a step failed
	OpEnd    = "end"    // the run finished; nothing to resume
)

// Log is where a run's records go: a Journal file, or (for the controller)
// an object in the management cluster holding the same records.
type Log interface {
	Append(r Record) error
	Close() error
}

// Buffered is a Log that can also take a record without waiting for it to
// reach the disk (AppendBuffered): the next Append's fsync, or Close, makes
// it durable. A process that dies keeps it (it is in the kernel's cache); a
// machine that dies may lose it. For records whose loss costs a report, not
// a resume: a sync's per-object records, whose re-run is idempotent anyway.
type Buffered interface {
	Log
	AppendBuffered(r Record) error
}

// Journal is an open journal file.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	lock *os.File // holds the flock for as long as the journal is open
	path string
	// Group commit: records written and records known on disk, counted;
	// one fsync at a time covers every record written before it began, and
	// the writers of those records wait for it instead of each syncing.
	written, synced uint64
	syncing         bool
	syncErr         error // a failed fsync: nothing after it is known on disk
	cond            *sync.Cond
}

// Open opens (creating) the journal at path, with its directory, and reads
// the existing records. The journal is the caller's alone until Close: a
// second Open, from this process or another, fails with ErrBusy naming the
// holder, and touches nothing.
func Open(path string) (*Journal, []Record, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("journal directory: %w", err)
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	recs, end, err := read(f, path)
	if err == nil {
		err = cutTail(f, end)
	}
	if err != nil {
		f.Close()
		lock.Close()
		return nil, nil, err
	}
	j := &Journal{f: f, lock: lock, path: path}
	j.cond = sync.NewCond(&j.mu)
	return j, recs, nil
}

// marshal is one record as its line.
func marshal(r Record) []byte {
	b, _ := json.Marshal(r)
	return append(b, '\n')
}

// ReadFile reads the records of the journal at path without opening it for
// writing: a reader beside a running verb (the dashboard) never cuts what
// that verb is writing. A line still being written is left out.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, _, err := read(f, path)
	return recs, err
}

// read parses every record and returns the offset just past the last good one.
// Only the last line may be bad: that is a write the crash cut short. A bad
// line with good records after it is corruption, and an error.
func read(f *os.File, path string) ([]Record, int64, error) {
	var recs []Record
	end, err := scan(f, path, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return recs, end, nil
}

// scan is read one record at a time: each good record goes to fn, and the
// file is never held whole (a large sync's journal has two records per
// object until it is compacted).
func scan(f *os.File, path string, fn func(Record) error) (int64, error) {
	br := bufio.NewReaderSize(f, 64<<10)
	var (
		off, end int64
		bad      int // 1-based line number of a bad line, 0 if none
	)
	for n := 1; ; n++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return 0, fmt.Errorf("read journal %s: %w", path, rerr)
		}
		off += int64(len(line))
		if len(bytes.TrimSpace(line)) > 0 {
			if bad != 0 {
				return 0, fmt.Errorf("journal %s: line %d is corrupt", path, bad)
			}
			var r Record
			// A torn line may still parse if it lacks only its newline; it is
			// complete JSON, so it is kept.
			if err := json.Unmarshal(line, &r); err != nil {
				bad = n
			} else {
				if err := fn(r); err != nil {
					return 0, err
				}
				end = off
			}
		}
		if rerr == io.EOF {
			return end, nil
		}
	}
}

// cutTail truncates the file after the last good record and makes sure it ends
// in a newline, so the next Append starts a line of its own.
func cutTail(f *os.File, end int64) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	changed := false
	if end < st.Size() {
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("journal: drop torn last line: %w", err)
		}
		changed = true
	}
	if end > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, end-1); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if last[0] != '\n' {
			// O_APPEND: the write lands at the (new) end of the file.
			if _, err := f.Write([]byte{'\n'}); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			changed = true
		}
	}
	if changed {
		return f.Sync()
	}
	return nil
}

// Append writes one record and returns once it is on disk (fsynced); safe
// for concurrent use, where one fsync covers the records of every writer
// waiting (group commit). A zero Time is set to now.
func (j *Journal) Append(r Record) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(b); err != nil {
		return err
	}
	mine := j.written
	for j.synced < mine {
		if j.syncErr != nil {
			return fmt.Errorf("journal %s: sync: %w", j.path, j.syncErr)
		}
		if j.syncing {
			j.cond.Wait() // an fsync is under way; the next one covers this record
			continue
		}
		j.syncing = true
		upTo, f := j.written, j.f
		j.mu.Unlock()
		err := f.Sync()
		j.mu.Lock()
		j.syncing = false
		if err != nil {
			j.syncErr = err
		} else {
			j.synced = upTo
		}
		j.cond.Broadcast()
	}
	return nil
}

// AppendBuffered writes one record without waiting for the disk (see
// Buffered); safe for concurrent use.
func (j *Journal) AppendBuffered(r Record) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.write(b)
}

// encode is r's line in the file. A zero Time is set to now.
func encode(r Record) ([]byte, error) {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("journal record: %w", err)
	}
	return append(b, '\n'), nil
}

// write writes one record's line to the file (j.mu held).
func (j *Journal) write(b []byte) error {
	if j.f == nil {
		return fmt.Errorf("journal %s: closed", j.path)
	}
	if j.syncErr != nil {
		return fmt.Errorf("journal %s: sync: %w", j.path, j.syncErr)
	}
	// One write per record: concurrent records never interleave within a line.
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal %s: write: %w", j.path, err)
	}
	j.written++
	return nil
}

// Close makes what was written durable and closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.syncing {
		j.cond.Wait() // an fsync in flight uses the file
	}
	if j.f == nil {
		return nil
	}
	var err error
	if j.synced < j.written && j.syncErr == nil {
		err = j.f.Sync() // buffered records
	}
	err = errors.Join(err, j.f.Close())
	j.f = nil
	if j.lock != nil {
		j.lock.Close() // releases the flock
		j.lock = nil
	}
	return err
}

// LastRun returns the records of the most recent run in recs and whether it ended (has an "end" record).
// The most recent run is the run of the last record.
func LastRun(recs []Record) (run []Record, ended bool) {
	if len(recs) == 0 {
		return nil, false
	}
	id := recs[len(recs)-1].Run
	for _, r := range recs {
		if r.Run != id {
			continue
		}
		run = append(run, r)
		if r.Op == OpEnd {
			ended = true
		}
	}
	return run, ended
}

// Done returns the keys with a "done" record in run.
func Done(run []Record) map[string]bool {
	done := map[string]bool{}
	for _, r := range run {
		if r.Op == OpDone {
			done[r.Key] = true
		}
	}
	return done
}

// NewRunID returns a sortable unique run id (time-based + random suffix).
// The fixed-width UTC time sorts as text; e.g. "20260721T101500.123Z-3f9a2c1d".
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return time.Now().UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}
