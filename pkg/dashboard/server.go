package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// Server is the dashboard's HTTP server.
type Server struct {
	Source Source
	// Actor, when set, serves the actions; they need the Token (NewToken).
	Actor Actor
	Token string
	Log   *slog.Logger

	mu    sync.Mutex
	feeds map[string]*feed
}

// NewToken is a random token for the actions.
func NewToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Listen checks addr and listens on it: a malformed address or one in use
// is an error naming it (before anything else is started).
func Listen(addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("address %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("address %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(ctx), ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is the dashboard's routes; feeds live as long as ctx.
func (s *Server) Handler(ctx context.Context) http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	if s.feeds == nil {
		s.feeds = map[string]*feed{}
	}
	s.mu.Unlock()
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := assets.ReadFile("assets/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /api/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"actions": s.Actor != nil})
	})
	mux.HandleFunc("GET /api/pairs", func(w http.ResponseWriter, r *http.Request) {
		names, err := s.Source.Pairs(r.Context())
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, names)
	})
	mux.HandleFunc("GET /api/status", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		st, err := s.Source.Status(r.Context(), name)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, st)
	}))
	mux.HandleFunc("GET /api/drills", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		d, err := s.Source.Drills(r.Context(), name)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, d)
	}))
	mux.HandleFunc("GET /api/drills/report", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		d, err := s.Source.Drills(r.Context(), name)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		started, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("started"))
		if err != nil {
			httpError(w, http.StatusBadRequest, fmt.Errorf("started: want the drill's start time as the API gives it: %v", err))
			return
		}
		for _, rep := range d {
			if rep.Started.Equal(started) {
				w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
				_, _ = w.Write([]byte(rep.Markdown()))
				return
			}
		}
		httpError(w, http.StatusNotFound, fmt.Errorf("no drill of %s started at %s", name, started))
	}))
	mux.HandleFunc("GET /api/run", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		run, err := s.Source.Run(r.Context(), name)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		writeJSON(w, run)
	}))
	mux.HandleFunc("GET /api/history", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		writeJSON(w, s.feed(ctx, name).historyCopy())
	}))
	mux.HandleFunc("GET /api/events", s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		s.events(w, r, s.feed(ctx, name))
	}))
	mux.HandleFunc("POST /api/actions/rollback", s.action(func(r *http.Request, name string) (any, error) {
		return map[string]string{"result": "traffic back on the active cluster"}, s.Actor.RollBack(r.Context(), name)
	}))
	mux.HandleFunc("POST /api/actions/drill", s.action(func(r *http.Request, name string) (any, error) {
		id, err := s.Actor.StartDrill(context.WithoutCancel(r.Context()), name)
		return map[string]string{"drill": id}, err
	}))
	return mux
}

// pairHandler resolves ?pair= (default: the only pair) for h.
func (s *Server) pairHandler(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		names, err := s.Source.Pairs(r.Context())
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		name := r.URL.Query().Get("pair")
		if name == "" && len(names) > 0 {
			name = names[0]
		}
		if !slices.Contains(names, name) {
			httpError(w, http.StatusNotFound, fmt.Errorf("no pair %q (there are %v)", name, names))
			return
		}
		h(w, r, name)
	}
}

// action guards an action: served only with an Actor, and the token.
func (s *Server) action(do func(*http.Request, string) (any, error)) http.HandlerFunc {
	return s.pairHandler(func(w http.ResponseWriter, r *http.Request, name string) {
		if s.Actor == nil {
			httpError(w, http.StatusForbidden, errors.New("read-only dashboard: start it with --allow-actions"))
			return
		}
		want := "Bearer " + s.Token
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			httpError(w, http.StatusUnauthorized, errors.New("the action needs the token the dashboard printed at start (Authorization: Bearer TOKEN)"))
			return
		}
		out, err := do(r, name)
		if err != nil {
			httpError(w, http.StatusBadGateway, err)
			return
		}
		s.Log.Info("dashboard action", "path", r.URL.Path, "pair", name)
		writeJSON(w, out)
	})
}

// feed returns the pair's feed, started on first use.
func (s *Server) feed(ctx context.Context, name string) *feed {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.feeds[name]
	if !ok {
		f = newFeed(name, s.Source, s.Log)
		s.feeds[name] = f
		go f.run(ctx)
	}
	return f
}

// events streams the feed as Server-Sent Events until the client leaves.
func (s *Server) events(w http.ResponseWriter, r *http.Request, f *feed) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, errors.New("streaming unsupported"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	first, ch, cancel := f.subscribe()
	defer cancel()
	send := func(b []byte) bool {
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	if !send(first) {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			if !send(b) {
				return
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
