package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// Export writes exactly what sync would apply; import applies it to green.
func TestExportImportRoundTrip(t *testing.T) {
	ns := "e2e-export"
	mustKubectl(t, "--context", "blue", "create", "namespace", ns)
	t.Cleanup(func() {
		kubectl(t, "--context", "blue", "delete", "namespace", ns, "--wait=false")
		kubectl(t, "--context", "green", "delete", "namespace", ns, "--wait=false")
	})
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "configmap", "settings", "--from-literal=color=blue")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=hunter2")
	mustKubectl(t, "--context", "blue", "-n", ns, "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2")

	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	r := tandem(t, "export", "--source", "blue", "--target", "green", "--namespace", ns, "-f", archive)
	if r.code != 0 {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "Secrets in clear") {
		t.Errorf("export of a Secret without --encrypt-to says nothing of it:\n%s", r.stderr)
	}
	files := readTarGz(t, archive)
	var idx struct {
		Objects []struct{ File, Kind, Namespace, Name string }
	}
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	got := map[string]bool{}
	for _, o := range idx.Objects {
		got[o.Kind+"/"+o.Name] = true
		if _, ok := files[o.File]; !ok {
			t.Errorf("index names %s, not in the archive", o.File)
		}
	}
	for _, want := range []string{"Namespace/" + ns, "ConfigMap/settings", "Secret/creds", "Deployment/web", "ServiceAccount/default"} {
		if !got[want] {
			t.Errorf("archive lacks %s; has %v", want, got)
		}
	}
	for _, generated := range []string{"ConfigMap/kube-root-ca.crt", "Pod/", "ReplicaSet/"} {
		for k := range got {
			if strings.HasPrefix(k, generated) {
				t.Errorf("archive holds generated object %s", k)
			}
		}
	}
	for name, data := range files {
		if strings.Contains(string(data), "resourceVersion") || strings.Contains(string(data), "managedFields") {
			t.Errorf("%s keeps server fields", name)
		}
	}

	// Without --target: the source's preferred versions, nothing compared.
	alone := filepath.Join(t.TempDir(), "alone.tar.gz")
	if r := tandem(t, "export", "--source", "blue", "--namespace", ns, "-f", alone); r.code != 0 {
		t.Fatalf("export without --target: exit %d\n%s", r.code, r.stderr)
	}
	if cm := string(readTarGz(t, alone)["objects/06-config/ConfigMap_"+ns+"_settings.yaml"]); !strings.Contains(cm, "color: blue") {
		t.Errorf("export without --target: ConfigMap settings is %q", cm)
	}

	// --dry-run: the plan of the import, nothing written, no journal.
	dryJD := t.TempDir()
	r = tandem(t, "import", "--target", "green", "-f", archive, "-o", "json", "--dry-run", "--diff", "--journal-dir", dryJD)
	if r.code != 0 {
		t.Fatalf("import --dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var dry struct {
		Steps []syncRow `json:"steps"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil {
		t.Fatalf("import --dry-run -o json: %v\n%s", err, r.stdout)
	}
	if row, ok := (syncOut{Steps: dry.Steps}).find("ConfigMap", ns, "settings"); !ok || row.Action != "create" || row.Status != "planned" {
		t.Errorf("import --dry-run's step of ConfigMap settings: %+v (listed %v); want a planned create", row, ok)
	}
	if !strings.Contains(r.stdout, "color: blue") {
		t.Errorf("import --dry-run --diff does not show the ConfigMap's content:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "hunter2") || strings.Contains(r.stdout, "aHVudGVyMg") {
		t.Errorf("import --dry-run --diff shows the Secret's value:\n%s", r.stdout)
	}
	if got := kubectl(t, "--context", "green", "get", "namespace", ns, "--ignore-not-found", "-o", "name").stdout; strings.TrimSpace(got) != "" {
		t.Errorf("import --dry-run wrote namespace %s into green", ns)
	}
	if js, _ := filepath.Glob(filepath.Join(dryJD, "*")); len(js) != 0 {
		t.Errorf("import --dry-run journaled: %v", js)
	}

	jd := t.TempDir()
	r = tandem(t, "import", "--target", "green", "-f", archive, "-o", "json", "--journal-dir", jd)
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		Total map[string]int `json:"total"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("import -o json: %v", err)
	}
	if res.Total["created"] < 4 || res.Total["failed"] != 0 {
		t.Errorf("import totals %v, want ≥ 4 created and none failed", res.Total)
	}
	if v := mustKubectl(t, "--context", "green", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.color}"); v != "blue" {
		t.Errorf("imported ConfigMap data %q, want blue", v)
	}
	// Journaled as a sync is: the run began and ended.
	journals, _ := filepath.Glob(filepath.Join(jd, "import-*.jsonl"))
	if len(journals) != 1 {
		t.Errorf("journals in %s: %v, want one import journal", jd, journals)
	} else if b, _ := os.ReadFile(journals[0]); !strings.Contains(string(b), `"end"`) {
		t.Errorf("the import's journal has no end record:\n%s", b)
	}
	// Importing the same archive again writes nothing.
	res.Total = nil
	r = tandem(t, "import", "--target", "green", "-f", archive, "-o", "json", "--journal-dir", jd)
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 {
		t.Fatalf("second import: exit %d %v\n%s", r.code, err, r.stderr)
	}
	if res.Total["created"]+res.Total["updated"] != 0 || res.Total["unchanged"] < 5 {
		t.Errorf("second import wrote: %v", res.Total)
	}

	// Sealed with age: the file shows no secret; import needs the identity.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed := filepath.Join(t.TempDir(), "backup.tar.gz.age")
	if r := tandem(t, "export", "--source", "blue", "--target", "green", "--namespace", ns, "-f", sealed, "--encrypt-to", id.Recipient().String()); r.code != 0 || strings.Contains(r.stderr, "in clear") {
		t.Fatalf("export --encrypt-to: exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(sealed); len(b) == 0 || bytes.Contains(b, []byte("Secret")) {
		t.Fatal("the sealed archive is empty or readable")
	}
	if r := tandem(t, "import", "--target", "green", "-f", sealed); r.code != 2 || !strings.Contains(r.stderr, "--identity") {
		t.Fatalf("import of a sealed archive without --identity: exit %d\n%s", r.code, r.stderr)
	}
	if r := tandem(t, "import", "--target", "green", "-f", sealed, "--identity", keyFile, "-o", "json", "--journal-dir", jd); r.code != 0 || !strings.Contains(r.stdout, `"unchanged"`) {
		t.Fatalf("import --identity: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestImportRejectsWhatIsNotAnArchive(t *testing.T) {
	bogus := filepath.Join(t.TempDir(), "x.tar.gz")
	if err := os.WriteFile(bogus, []byte("not an archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"import", "--target", "green", "-f", bogus},
		{"import", "--target", "green", "-f", filepath.Join(t.TempDir(), "missing.tar.gz")},
		{"export", "--source", "blue"},
	} {
		r := tandem(t, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("tandem %v: exit %d stderr %q, want exit 2 and one line", args, r.code, r.stderr)
		}
	}
}

func readTarGz(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(fmt.Errorf("tar: %w", err))
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = data
	}
}
