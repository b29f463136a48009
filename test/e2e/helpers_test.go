package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// syncRow is one row of `tandem sync -o json` (results) or of its --dry-run (steps).
type syncRow struct {
	Wave, Group, Kind, Namespace, Name, Action, Status, Reason, Why string
	Notes                                                           []string
}

type syncOut struct {
	Results []syncRow      `json:"results"`
	Steps   []syncRow      `json:"steps"`
	Total   map[string]int `json:"total"`
}

// syncArgs is `tandem sync` from blue to green with a journal of the test's own.
func syncArgs(journal string, extra ...string) []string {
	return append([]string{"sync", "--source", "blue", "--target", "green", "--journal-dir", journal}, extra...)
}

// syncJSON runs sync with -o json, checks the exit code and parses stdout.
func syncJSON(t *testing.T, journal string, wantCode int, extra ...string) (syncOut, result) {
	t.Helper()
	args := syncArgs(journal, append(extra, "-o", "json")...)
	r := tandem(t, args...)
	if r.code != wantCode {
		t.Fatalf("tandem %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	var out syncOut
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("sync -o json: %v\n%s", err, r.stdout)
	}
	return out, r
}

func (o syncOut) wrote() []syncRow {
	return o.with("created", "updated")
}

func (o syncOut) with(statuses ...string) []syncRow {
	var out []syncRow
	for _, r := range o.Results {
		for _, s := range statuses {
			if r.Status == s {
				out = append(out, r)
			}
		}
	}
	return out
}

func (o syncOut) find(kind, ns, name string) (syncRow, bool) {
	for _, r := range append(o.Results, o.Steps...) {
		if r.Kind == kind && r.Namespace == ns && r.Name == name {
			return r, true
		}
	}
	return syncRow{}, false
}

func objKey(group, kind, ns, name string) string { return group + "/" + kind + " " + ns + "/" + name }

func (r syncRow) key() string { return objKey(r.Group, r.Kind, r.Namespace, r.Name) }

// ref is the row's object as kubectl names it: kind.group/name.
func (r syncRow) ref() string {
	res := strings.ToLower(r.Kind)
	if r.Group != "" {
		res += "." + r.Group
	}
	return res + "/" + r.Name
}

// getObjects reads the objects of rows from one cluster (one kubectl call per
// namespace), keyed by syncRow.key; missing objects are absent from the map.
func getObjects(t *testing.T, ctxName string, rows []syncRow) map[string]map[string]any {
	t.Helper()
	byNS := map[string][]string{}
	for _, r := range rows {
		byNS[r.Namespace] = append(byNS[r.Namespace], r.ref())
	}
	out := map[string]map[string]any{}
	for ns, refs := range byNS {
		args := []string{"--context", ctxName, "get", "-o", "json", "--show-managed-fields"}
		if ns != "" {
			args = append(args, "-n", ns)
		}
		r := kubectl(t, append(args, refs...)...)
		if r.code != 0 && !strings.Contains(r.stderr, "NotFound") {
			t.Fatalf("kubectl get in %s: exit %d\n%s", ctxName, r.code, r.stderr)
		}
		if strings.TrimSpace(r.stdout) == "" {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("kubectl get -o json: %v\n%s", err, r.stdout)
		}
		items := []any{doc}
		if list, ok := doc["items"].([]any); ok {
			items = list
		}
		for _, it := range items {
			o := it.(map[string]any)
			md, _ := o["metadata"].(map[string]any)
			group, _, _ := strings.Cut(fmt.Sprint(o["apiVersion"]), "/")
			if !strings.Contains(fmt.Sprint(o["apiVersion"]), "/") {
				group = ""
			}
			ns, _ := md["namespace"].(string)
			name, _ := md["name"].(string)
			out[objKey(group, fmt.Sprint(o["kind"]), ns, name)] = o
		}
	}
	return out
}

// copyJSON deep-copies a JSON object.
func copyJSON(o map[string]any) map[string]any {
	b, _ := json.Marshal(o)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// normalize drops what each cluster writes for itself, so that blue's and
// green's copies of an object compare equal.
func normalize(o map[string]any) map[string]any {
	o = copyJSON(o)
	delete(o, "status")
	md, _ := o["metadata"].(map[string]any)
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "ownerReferences"} {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, "tandem.io/source-hash")
		delete(ann, "deployment.kubernetes.io/revision")
		// A weighted DNS record's identifier and weight are each cluster's own.
		for _, p := range []string{"external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/"} {
			delete(ann, p+"set-identifier")
			delete(ann, p+"aws-weight")
		}
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	dropNullTimestamps(o)
	if o["kind"] == "Service" && o["apiVersion"] == "v1" {
		spec, _ := o["spec"].(map[string]any)
		if spec["clusterIP"] != "None" {
			delete(spec, "clusterIP")
			delete(spec, "clusterIPs")
		}
		ports, _ := spec["ports"].([]any)
		for _, p := range ports {
			delete(p.(map[string]any), "nodePort")
		}
	}
	return o
}

// dropNullTimestamps removes `creationTimestamp: null` from embedded object
// metadata (pod templates, claim templates): apiservers before 1.33 print it,
// later ones omit it.
func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		if ts, ok := v["creationTimestamp"]; ok && ts == nil {
			delete(v, "creationTimestamp")
		}
		for _, e := range v {
			dropNullTimestamps(e)
		}
	case []any:
		for _, e := range v {
			dropNullTimestamps(e)
		}
	}
}

