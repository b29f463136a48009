package ingress

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// get sends one request with the given Host and returns status, body and
// the cluster header.
func get(t *testing.T, base, host, path string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header.Get(ClusterHeader)
}

// eventually polls cond for at most 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestServe(t *testing.T) {
	ingress := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			rule("shop.example.com", path(prefix, "/", "web"), path(prefix, "/gone", "missing")),
			rule("*.example.com", path(prefix, "/", "idle")),
		}},
	}
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	}
	eps := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-abc", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
			{Addresses: []string{"10.0.0.2"}}, // nil means ready
		},
	}
	cs := fake.NewClientset(ingress, svc("web"), svc("idle"), eps)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cs, "blue", ln, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})

	eventually(t, "healthz ok", func() bool {
		code, body, _ := get(t, base, HealthHost, "/healthz")
		return code == http.StatusOK && body == "ok"
	})

	tests := []struct {
		name, host, path string
		code             int
		body             string
	}{
		{"ready", "shop.example.com:8080", "/cart", http.StatusOK, "cluster=blue namespace=shop service=web ingress=web\n"},
		{"no endpoints", "idle.example.com", "/", http.StatusServiceUnavailable, "cluster=blue no ready endpoints for shop/idle\n"},
		{"missing service", "shop.example.com", "/gone/x", http.StatusServiceUnavailable, "cluster=blue no ready endpoints for shop/missing\n"},
		{"no rule", "other.org", "/x", http.StatusNotFound, "cluster=blue no ingress rule for host=other.org path=/x\n"},
		{"healthz needs the health host", "shop.example.com", "/healthz", http.StatusOK, "cluster=blue namespace=shop service=web ingress=web\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, cluster := get(t, base, tt.host, tt.path)
			if code != tt.code || body != tt.body {
				t.Errorf("GET %s%s = %d %q, want %d %q", tt.host, tt.path, code, body, tt.code, tt.body)
			}
			if cluster != "blue" {
				t.Errorf("%s = %q, want %q", ClusterHeader, cluster, "blue")
			}
		})
	}

	// Scale to not ready: the answer must flip from 200 to 503.
	notReady := eps.DeepCopy()
	for i := range notReady.Endpoints {
		notReady.Endpoints[i].Conditions.Ready = ptr.To(false)
	}
	if _, err := cs.DiscoveryV1().EndpointSlices("shop").Update(t.Context(), notReady, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "cluster=blue no ready endpoints for shop/web\n"
	eventually(t, "503 after endpoints became not ready", func() bool {
		code, body, _ := get(t, base, "shop.example.com", "/")
		return code == http.StatusServiceUnavailable && body == want
	})
}

func TestServeHealthzBeforeSync(t *testing.T) {
	h := &handler{cluster: "green", log: slog.New(slog.DiscardHandler)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()
	if code, _, cluster := get(t, base, HealthHost, "/healthz"); code != http.StatusServiceUnavailable || cluster != "green" {
		t.Errorf("healthz before sync = %d (cluster %q), want 503 (cluster green)", code, cluster)
	}
	if code, _, _ := get(t, base, "any.test", "/"); code != http.StatusServiceUnavailable {
		t.Errorf("request before sync = %d, want 503", code)
	}
}
