package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"syscall"
	"time"
)

// ErrBusy is wrapped when another run has the journal open.
var ErrBusy = errors.New("the journal is in use by another run")

// lockFile takes the exclusive lock of the journal at path for as long as
// the returned file stays open: a flock on "<path>.lock" (a file of its own,
// so that compacting the journal, which replaces it, keeps the lock). The
// lock file says who holds it, for the refusal of a second run.
func lockFile(path string) (*os.File, error) {
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal lock: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path + ".lock")
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("%w: %s is held by %s", ErrBusy, path, who)
		}
		return nil, fmt.Errorf("journal lock: %w", err)
	}
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	_ = lf.Truncate(0)
	_, _ = lf.WriteAt([]byte(fmt.Sprintf("pid %d (%s@%s) since %s\n", os.Getpid(), name, host, time.Now().UTC().Format(time.RFC3339))), 0)
	return lf, nil
}

// compact rewrites the journal with only the records of run (the one that
// just ended; with summary only its start and end): the history before it
// is never read again, and a journal must not grow with every run. The
// rewrite is a new file renamed over the old one, so a crash leaves either
// whole.
func (j *Journal) compact(run string, summary bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	if _, err := j.f.Seek(0, 0); err != nil {
		return err
	}
	tmp := j.path + ".compact"
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// Record by record from the old file to the new one: a large run's
	// records are never all in memory.
	w := bufio.NewWriterSize(nf, 64<<10)
	_, err = scan(j.f, j.path, func(r Record) error {
		if r.Run == run && (!summary || r.Op == OpStart || r.Op == OpEnd) {
			_, err := w.Write(marshal(r))
			return err
		}
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = nf.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		nf.Close()
		os.Remove(tmp)
		return fmt.Errorf("journal %s: compact: %w", j.path, err)
	}
	j.f.Close()
	j.f = nf
	return nil
}

// Compact keeps, in a journal file, only the records of run (which has
// ended): for verbs that write their end record themselves. Other logs are
// left as they are.
func Compact(l Log, run string) error {
	if j, ok := l.(*Journal); ok && run != "" {
		return j.compact(run, false)
	}
	return nil
}