// withoutStatus is an object minus what controllers write to it on their own.
func withoutStatus(o map[string]any) map[string]any {
	o = copyJSON(o)
	delete(o, "status")
	md, _ := o["metadata"].(map[string]any)
	delete(md, "resourceVersion")
	delete(md, "managedFields")
	return o
}

// managerEntry is the managedFields entry of manager (any operation, main resource), as JSON.
func managerEntry(o map[string]any, manager string) string {
	md, _ := o["metadata"].(map[string]any)
	entries, _ := md["managedFields"].([]any)
	var out []string
	for _, e := range entries {
		m := e.(map[string]any)
		if m["manager"] == manager && m["subresource"] == nil {
			b, _ := json.Marshal(m)
			out = append(out, string(b))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func jsonStr(o map[string]any, path ...string) string {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// kubeNames lists `kubectl get -o name` of resource in ns, sorted.
func kubeNames(t *testing.T, ctxName, ns, resource string) []string {
	t.Helper()
	out := mustKubectl(t, "--context", ctxName, "-n", ns, "get", resource, "-o", "name")
	list := strings.Fields(out)
	sort.Strings(list)
	return list
}

// waitNoTerminating waits until neither cluster has a namespace being deleted
// (earlier tests delete theirs without waiting), so a full sync sees a still state.
func waitNoTerminating(t *testing.T) {
	t.Helper()
	eventually(t, 3*time.Minute, func() error {
		for _, c := range []string{"blue", "green"} {
			out := kubectl(t, "--context", c, "get", "namespaces", "-o", `jsonpath={range .items[?(@.status.phase=="Terminating")]}{.metadata.name} {end}`).stdout
			if strings.TrimSpace(out) != "" {
				return fmt.Errorf("%s: namespaces terminating: %s", c, out)
			}
		}
		return nil
	})
}

// startWebhook serves, on 127.0.0.1 over TLS with a CA made here, an
// AdmissionReview v1 webhook at /validate that denies everything with message.
// It returns the URL, the CA bundle (PEM) and a count of reviews served.
func startWebhook(t *testing.T, message string) (string, []byte, *atomic.Int32) {
	t.Helper()
	calls := &atomic.Int32{}
	url, ca := serveWebhook(t, func(*admissionv1.AdmissionRequest) *metav1.Status {
		calls.Add(1)
		return &metav1.Status{Code: http.StatusForbidden, Message: message}
	})
	return url, ca, calls
}

// serveWebhook serves a validating admission webhook over TLS on loopback:
// decide answers each request (nil allows it; it may block, as a hung
// backend does). It returns the URL and the CA bundle.
func serveWebhook(t *testing.T, decide func(*admissionv1.AdmissionRequest) *metav1.Status) (string, []byte) {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tandem-e2e-webhook-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/validate", func(w http.ResponseWriter, req *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(req.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "bad AdmissionReview", http.StatusBadRequest)
			return
		}
		status := decide(review.Request)
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: status == nil, Result: status}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return fmt.Sprintf("https://%s/validate", ln.Addr()), caPEM
}

// kubectlCreate creates (kubectl create, not apply) the object doc in context ctxName.
func kubectlCreate(t *testing.T, ctxName, doc string) {
	t.Helper()
	kubectlCreateAs(t, ctxName, "", doc)
}

// kubectlCreateAs is kubectlCreate with the field manager manager (kubectl's
// own when "").
func kubectlCreateAs(t *testing.T, ctxName, manager, doc string) {
	t.Helper()
	// Not under t.TempDir(): a subtest's name may hold a comma, and
	// kubectl's -f takes a comma as a list of files.
	dir, err := os.MkdirTemp("", "tandem-e2e-obj-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := filepath.Join(dir, "obj.json")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--context", ctxName, "create", "-f", f}
	if manager != "" {
		args = append(args, "--field-manager", manager)
	}
	mustKubectl(t, args...)
}

// logLines returns the last max lines of a lab process's log that mention
// what, for a failure message (a stuck pod: what its simulator did with it).
func logLines(path, what string, max int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var hits []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, what) {
			hits = append(hits, line)
		}
	}
	if len(hits) > max {
		hits = hits[len(hits)-max:]
	}
	return strings.Join(hits, "\n")
}
