package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/pkg/pair"
)

// A cluster whose columns could not be read (a right missing) shows them
// as unknown, not as zero workloads: the warnings say why. One whose
// workloads were read before another read failed shows them.
func TestPrintStatusShowsUnreadColumnsAsUnknown(t *testing.T) {
	var out bytes.Buffer
	printStatus(&out, &pair.Status{Clusters: []pair.Cluster{
		{Context: "a", Role: "unknown", Reachable: true, Error: "read the record of a: forbidden"},
		{Context: "b", Role: "unknown", Reachable: true, Counted: true, Error: "list nodes of b: forbidden"},
	}})
	lines := strings.Split(out.String(), "\n")
	if f := strings.Fields(lines[1]); len(f) < 8 || f[5] != "?" || f[6] != "?" || f[7] != "?" {
		t.Errorf("unread cluster's row %q: want ? for workloads, replicas and marker", lines[1])
	}
	if !strings.Contains(lines[2], "0/0 ready") {
		t.Errorf("read cluster's row %q: want its counts", lines[2])
	}
}
