package cluster

import (
	"net/http"
	"sync"

	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Warning is one distinct warning an apiserver returned (a `Warning: 299`
// header: a deprecated API, an unknown field dropped, a PodSecurity
// violation…).
type Warning struct {
	Context string
	Text    string
	// Count is how many responses carried it.
	Count int
	// Write is true when a request that writes (create, update, patch,
	// delete) got it: it is about the objects tandem writes, not about what
	// tandem chose to read.
	Write bool
}

// Warnings collects the warnings of one context's apiserver, each distinct
// text once, in the order first seen. It is a rest.WarningHandler; safe for
// concurrent use.
type Warnings struct {
	context string
	onFirst func(Warning)

	mu     sync.Mutex
	byText map[string]int // index into list
	list   []Warning
	writes map[string]bool
}

// NewWarnings returns an empty collector for a context; onFirst, if not
// nil, is called (outside the lock) the first time a text is seen.
func NewWarnings(context string, onFirst func(Warning)) *Warnings {
	return &Warnings{context: context, onFirst: onFirst, byText: map[string]int{}, writes: map[string]bool{}}
}

// Context is the kubeconfig context the warnings come from.
func (w *Warnings) Context() string { return w.context }

// HandleWarningHeader implements rest.WarningHandler.
func (w *Warnings) HandleWarningHeader(code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	if i, ok := w.byText[text]; ok {
		w.list[i].Count++
		w.mu.Unlock()
		return
	}
	first := Warning{Context: w.context, Text: text, Count: 1}
	w.byText[text] = len(w.list)
	w.list = append(w.list, first)
	w.mu.Unlock()
	if w.onFirst != nil {
		w.onFirst(first)
	}
}

// List returns the distinct warnings seen so far, in the order first seen.
func (w *Warnings) List() []Warning {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Warning, len(w.list))
	for i, x := range w.list {
		x.Write = w.writes[x.Text]
		out[i] = x
	}
	return out
}

// markWrite notes that a response to a write carried text.
func (w *Warnings) markWrite(text string) {
	w.mu.Lock()
	w.writes[text] = true
	w.mu.Unlock()
}

// markWrites wraps a transport so that warnings on responses to writes are
// told apart from those on reads. It only looks: the headers stay for the
// WarningHandler of whichever client made the request.
func (w *Warnings) markWrites(rt http.RoundTripper) http.RoundTripper {
	return writeMarker{next: rt, w: w}
}

type writeMarker struct {
	next http.RoundTripper
	w    *Warnings
}

func (m writeMarker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if err != nil || resp == nil || isRead(req.Method) {
		return resp, err
	}
	hs, _ := utilnet.ParseWarningHeaders(resp.Header["Warning"])
	for _, h := range hs {
		if h.Code == 299 && h.Text != "" {
			m.w.markWrite(h.Text)
		}
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport underneath
// (k8s.io/apimachinery/pkg/util/net.RoundTripperWrapper).
func (m writeMarker) WrappedRoundTripper() http.RoundTripper { return m.next }

func isRead(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}
