package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestWarningsDeduplicate(t *testing.T) {
	var first []string
	w := NewWarnings("blue", func(x Warning) { first = append(first, x.Text) })
	w.HandleWarningHeader(299, "-", "policy/v1beta1 PodDisruptionBudget is deprecated")
	w.HandleWarningHeader(299, "-", `unknown field "spec.foo"`)
	w.HandleWarningHeader(299, "-", "policy/v1beta1 PodDisruptionBudget is deprecated")
	w.HandleWarningHeader(199, "-", "miscellaneous, not a 299")
	w.HandleWarningHeader(299, "-", "")
	w.markWrite(`unknown field "spec.foo"`)

	want := []Warning{
		{Context: "blue", Text: "policy/v1beta1 PodDisruptionBudget is deprecated", Count: 2},
		{Context: "blue", Text: `unknown field "spec.foo"`, Count: 1, Write: true},
	}
	if diff := cmp.Diff(want, w.List()); diff != "" {
		t.Errorf("List() (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"policy/v1beta1 PodDisruptionBudget is deprecated", `unknown field "spec.foo"`}, first); diff != "" {
		t.Errorf("onFirst calls (-want +got):\n%s", diff)
	}
}

func TestWarningsConcurrent(t *testing.T) {
	w := NewWarnings("green", nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { w.HandleWarningHeader(299, "-", fmt.Sprintf("w%d", i%5)) })
	}
	wg.Wait()
	got := w.List()
	n := 0
	for _, x := range got {
		n += x.Count
	}
	if len(got) != 5 || n != 50 {
		t.Errorf("List() has %d texts and %d responses, want 5 and 50", len(got), n)
	}
}

// fakeAPIServer answers namespace GETs, LISTs and POSTs with a Warning header.
func fakeAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Add("Warning", fmt.Sprintf(`299 - "%s warning"`, r.Method))
		switch r.Method {
		case http.MethodGet:
			fmt.Fprint(rw, `{"kind":"NamespaceList","apiVersion":"v1","items":[]}`)
		default:
			rw.WriteHeader(http.StatusCreated)
			fmt.Fprint(rw, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

func TestWarningsThroughAClient(t *testing.T) {
	ctx := context.Background()
	w := NewWarnings("green", nil)
	opts := DefaultClientOptions()
	opts.Warnings = w
	c, err := NewConnWith("green", fakeAPIServer(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Typed.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []Warning{
		{Context: "green", Text: "GET warning", Count: 3},
		{Context: "green", Text: "POST warning", Count: 1, Write: true},
	}
	if diff := cmp.Diff(want, w.List()); diff != "" {
		t.Errorf("List() (-want +got):\n%s", diff)
	}
}

// preflight's deprecated check copies Conn.Config and sets its own
// WarningHandler: it must get the warnings of its requests, and the
// connection's collector must not.
func TestCopiedConfigWithItsOwnHandler(t *testing.T) {
	ctx := context.Background()
	w := NewWarnings("green", nil)
	opts := DefaultClientOptions()
	opts.Warnings = w
	c, err := NewConnWith("green", fakeAPIServer(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	own := NewWarnings("check", nil)
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = own
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if got := own.List(); len(got) != 1 || got[0].Text != "GET warning" {
		t.Errorf("the check's own handler got %v, want the GET warning", got)
	}
	if got := w.List(); len(got) != 0 {
		t.Errorf("the connection's collector got %v, want nothing", got)
	}
}
