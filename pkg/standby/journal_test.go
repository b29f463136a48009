package standby

import (
	"path/filepath"
	"testing"
)

func TestJournalPath(t *testing.T) {
	// Where earlier switches left their journal: it must not change.
	for v, want := range map[Verb]string{VerbActivate: "activate-a1b2c3d4.jsonl", VerbDeactivate: "deactivate-a1b2c3d4.jsonl"} {
		if got := JournalPath("/j", v, "a1b2c3d4e5f6"); got != filepath.Join("/j", want) {
			t.Errorf("JournalPath(%s) = %s, want %s", v, got, filepath.Join("/j", want))
		}
	}
}
