package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Versions pinned for the lab's helper components.
const (
	EtcdVersion = "v3.6.6"
	KwokVersion = "v0.8.0"
)

// Progress receives one human line per step of long work.
type Progress func(format string, args ...any)

// Builder builds and caches the lab's binaries under CacheDir.
type Builder struct {
	CacheDir string
	Progress Progress
}

// DefaultCacheDir is ${XDG_CACHE_HOME:-~/.cache}/tandem.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "tandem")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "tandem")
}

var versionRE = regexp.MustCompile(`^v1\.(\d+)\.(\d+)$`)

// ValidateVersion checks a Kubernetes version has the form v1.MINOR.PATCH.
func ValidateVersion(v string) error {
	if !versionRE.MatchString(v) {
		return fmt.Errorf("kubernetes version %q: want the form v1.MINOR.PATCH, e.g. v1.37.2", v)
	}
	return nil
}

// KubeDir is where the Kubernetes binaries of one version are cached.
func (b *Builder) KubeDir(version string) string {
	return filepath.Join(b.CacheDir, "bin", "kubernetes-"+version)
}

// Kubernetes builds (or finds cached) the given commands of k8s.io/kubernetes
// at version and returns the directory that holds them.
func (b *Builder) Kubernetes(ctx context.Context, version string, cmds ...string) (string, error) {
	if err := ValidateVersion(version); err != nil {
		return "", err
	}
	out := b.KubeDir(version)
	missing := missingBinaries(out, cmds)
	if len(missing) == 0 {
		return out, nil
	}
	src := filepath.Join(b.CacheDir, "src", "kubernetes-"+version)
	if err := b.kubeWrapper(ctx, src, version, cmds); err != nil {
		return "", err
	}
	m := versionRE.FindStringSubmatch(version)
	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X k8s.io/component-base/version.gitVersion=" + version,
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=" + m[1],
		"-X k8s.io/component-base/version.gitTreeState=clean",
	}, " ")
	for _, c := range missing {
		if err := b.goBuild(ctx, src, filepath.Join(out, c), "k8s.io/kubernetes/cmd/"+c, ldflags, c+" "+version); err != nil {
			return "", err
		}
	}
	return out, nil
}

// kubeWrapper writes a module that requires k8s.io/kubernetes at version and
// replaces each staging module (which k8s.io/kubernetes points at ./staging)
// by its published v0.MINOR.PATCH.
func (b *Builder) kubeWrapper(ctx context.Context, dir, version string, cmds []string) error {
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil && toolsHas(dir, cmds) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.Progress("preparing wrapper module for k8s.io/kubernetes %s", version)
	modFile, err := downloadGoMod(ctx, dir, "k8s.io/kubernetes@"+version)
	if err != nil {
		return err
	}
	m := versionRE.FindStringSubmatch(version)
	staging := "v0." + m[1] + "." + m[2]
	var goLine string
	var replaces []string
	sc := bufio.NewScanner(bytes.NewReader(modFile))
	stagingRE := regexp.MustCompile(`^\s*(k8s\.io/[A-Za-z0-9._-]+)\s+=>\s+\./staging/`)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "go ") && goLine == "" {
			goLine = line
		}
		if mm := stagingRE.FindStringSubmatch(line); mm != nil {
			replaces = append(replaces, fmt.Sprintf("\t%s => %s %s", mm[1], mm[1], staging))
		}
	}
	if len(replaces) == 0 {
		return fmt.Errorf("k8s.io/kubernetes %s: no staging replace lines in its go.mod", version)
	}
	gomod := fmt.Sprintf("module tandem.lab/kubernetes\n\n%s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n%s\n)\n", goLine, version, strings.Join(replaces, "\n"))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	var imports []string
	for _, c := range cmds {
		imports = append(imports, fmt.Sprintf("\t_ %q", "k8s.io/kubernetes/cmd/"+c))
	}
	if err := writeTools(dir, imports); err != nil {
		return err
	}
	return b.tidy(ctx, dir, "k8s.io/kubernetes "+version)
}

// Etcd builds (or finds cached) etcd and returns its path.
func (b *Builder) Etcd(ctx context.Context) (string, error) {
	out := filepath.Join(b.CacheDir, "bin", "etcd-"+EtcdVersion)
	if len(missingBinaries(out, []string{"etcd"})) == 0 {
		return filepath.Join(out, "etcd"), nil
	}
	src := filepath.Join(b.CacheDir, "src", "etcd-"+EtcdVersion)
	if _, err := os.Stat(filepath.Join(src, "go.sum")); err != nil {
		if err := os.MkdirAll(src, 0o755); err != nil {
			return "", err
		}
		// Both modules pinned: otherwise tidy lifts the shared etcd modules to a newer minor.
		gomod := fmt.Sprintf("module tandem.lab/etcd\n\ngo 1.24\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 %s\n\tgo.etcd.io/etcd/etcdctl/v3 %s\n)\n", EtcdVersion, EtcdVersion)
		if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
			return "", err
		}
		if err := writeTools(src, []string{`	_ "go.etcd.io/etcd/server/v3"`, `	_ "go.etcd.io/etcd/etcdctl/v3"`}); err != nil {
			return "", err
		}
		if err := b.tidy(ctx, src, "etcd "+EtcdVersion); err != nil {
			return "", err
		}
	}
	if err := b.goBuild(ctx, src, filepath.Join(out, "etcd"), "go.etcd.io/etcd/server/v3", "-s -w", "etcd "+EtcdVersion); err != nil {
		return "", err
	}
	return filepath.Join(out, "etcd"), nil
}

