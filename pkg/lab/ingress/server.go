package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
)

// HealthHost is the Host header that turns GET /healthz into a health check
// instead of a routed request; it matches lab.IngressHealthHost.
const HealthHost = "tandem-lab-ingress"

// ClusterHeader names the response header that carries the cluster name.
const ClusterHeader = "X-Tandem-Cluster"

// shutdownTimeout bounds how long in-flight requests may finish once ctx is done.
const shutdownTimeout = 5 * time.Second

// handler answers requests from informer caches only: no API call per request.
type handler struct {
	cluster   string
	log       *slog.Logger
	synced    atomic.Bool
	ingresses networkinglisters.IngressLister
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
}

// Serve answers HTTP on ln for the cluster behind cs until ctx is done. clusterName goes into every answer.
func Serve(ctx context.Context, cs kubernetes.Interface, clusterName string, ln net.Listener, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("cluster", clusterName)

	// The informers get their own context so that Serve stops them, and waits
	// for them, on every return path, not only when ctx is done.
	informerCtx, stopInformers := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactory(cs, 0)
	defer factory.Shutdown()
	defer stopInformers()

	h := &handler{
		cluster:   clusterName,
		log:       log,
		ingresses: factory.Networking().V1().Ingresses().Lister(),
		services:  factory.Core().V1().Services().Lister(),
		slices:    factory.Discovery().V1().EndpointSlices().Lister(),
	}
	factory.StartWithContext(informerCtx)
	go func() {
		if res := factory.WaitForCacheSyncWithContext(informerCtx); res.Err != nil {
			log.Info("Informer caches did not sync", "err", res.Err)
			return
		}
		h.synced.Store(true)
		log.Info("Informer caches synced")
	}()

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("Lab ingress serving", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("lab ingress %s: serve: %w", clusterName, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("lab ingress %s: shutdown: %w", clusterName, err)
	}
	log.Info("Lab ingress stopped")
	return nil
}

// ServeHTTP routes one request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := stripPort(r.Host)
	path := r.URL.Path
	if host == HealthHost && path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if !h.synced.Load() {
			h.reply(w, http.StatusServiceUnavailable, "not synced\n")
			return
		}
		h.reply(w, http.StatusOK, "ok")
		return
	}
	if !h.synced.Load() {
		// Partial caches could route to the wrong answer; say so instead.
		h.reply(w, http.StatusServiceUnavailable, fmt.Sprintf("cluster=%s ingress caches not synced\n", h.cluster))
		return
	}

	ings, err := h.ingresses.List(labels.Everything())
	if err != nil {
		h.log.Error("Listing ingresses from cache failed", "err", err)
		h.reply(w, http.StatusInternalServerError, fmt.Sprintf("cluster=%s listing ingresses: %v\n", h.cluster, err))
		return
	}
	m, ok := Route(ings, host, path)
	if !ok {
		h.reply(w, http.StatusNotFound, fmt.Sprintf("cluster=%s no ingress rule for host=%s path=%s\n", h.cluster, host, path))
		return
	}
	if !h.ready(m.Namespace, m.Service) {
		h.reply(w, http.StatusServiceUnavailable, fmt.Sprintf("cluster=%s no ready endpoints for %s/%s\n", h.cluster, m.Namespace, m.Service))
		return
	}
	h.reply(w, http.StatusOK, fmt.Sprintf("cluster=%s namespace=%s service=%s ingress=%s\n", h.cluster, m.Namespace, m.Service, m.Ingress))
}

// ready reports whether Service ns/name exists and has a ready endpoint.
func (h *handler) ready(ns, name string) bool {
	if _, err := h.services.Services(ns).Get(name); err != nil {
		if !apierrors.IsNotFound(err) {
			h.log.Error("Getting service from cache failed", "namespace", ns, "service", name, "err", err)
		}
		return false
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name})
	slices, err := h.slices.EndpointSlices(ns).List(sel)
	if err != nil {
		h.log.Error("Listing endpoint slices from cache failed", "namespace", ns, "service", name, "err", err)
		return false
	}
	return Ready(slices)
}

// reply writes one plain-text answer with the cluster header.
func (h *handler) reply(w http.ResponseWriter, code int, body string) {
	hdr := w.Header()
	hdr.Set(ClusterHeader, h.cluster)
	hdr.Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	if _, err := io.WriteString(w, body); err != nil {
		h.log.Debug("Writing response failed", "err", err)
	}
}
