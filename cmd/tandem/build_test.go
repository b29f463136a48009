package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestBuildLinksNoPluginLoader checks that the binary `make build` makes
// does not link Go's plugin package. A binary that can load plugins keeps
// every exported method and symbol of every package it links (the linker
// cannot tell what a plugin will call): tandem's grew from 66 MB to 190 MB
// with it, and pages more of itself in at run time. kustomize, which
// cli-runtime and kubectl's drain link, imports plugin unless the build
// tags in the Makefile leave its loader out; a new dependency may bring it
// back another way.
func TestBuildLinksNoPluginLoader(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TAGS\s*:=\s*(.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no TAGS for `make build`")
	}
	tags := strings.TrimSpace(string(m[1]))
	out, err := exec.Command("go", "list", "-deps", "-tags", tags, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "plugin" {
			t.Fatalf("with tags %q the binary still links the plugin package (go mod why -m, go list -deps show who imports it)", tags)
		}
	}
}
