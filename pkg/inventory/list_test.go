package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// expiringAPI serves ConfigMaps page by page as the apiserver does, and
// answers the first continue token it is given with 410 Expired (etcd
// compacted the revision). Between the expiry and the list that follows,
// one object is deleted and one created, as would happen meanwhile.
type expiringAPI struct {
	mu      sync.Mutex
	names   []string
	expired bool
	lists   int
}

func (a *expiringAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.URL.Path != "/api/v1/configmaps" {
		http.NotFound(w, r)
		return
	}
	a.lists++
	q := r.URL.Query()
	start := 0
	if c := q.Get("continue"); c != "" {
		if !a.expired {
			a.expired = true
			a.names = append(a.names[1:], "cm-new") // deleted and created meanwhile
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410,
				"message": "The provided continue parameter is too old to display a consistent list result."})
			return
		}
		start, _ = strconv.Atoi(c)
	}
	servePage(w, a.names, start, q.Get("limit"))
}

// conns are the two ways List reads: the connection's REST client (JSON
// decoded in one pass), and the dynamic client when a Conn has no REST.
func conns(t *testing.T, url string) map[string]*cluster.Conn {
	t.Helper()
	c, err := cluster.NewConn("test", &rest.Config{Host: url})
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: url})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*cluster.Conn{"rest": c, "dynamic": {Dynamic: dyn}}
}

func TestListRestartsAfterAnExpiredContinueToken(t *testing.T) {
	for name := range conns(t, "http://127.0.0.1:1") {
		t.Run(name, func(t *testing.T) { testListRestarts(t, name) })
	}
}

func testListRestarts(t *testing.T, client string) {
	api := &expiringAPI{}
	for i := range 1200 {
		api.names = append(api.names, fmt.Sprintf("cm-%04d", i))
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	got := map[string]int{}
	r := Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}
	if err := List(context.Background(), conns(t, srv.URL)[client], r, "", func(o *unstructured.Unstructured) error {
		got[o.GetName()]++
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	if !api.expired {
		t.Fatal("the continue token never expired: the test tested nothing")
	}
	for name, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", name, n)
		}
	}
	// Every object that existed throughout is there once; cm-0000 went
	// after the first page had it (delivered then), cm-new came after.
	for i := range 1200 {
		if n := fmt.Sprintf("cm-%04d", i); got[n] != 1 {
			t.Errorf("%s delivered %d times, want once", n, got[n])
		}
	}
	if got["cm-new"] != 1 {
		t.Errorf("the object created during the restart was delivered %d times, want once", got["cm-new"])
	}
	if len(got) != 1201 {
		t.Errorf("%d objects delivered, want 1201", len(got))
	}
}

func TestListGivesUpAfterRepeatedExpiry(t *testing.T) {
	for name := range conns(t, "http://127.0.0.1:1") {
		t.Run(name, func(t *testing.T) { testListGivesUp(t, name) })
	}
}

func testListGivesUp(t *testing.T, client string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("continue") != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410, "message": "too old"})
			return
		}
		items := []any{}
		for i := range PageSize {
			items = append(items, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": fmt.Sprint("cm-", i), "namespace": "ns"}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMapList", "apiVersion": "v1", "metadata": map[string]any{"continue": "next"}, "items": items})
	}))
	defer srv.Close()
	calls := 0
	err := List(context.Background(), conns(t, srv.URL)[client], Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}, "", func(*unstructured.Unstructured) error {
		calls++
		return nil
	})
	if err == nil {
		t.Fatal("a list whose token always expires ended without an error")
	}
	if calls != PageSize {
		t.Errorf("fn called %d times, want %d (each object once, however often the list restarted)", calls, PageSize)
	}
}

// decodeList reads a list as the dynamic client's decoding does: the same
// items (numbers kept as integers), each given the list's apiVersion and
// kind when it has neither, and the list's own metadata.
func TestDecodeListAsTheDynamicClientDoes(t *testing.T) {
	body := []byte(`{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c1"},"items":[
		{"metadata":{"name":"a","namespace":"ns","labels":{"app":"web"}},"data":{"k":"v"}},
		{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b","namespace":"ns","generation":3},"binaryData":{"x":"AAE="}},
		{"metadata":{"name":"c","namespace":"ns","annotations":{"n":"1.5"}},"data":{"big":"12345678901234567890"}}]}`)
	got, err := decodeList(body)
	if err != nil {
		t.Fatal(err)
	}
	var want unstructured.UnstructuredList
	if err := want.UnmarshalJSON(body); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Object, want.Object) {
		t.Errorf("list %v, want %v", got.Object, want.Object)
	}
	if len(got.Items) != len(want.Items) {
		t.Fatalf("%d items, want %d", len(got.Items), len(want.Items))
	}
	for i := range want.Items {
		if !reflect.DeepEqual(got.Items[i].Object, want.Items[i].Object) {
			t.Errorf("item %d: %v\nwant %v", i, got.Items[i].Object, want.Items[i].Object)
		}
	}
	if got.Items[0].GetKind() != "ConfigMap" || got.GetContinue() != "c1" {
		t.Errorf("kind %q, continue %q: want ConfigMap, c1", got.Items[0].GetKind(), got.GetContinue())
	}
	if _, err := decodeList([]byte(`{"kind":"List","items":["x"]}`)); err == nil {
		t.Error("a list whose item is not an object decoded")
	}
}

