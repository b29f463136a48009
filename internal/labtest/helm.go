package labtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-io/tandem/pkg/lab"
)

// HelmVersion is the helm built when none is on PATH.
const HelmVersion = "v3.22.0"

// Helm returns the path of a helm v3 binary (see HelmBinary); it fails the
// test, with the build's output, when there is none and none can be built.
func Helm(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bin, err := HelmBinary(ctx)
	if err != nil {
		t.Fatalf("helm: %v", err)
	}
	return bin
}

// HelmBinary returns the helm on PATH if it is v3; otherwise helm
// HelmVersion built from the Go module proxy and cached as
// ${XDG_CACHE_HOME:-~/.cache}/tandem/bin/helm-HelmVersion. The first build
// takes minutes; a lock beside the binary makes concurrent callers wait for
// one build rather than run their own.
func HelmBinary(ctx context.Context) (string, error) {
	if p, err := exec.LookPath("helm"); err == nil {
		out, err := exec.CommandContext(ctx, p, "version", "--short").Output()
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(out)), "v3.") {
			return p, nil
		}
	}
	bin := filepath.Join(lab.DefaultCacheDir(), "bin", "helm-"+HelmVersion)
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", bin, err)
	}
	if isExecutable(bin) { // built by whoever held the lock before us
		return bin, nil
	}
	if err := buildHelm(ctx, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// buildHelm builds helm.sh/helm/v3/cmd/helm at HelmVersion in a throwaway
// module, through a temporary file so a crash never leaves a half-written
// binary behind.
func buildHelm(ctx context.Context, bin string) error {
	dir, err := os.MkdirTemp("", "helmbuild-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gomod := "module helmbuild\n\ngo 1.24\n\nrequire helm.sh/helm/v3 " + HelmVersion + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "labtest: building helm %s into %s (first run only; takes minutes)\n", HelmVersion, bin)
	goCmd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("build helm %s: go %s failed after %s: %w\n%s", HelmVersion,
				strings.Join(args, " "), time.Since(start).Round(time.Second), err, out)
		}
		return string(out), nil
	}
	// As helm's Makefile does: the Kubernetes version helm assumes without a
	// cluster (.Capabilities.KubeVersion, lint's deprecations) is client-go's.
	ldflags := "-s -w -X helm.sh/helm/v3/internal/version.version=" + HelmVersion
	clientGo, err := goCmd("list", "-mod=mod", "-m", "-f", "{{.Version}}", "k8s.io/client-go")
	if err != nil {
		return err
	}
	if v := strings.Split(strings.TrimPrefix(strings.TrimSpace(clientGo), "v"), "."); len(v) == 3 && v[0] == "0" {
		for _, pkg := range []string{"pkg/chartutil", "pkg/lint/rules"} {
			ldflags += fmt.Sprintf(" -X helm.sh/helm/v3/%s.k8sVersionMajor=1 -X helm.sh/helm/v3/%s.k8sVersionMinor=%s", pkg, pkg, v[1])
		}
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp)
	if _, err := goCmd("build", "-mod=mod", "-trimpath", "-ldflags", ldflags, "-o", tmp, "helm.sh/helm/v3/cmd/helm"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "labtest: built helm %s in %s\n", HelmVersion, time.Since(start).Round(time.Second))
	return os.Rename(tmp, bin)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
