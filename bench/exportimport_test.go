package bench

// `tandem export` and `tandem import` at a scale point: the archive of the
// whole set written from blue, then imported into green after some of its
// namespaces were deleted there (those are created again, the rest is
// unchanged) — wall time and peak RSS of each.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// archiveRun is one measured export or import.
type archiveRun struct {
	wall   time.Duration
	rssKiB int64
	total  map[string]int // import's totals
}

func (r archiveRun) rssMiB() float64 { return float64(r.rssKiB) / 1024 }

// runMeasured runs tandem with args and measures its wall time and peak
// RSS (VmHWM, see rssPeak); stdout is returned.
func runMeasured(ctx context.Context, args ...string) (archiveRun, []byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, lab.bin, append(args, "--kubeconfig", lab.kubeconfig)...)
	cmd.Env = labEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	var peak rssPeak
	err := peak.run(cmd)
	r := archiveRun{wall: time.Since(start), rssKiB: max(peak.hwm.Load(), peak.sum.Load())}
	if err != nil {
		return r, out.Bytes(), fmt.Errorf("tandem %s: %v\n%s", args[0], err, tail(errb.String(), 3000))
	}
	return r, out.Bytes(), nil
}

// measureExportImport exports the set (namespaces src) from blue, deletes
// part from green, and imports the archive into green.
func measureExportImport(ctx context.Context, green kubernetes.Interface, src, part []string, tag string) (export, imp archiveRun, archiveBytes int64, err error) {
	file := filepath.Join(lab.dir, "scale-export-"+tag+".tar.gz")
	defer os.Remove(file)
	export, _, err = runMeasured(ctx, "export", "--source", "blue", "--target", "green", "--namespace", strings.Join(src, ","), "-f", file)
	if err != nil {
		return export, imp, 0, err
	}
	st, err := os.Stat(file)
	if err != nil {
		return export, imp, 0, err
	}
	if err := deleteNamespaces(ctx, green, part, 10*time.Minute); err != nil {
		return export, imp, st.Size(), err
	}
	imp, out, err := runMeasured(ctx, "import", "--target", "green", "-f", file, "-o", "json")
	if err != nil {
		return export, imp, st.Size(), err
	}
	var res struct {
		Total map[string]int `json:"total"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return export, imp, st.Size(), fmt.Errorf("tandem import -o json: %v", err)
	}
	imp.total = res.Total
	if c := res.Total["created"]; c < len(part)*objectsPerNS || res.Total["failed"] > 0 {
		return export, imp, st.Size(), fmt.Errorf("import into green without %d namespaces: totals %v, want at least %d created and none failed", len(part), res.Total, len(part)*objectsPerNS)
	}
	return export, imp, st.Size(), nil
}