// Kwok builds (or finds cached) kwok and copies the Stage documents of the
// same module version beside it; it returns the binary and the stage files.
func (b *Builder) Kwok(ctx context.Context) (string, []string, error) {
	out := filepath.Join(b.CacheDir, "bin", "kwok-"+KwokVersion)
	bin := filepath.Join(out, "kwok")
	stageNames := []string{
		"node/fast/node-initialize.yaml",
		"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
		"pod/fast/pod-ready.yaml",
		"pod/fast/pod-complete.yaml",
		"pod/fast/pod-delete.yaml",
	}
	var stages []string
	for _, s := range stageNames {
		stages = append(stages, filepath.Join(out, "stages", strings.ReplaceAll(s, "/", "_")))
	}
	if len(missingBinaries(out, []string{"kwok"})) == 0 && allExist(stages) {
		return bin, stages, nil
	}
	src := filepath.Join(b.CacheDir, "src", "kwok-"+KwokVersion)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", nil, err
	}
	info, err := goModDownload(ctx, src, "sigs.k8s.io/kwok@"+KwokVersion)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Join(out, "stages"), 0o755); err != nil {
		return "", nil, err
	}
	for i, s := range stageNames {
		data, err := os.ReadFile(filepath.Join(info.Dir, "kustomize", "stage", s))
		if err != nil {
			return "", nil, fmt.Errorf("kwok stage %s: %w", s, err)
		}
		if err := os.WriteFile(stages[i], data, 0o644); err != nil {
			return "", nil, err
		}
	}
	if len(missingBinaries(out, []string{"kwok"})) > 0 {
		// go install builds in module mode from the proxy, exactly as kwok's own go.mod pins.
		tmp := bin + ".tmp"
		err := b.run(ctx, src, "kwok "+KwokVersion, []string{"GOBIN=" + filepath.Join(out, ".gobin")}, "go", "install", "-trimpath", "-ldflags", "-s -w", "sigs.k8s.io/kwok/cmd/kwok@"+KwokVersion)
		if err != nil {
			return "", nil, err
		}
		if err := os.Rename(filepath.Join(out, ".gobin", "kwok"), tmp); err != nil {
			return "", nil, err
		}
		if err := os.Rename(tmp, bin); err != nil {
			return "", nil, err
		}
	}
	return bin, stages, nil
}

func (b *Builder) tidy(ctx context.Context, dir, what string) error {
	return b.run(ctx, dir, "go mod tidy for "+what, nil, "go", "mod", "tidy")
}

// goBuild builds pkg into out through a temporary file, so a crash never
// leaves a half-written binary that a later run would take as cached.
func (b *Builder) goBuild(ctx context.Context, dir, out, pkg, ldflags, what string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := b.run(ctx, dir, "building "+what, nil, "go", "build", "-p", "2", "-trimpath", "-ldflags", ldflags, "-o", tmp, pkg); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// run runs a go command, telling Progress what it is doing every 15 s.
func (b *Builder) run(ctx context.Context, dir, what string, env []string, name string, args ...string) error {
	start := time.Now()
	b.Progress("%s ...", what)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s failed after %s: %w\n%s", what, time.Since(start).Round(time.Second), err, tail(out.String(), 20))
			}
			b.Progress("%s done in %s", what, time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			b.Progress("%s ... %s", what, time.Since(start).Round(time.Second))
		}
	}
}

type modInfo struct {
	Dir   string
	GoMod string
	Error string
}

func goModDownload(ctx context.Context, dir, mod string) (modInfo, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info modInfo
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Error != "" {
		return info, fmt.Errorf("go mod download %s: %v %s %s", mod, err, info.Error, stderr.String())
	}
	return info, nil
}

func downloadGoMod(ctx context.Context, dir, mod string) ([]byte, error) {
	info, err := goModDownload(ctx, dir, mod)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(info.GoMod)
}

func writeTools(dir string, imports []string) error {
	src := "//go:build tools\n\npackage tools\n\nimport (\n" + strings.Join(imports, "\n") + "\n)\n"
	return os.WriteFile(filepath.Join(dir, "tools.go"), []byte(src), 0o644)
}

func toolsHas(dir string, cmds []string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "tools.go"))
	if err != nil {
		return false
	}
	for _, c := range cmds {
		if !bytes.Contains(data, []byte("/cmd/"+c+`"`)) {
			return false
		}
	}
	return true
}

func missingBinaries(dir string, names []string) []string {
	var missing []string
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, n)
		}
	}
	return missing
}

func allExist(paths []string) bool {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
