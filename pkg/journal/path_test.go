package journal

import (
	"path/filepath"
	"testing"
)

func TestPath(t *testing.T) {
	cases := []struct {
		name string
		verb string
		ids  []string
		want string
	}{
		{"two clusters", "sync", []string{"0f3c9a51-2b6e-4e7a", "a1b2c3d4e5f6"}, "sync-0f3c9a51-a1b2c3d4.jsonl"},
		{"one cluster", "activate", []string{"a1b2c3d4e5f6"}, "activate-a1b2c3d4.jsonl"},
		{"short id kept whole", "deactivate", []string{"abc"}, "deactivate-abc.jsonl"},
		{"unknown identities", "sync", []string{"", ""}, "sync--.jsonl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Path("/state/journal", tc.verb, tc.ids...); got != filepath.Join("/state/journal", tc.want) {
				t.Errorf("Path = %s, want %s", got, filepath.Join("/state/journal", tc.want))
			}
		})
	}
}
