package haproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseServed(t *testing.T) {
	out := `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,status
lab,FRONTEND,,,0,3,4096,1200,0,0,OPEN
clusters,blue,0,0,0,2,,900,0,0,UP
clusters,green,0,0,0,1,,300,0,0,UP
clusters,BACKEND,0,0,0,3,410,1200,0,0,UP
other,blue,0,0,0,1,,7,0,0,UP
`
	cases := []struct {
		backend string
		want    map[string]int64
	}{
		{"clusters", map[string]int64{"blue": 900, "green": 300}},
		{"other", map[string]int64{"blue": 7}},
		{"missing", map[string]int64{}},
	}
	for _, c := range cases {
		t.Run(c.backend, func(t *testing.T) {
			got, err := parseServed(out, c.backend)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	if _, err := parseServed("Unknown command", "clusters"); err == nil {
		t.Error("parseServed accepted a non-CSV answer")
	}
}

func TestParseCounts(t *testing.T) {
	out := `# pxname,svname,stot,econ,eresp,hrsp_5xx,status
clusters,blue,900,,0,1,UP
clusters,green,300,2,1,40,UP
clusters,BACKEND,1200,2,1,41,UP
`
	got, err := parseCounts(out, "clusters")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Counts{"blue": {Sent: 900, Errors: 1}, "green": {Sent: 300, Errors: 43}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if _, err := parseCounts("# pxname,svname,stot\n", "clusters"); err == nil {
		t.Error("parseCounts accepted a table without the error columns")
	}
}
