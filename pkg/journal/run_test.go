package journal

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestRunResumesWhereItStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verb.jsonl")
	r, prev, err := Begin(path, Continue, map[string]string{"source": "a"})
	if err != nil || prev != nil || r.Resumed {
		t.Fatalf("first Begin: %v, previous %+v, resumed %v", err, prev, r.Resumed)
	}
	if ran, err := r.Step("one", map[string]string{"replicas": "3"}, func() (map[string]string, error) { return map[string]string{"x": "1"}, nil }); !ran || err != nil {
		t.Fatalf("step one: ran %v, %v", ran, err)
	}
	if _, err := r.Step("two", map[string]string{"replicas": "5"}, func() (map[string]string, error) { return nil, errors.New("boom") }); err == nil {
		t.Fatal("step two: want its error")
	}
	r.Close() // a crash: no End

	r2, prev, err := Begin(path, Continue, map[string]string{"source": "b"})
	if err != nil || prev == nil || prev.Done != 1 || !r2.Resumed || r2.ID != r.ID || r2.Start["source"] != "a" {
		t.Fatalf("resume: %v, previous %+v, run %+v", err, prev, r2)
	}
	if d, ok := r2.Done("one"); !ok || d["x"] != "1" {
		t.Errorf("step one done with detail x=1, got %v %v", d, ok)
	}
	ran, _ := r2.Step("one", nil, func() (map[string]string, error) { t.Error("a done step ran again"); return nil, nil })
	if ran {
		t.Error("Step reported a done step as run")
	}
	if got := r2.FirstIntent("two")["replicas"]; got != "5" {
		t.Errorf("the first intent of two is kept across the crash: replicas %q, want 5", got)
	}
	if err := r2.End(nil); err != nil {
		t.Fatal(err)
	}
	r2.Close()

	r3, prev, err := Begin(path, Continue, nil)
	if err != nil || prev != nil || r3.Resumed || r3.ID == r.ID {
		t.Fatalf("after End a new run begins: %v, previous %+v, run %+v", err, prev, r3)
	}
	r3.Close()

	// Fresh: an interrupted run is reported, not continued.
	r4, prev, err := Begin(path, Fresh, nil)
	if err != nil || prev == nil || prev.ID != r3.ID || r4.Resumed || r4.ID == r3.ID {
		t.Fatalf("Fresh: %v, previous %+v, run %+v", err, prev, r4)
	}
	r4.Close()
}