// flakyAPI serves ConfigMaps page by page and answers each page's first
// requests as a restarting apiserver would: 503 (no Retry-After, which
// client-go would wait out itself), then a connection cut before the
// answer, then the page.
type flakyAPI struct {
	mu       sync.Mutex
	names    []string
	tries    map[string]int // continue token → requests for that page
	failures int
	always   bool // every request fails
}

func (a *flakyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := r.URL.Query()
	c := q.Get("continue")
	a.tries[c]++
	switch n := a.tries[c]; {
	case a.always || n == 1:
		a.failures++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "ServiceUnavailable", "code": 503, "message": "the server is shutting down"})
		return
	case n == 2:
		a.failures++
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close() // cut: the client reads EOF
		}
		return
	}
	start, _ := strconv.Atoi(c)
	servePage(w, a.names, start, q.Get("limit"))
}

// servePage answers a page of a ConfigMap list of names from start, of at
// most limit items, as the apiserver does: its continue token is the
// index of the next page.
func servePage(w http.ResponseWriter, names []string, start int, limit string) {
	n, _ := strconv.Atoi(limit)
	end := len(names)
	if n > 0 && start+n < end {
		end = start + n
	}
	items := []any{}
	for _, name := range names[start:end] {
		items = append(items, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "ns"}})
	}
	meta := map[string]any{"resourceVersion": "1"}
	if end < len(names) {
		meta["continue"] = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta, "items": items})
}

func shortListBackoff(t *testing.T) {
	t.Helper()
	saved := listBackoff
	listBackoff.Duration, listBackoff.Cap = time.Millisecond, 5*time.Millisecond
	t.Cleanup(func() { listBackoff = saved })
}

// A page whose request fails for a reason that can pass is asked for
// again with the same continue token: every object comes once.
func TestListRetriesAPageThatFailed(t *testing.T) {
	shortListBackoff(t)
	for name := range conns(t, "http://127.0.0.1:1") {
		t.Run(name, func(t *testing.T) {
			api := &flakyAPI{tries: map[string]int{}}
			for i := range 3*PageSize + 10 {
				api.names = append(api.names, fmt.Sprintf("cm-%04d", i))
			}
			srv := httptest.NewServer(api)
			defer srv.Close()
			got := map[string]int{}
			r := Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}
			if err := List(context.Background(), conns(t, srv.URL)[name], r, "", func(o *unstructured.Unstructured) error {
				got[o.GetName()]++
				return nil
			}); err != nil {
				t.Fatalf("List: %v", err)
			}
			if api.failures < 2*4 {
				t.Fatalf("%d requests failed, want 2 for each of the 4 pages: the test tested nothing", api.failures)
			}
			for _, n := range api.names {
				if got[n] != 1 {
					t.Errorf("%s delivered %d times, want once", n, got[n])
				}
			}
			if len(got) != len(api.names) {
				t.Errorf("%d objects delivered, want %d", len(got), len(api.names))
			}
		})
	}
}

// An apiserver that stays away: the list fails after the budget, and says
// how many attempts it made.
func TestListGivesUpOnAnAPIServerThatStaysAway(t *testing.T) {
	shortListBackoff(t)
	api := &flakyAPI{tries: map[string]int{}, always: true}
	srv := httptest.NewServer(api)
	defer srv.Close()
	r := Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}
	err := List(context.Background(), conns(t, srv.URL)["rest"], r, "", func(*unstructured.Unstructured) error { return nil })
	if err == nil {
		t.Fatal("List succeeded against an apiserver that answers 503 to everything")
	}
	want := fmt.Sprintf("%d attempts", listBackoff.Steps)
	if !strings.Contains(err.Error(), want) || !apierrors.IsServiceUnavailable(err) {
		t.Errorf("error %q: want it to say %q and stay a 503", err, want)
	}
	if api.failures != listBackoff.Steps {
		t.Errorf("%d requests, want %d", api.failures, listBackoff.Steps)
	}
}
