package awsfake

// The one loopback server both fakes answer on: requests are told apart by
// protocol (Route53's REST-XML paths, ELBv2's query-protocol POST forms).

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Server serves both APIs on one loopback address.
type Server struct {
	*httptest.Server
	mu sync.Mutex
	// InsyncAfter is how long a Route53 change stays PENDING.
	InsyncAfter time.Duration
	zones       map[string]map[string]*RecordSet // zone id → key → record
	zoneInfo    map[string]*hostedZone
	changes     map[string]time.Time // change id → submitted
	nextChange  int
	rules       map[string]*Rule
	tgs         map[string]*targetGroup
	lbs         map[string]*loadBalancer
	listeners   map[string]*listener
	tags        map[string]map[string]string // ARN → tags, of what is not a rule
	nextID      int
	// Calls counts requests per operation.
	Calls map[string]int
	// Route53Limiter, when set, throttles Route53 as AWS does: "five
	// requests per second per AWS account"; a request over it is answered
	// 400 Throttling (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests).
	Route53Limiter *rate.Limiter
	// Throttled counts the requests answered Throttling.
	Throttled int
}

// New starts a fake on 127.0.0.1.
func New() *Server {
	s := NewHandler()
	s.Server = httptest.NewServer(s)
	return s
}

// NewHandler is a fake that is not listening: serve it with ServeHTTP on a
// listener of your own (the lab's AWS endpoint). Its URL is not set.
func NewHandler() *Server {
	return &Server{InsyncAfter: 200 * time.Millisecond, zones: map[string]map[string]*RecordSet{}, zoneInfo: map[string]*hostedZone{}, changes: map[string]time.Time{},
		rules: map[string]*Rule{}, tgs: map[string]*targetGroup{}, lbs: map[string]*loadBalancer{}, listeners: map[string]*listener{},
		tags: map[string]map[string]string{}, Calls: map[string]int{}}
}

// Requests is how many requests the fake has answered, throttled ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.Throttled
	for _, c := range s.Calls {
		n += c
	}
	return n
}

// ServeHTTP answers one Route53 or ELBv2 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/2013-04-01/") {
		s.route53(w, r)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") != "" {
			s.elbv2(w, r, form)
			return
		}
	}
	http.Error(w, "awsfake: unknown request "+r.Method+" "+r.URL.Path, http.StatusNotFound)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

// awsError is the error body both services answer with (ErrorResponse, as
// in the Route53 and ELBv2 API references' "Errors" sections).
type awsError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ID      string   `xml:"RequestId"`
}
