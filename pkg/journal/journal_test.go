package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 7, 21, 10, 15, 0, 0, time.UTC)

func rec(run, op, key string) Record {
	return Record{Time: t0, Run: run, Op: op, Key: key}
}

// line is r as Append writes it.
func line(t *testing.T, r Record) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func openT(t *testing.T, path string) (*Journal, []Record) {
	t.Helper()
	j, recs, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j, recs
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "sync", "journal.jsonl")
	j, recs := openT(t, path)
	if len(recs) != 0 {
		t.Fatalf("new journal has %d records", len(recs))
	}
	want := []Record{
		rec("r1", OpStart, ""),
		{Time: t0, Run: "r1", Op: OpIntent, Key: "apps/Deployment shop/web", Detail: map[string]string{"hash": "abc"}},
		rec("r1", OpDone, "apps/Deployment shop/web"),
	}
	for _, r := range want {
		if err := j.Append(r); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := j.Append(Record{Run: "r1", Op: OpEnd}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := j.Append(rec("r1", OpEnd, "")); err == nil {
		t.Errorf("Append after Close succeeded")
	}

	_, got := openT(t, path)
	if len(got) != 4 || got[3].Time.IsZero() || got[3].Op != OpEnd {
		t.Fatalf("got %+v, want 4 records ending in an end with its time set", got)
	}
	if diff := cmp.Diff(want, got[:3]); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestTornTail(t *testing.T) {
	a, b := rec("r1", OpStart, ""), rec("r1", OpDone, "x")
	after := rec("r2", OpStart, "")
	cases := []struct {
		name    string
		content string
		want    []Record
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"clean", line(t, a) + line(t, b), []Record{a, b}, ""},
		{"torn mid-record", line(t, a) + `{"time":"2026-07-21T10:15:00Z","run":"r1","op":"do`, []Record{a}, ""},
		{"complete but no newline", line(t, a) + strings.TrimSuffix(line(t, b), "\n"), []Record{a, b}, ""},
		{"zero-filled tail", line(t, a) + "\x00\x00\x00\x00\n", []Record{a}, ""},
		{"only a torn line", `{"ti`, nil, ""},
		{"blank lines", line(t, a) + "\n\n" + line(t, b), []Record{a, b}, ""},
		{"corrupt middle", line(t, a) + "garbage\n" + line(t, b), nil, "line 2 is corrupt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			j, got, err := Open(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			// The next record must land on a line of its own.
			if err := j.Append(after); err != nil {
				t.Fatalf("Append: %v", err)
			}
			j.Close()
			_, again := openT(t, path)
			if diff := cmp.Diff(append(tc.want, after), again, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("records after Append (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentAppend(t *testing.T) {
	const writers, each = 8, 50
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := openT(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- j.Append(Record{Run: "r", Op: OpDone, Key: fmt.Sprintf("%d/%d", w, i),
					Detail: map[string]string{"pad": strings.Repeat("x", 512)}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	j.Close()

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != writers*each {
		t.Errorf("%d lines, want %d", n, writers*each)
	}
	_, recs := openT(t, path)
	got := Done(recs)
	want := map[string]bool{}
	for w := range writers {
		for i := range each {
			want[fmt.Sprintf("%d/%d", w, i)] = true
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}

func TestLastRunAndDone(t *testing.T) {
	cases := []struct {
		name      string
		recs      []Record
		wantRun   []Record
		wantEnded bool
		wantDone  map[string]bool
	}{
		{"no records", nil, nil, false, map[string]bool{}},
		{"ended run", []Record{rec("r1", OpStart, ""), rec("r1", OpDone, "a"), rec("r1", OpEnd, "")},
			[]Record{rec("r1", OpStart, ""), rec("r1", OpDone, "a"), rec("r1", OpEnd, "")}, true, map[string]bool{"a": true}},
		{"crashed second run", []Record{
			rec("r1", OpStart, ""), rec("r1", OpDone, "a"), rec("r1", OpEnd, ""),
			rec("r2", OpStart, ""), rec("r2", OpIntent, "a"), rec("r2", OpDone, "a"),
			rec("r2", OpIntent, "b"), rec("r2", OpFailed, "b"), rec("r2", OpIntent, "c"),
		}, []Record{
			rec("r2", OpStart, ""), rec("r2", OpIntent, "a"), rec("r2", OpDone, "a"),
			rec("r2", OpIntent, "b"), rec("r2", OpFailed, "b"), rec("r2", OpIntent, "c"),
		}, false, map[string]bool{"a": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run, ended := LastRun(tc.recs)
			if diff := cmp.Diff(tc.wantRun, run); diff != "" {
				t.Errorf("LastRun (-want +got):\n%s", diff)
			}
			if ended != tc.wantEnded {
				t.Errorf("ended = %v, want %v", ended, tc.wantEnded)
			}
			if diff := cmp.Diff(tc.wantDone, Done(run)); diff != "" {
				t.Errorf("Done (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewRunID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewRunID()
		if seen[id] {
			t.Fatalf("duplicate run id %s", id)
		}
		seen[id] = true
	}
	first := NewRunID()
	time.Sleep(2 * time.Millisecond)
	if second := NewRunID(); second <= first {
		t.Errorf("run ids do not sort by time: %s then %s", first, second)
	}
}

// A second run cannot open a journal in use: it is refused naming the
// holder, and the journal is left byte for byte as the first one wrote it.
func TestSecondOpenIsRefusedAndTouchesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append(rec("r1", OpStart, "")); err != nil {
		t.Fatal(err)
	}
	// A torn last line, as a crash mid-write would leave (the first run's next Append completes it).
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	_, _ = f.WriteString(`{"run":"r1","op":"int`)
	f.Close()
	before, _ := os.ReadFile(path)
	if _, _, err := Open(path); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatalf("a refused open changed the journal:\n%q\n%q", before, after)
	}
	j.Close()
	if j2, _, err := Open(path); err != nil {
		t.Fatalf("open after close: %v", err)
	} else {
		j2.Close()
	}
}

// A journal does not grow with history: an ended run leaves only itself
// (EndSummary: its start and end), and opening it takes no longer after
// many runs.
func TestEndedRunsAreCompacted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sync.jsonl")
	for i := 0; i < 20; i++ {
		run, _, err := Begin(path, Fresh, map[string]string{"i": fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 200; k++ {
			key := fmt.Sprintf("ConfigMap ns/cm-%05d", k)
			if err := run.Intent(key, nil); err != nil {
				t.Fatal(err)
			}
			if err := run.MarkDone(key, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := run.EndSummary(map[string]string{"created": "200"}); err != nil {
			t.Fatal(err)
		}
		run.Close()
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 4096 {
		t.Fatalf("journal after 20 runs of 200 objects: %d bytes", st.Size())
	}
	j, recs, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(recs) != 2 || recs[0].Detail["i"] != "19" {
		t.Fatalf("compacted journal holds %d records: %+v", len(recs), recs)
	}
}

// Buffered records land in the file in their order among synced ones; an
// Append's fsync covers them, and so does Close.
func TestBufferedRecordsAreCoveredByTheNextSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := openT(t, path)
	want := []Record{rec("r1", OpStart, ""), rec("r1", OpIntent, "a"), rec("r1", OpDone, "a"), rec("r1", OpIntent, "b")}
	if err := j.Append(want[0]); err != nil {
		t.Fatal(err)
	}
	for _, r := range want[1:3] {
		if err := j.AppendBuffered(r); err != nil {
			t.Fatal(err)
		}
	}
	if j.synced != 1 || j.written != 3 {
		t.Fatalf("after two buffered records: %d of %d synced, want 1 of 3", j.synced, j.written)
	}
	if err := j.Append(want[3]); err != nil {
		t.Fatal(err)
	}
	if j.synced != 4 {
		t.Errorf("an Append's fsync covered %d of 4 records, want all", j.synced)
	}
	if err := j.AppendBuffered(rec("r1", OpDone, "b")); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.AppendBuffered(rec("r1", OpDone, "c")); err == nil {
		t.Error("AppendBuffered after Close succeeded")
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(append(want, rec("r1", OpDone, "b")), got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}
