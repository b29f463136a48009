package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// lab down removes a lab's directory, never one that is not a lab's.
func TestDownRemovesOnlyALabsDirectory(t *testing.T) {
	notLab := t.TempDir()
	keep := filepath.Join(notLab, "thesis.tex")
	if err := os.WriteFile(keep, []byte("years of work"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Lab{Dir: notLab}).Down(context.Background()); err == nil {
		t.Fatal("lab down removed a directory that is not a lab's")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the file is gone: %v", err)
	}

	lab := t.TempDir()
	for _, f := range []string{"state.json", "logs/blue-etcd.log"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(lab, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(lab, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := (&Lab{Dir: lab}).Down(context.Background()); err != nil {
		t.Fatalf("lab down of a lab: %v", err)
	}
	if _, err := os.Stat(lab); !os.IsNotExist(err) {
		t.Fatalf("the lab's directory is still there: %v", err)
	}
}

// Only the provisioner's own volume directories are taken for a lab's.
func TestProvisionedDir(t *testing.T) {
	for path, want := range map[string]bool{
		"/tmp/hostpath_pv/6f1c2e0a-1b2c-4d5e-8f90-123456789abc":  true,
		"/tmp/hostpath_pv/6f1c2e0a-1b2c-4d5e-8f90-123456789abc/": true,
		"/tmp/hostpath_pv":             false,
		"/tmp/hostpath_pv/..":          false,
		"/tmp/hostpath_pv/a/../../etc": false,
		"/tmp/hostpath_pv/uuid/sub":    false,
		"/data/vault":                  false,
		"/tmp/hostpath_pv/.":           false,
	} {
		if _, got := provisionedDir(path); got != want {
			t.Errorf("provisionedDir(%q) = %v, want %v", path, got, want)
		}
	}
}
