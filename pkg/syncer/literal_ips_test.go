package syncer

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tandem-io/tandem/pkg/plan"
)

func obj(kind, ns, name string, extra map[string]any) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"namespace": ns, "name": name}}}
	for k, v := range extra {
		o.Object[k] = v
	}
	return o
}

func TestNoteLiteralClusterIPs(t *testing.T) {
	raw := []plan.Object{
		obj("Service", "shop", "db", map[string]any{"spec": map[string]any{"clusterIP": "10.96.0.42"}}),
		obj("Service", "shop", "headless", map[string]any{"spec": map[string]any{"clusterIP": "None"}}),
	}
	cases := []struct {
		name  string
		item  *unstructured.Unstructured
		skip  bool
		notes int
	}{
		{"configmap naming the IP", obj("ConfigMap", "shop", "cfg", map[string]any{"data": map[string]any{"DB": "postgres://10.96.0.42:5432, again 10.96.0.42"}}), false, 1},
		{"configmap with another IP", obj("ConfigMap", "shop", "other", map[string]any{"data": map[string]any{"DB": "10.96.0.43"}}), false, 0},
		{"the service itself", obj("Service", "shop", "db", map[string]any{"spec": map[string]any{"clusterIP": "10.96.0.42"}}), false, 0},
		{"skipped object", obj("ConfigMap", "shop", "skipped", map[string]any{"data": map[string]any{"DB": "10.96.0.42"}}), true, 0},
		{"IP as part of a longer number", obj("ConfigMap", "shop", "longer", map[string]any{"data": map[string]any{"v": "110.96.0.421"}}), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := []plan.Item{{Desired: c.item}}
			items[0].Decision.Skip = c.skip
			noteLiteralClusterIPs(sourceClusterIPs(raw), &items[0])
			if got := len(items[0].Decision.Notes); got != c.notes {
				t.Fatalf("notes %q, want %d", items[0].Decision.Notes, c.notes)
			}
			if c.notes > 0 && (!strings.Contains(items[0].Decision.Notes[0], "10.96.0.42") || !strings.Contains(items[0].Decision.Notes[0], "shop/db")) {
				t.Errorf("note %q does not name the IP and the Service", items[0].Decision.Notes[0])
			}
		})
	}
}

// eachIPv4 finds what the regular expression it replaces found, on strings
// made of what matters to it: digits, dots, letters and other characters.
func TestEachIPv4FindsWhatTheRegexpFinds(t *testing.T) {
	re := regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	rng := rand.New(rand.NewSource(17))
	alphabet := "0123456789.......a_-:/ "
	check := func(s string) {
		t.Helper()
		var got []string
		eachIPv4(s, func(ip string) { got = append(got, ip) })
		want := re.FindAllString(s, -1)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("in %q: found %q, the regexp %q", s, got, want)
		}
	}
	for _, s := range []string{"10.96.0.42", "postgres://10.96.0.42:5432", "110.96.0.421", "a1.2.3.4.5", "1.2.3.4a", "1.2.3.4.", "1234.5.6.7.8",
		"1.2.3.4.5.6.7.8", "x 255.255.255.255_", "..1.1.1.1..", "9.9.9", ""} {
		check(s)
	}
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		check(string(b))
	}
}
