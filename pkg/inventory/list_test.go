package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
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
	limit, _ := strconv.Atoi(q.Get("limit"))
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
	end := len(a.names)
	if limit > 0 && start+limit < end {
		end = start + limit
	}
	items := []any{}
	for _, n := range a.names[start:end] {
		items = append(items, map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": n, "namespace": "ns"}})
	}
	meta := map[string]any{"resourceVersion": "1"}
	if end < len(a.names) {
		meta["continue"] = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta, "items": items})
}

func TestListRestartsAfterAnExpiredContinueToken(t *testing.T) {
	api := &expiringAPI{}
	for i := range 1200 {
		api.names = append(api.names, fmt.Sprintf("cm-%04d", i))
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	r := Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}
	if err := List(context.Background(), dyn, r, "", func(o *unstructured.Unstructured) error {
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
	dyn, _ := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	calls := 0
	err := List(context.Background(), dyn, Resource{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true}, "", func(*unstructured.Unstructured) error {
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
