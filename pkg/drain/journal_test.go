package drain

import (
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

func TestJournalPath(t *testing.T) {
	// The file name is where earlier drains left their journal: it must not change.
	a := JournalPath("/j", "uid", labels.SelectorFromSet(labels.Set{"pool": "old"}))
	if want := filepath.Join("/j", "drain-8ad5bb3936b26cf9.jsonl"); a != want {
		t.Errorf("JournalPath = %s, want %s", a, want)
	}
	if b := JournalPath("/j", "uid", labels.SelectorFromSet(labels.Set{"pool": "new"})); a == b {
		t.Errorf("two node selectors share the journal %s", a)
	}
	if b := JournalPath("/j", "other", labels.SelectorFromSet(labels.Set{"pool": "old"})); a == b {
		t.Errorf("two clusters share the journal %s", a)
	}
}
