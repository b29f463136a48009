package awsfake

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server serves both APIs on one loopback address.
type Server struct {
	*httptest.Server
	mu sync.Mutex
	// InsyncAfter is how long a Route53 change stays PENDING.
	InsyncAfter time.Duration
	zones       map[string]map[string]*RecordSet // zone id → key → record
	changes     map[string]time.Time             // change id → submitted
	nextChange  int
	rules       map[string]*Rule
	tgs         map[string]bool
	// Calls counts requests per operation.
	Calls map[string]int
}

// RecordSet is a Route53 resource record set.
type RecordSet struct {
	Name          string   `xml:"Name"`
	Type          string   `xml:"Type"`
	SetIdentifier string   `xml:"SetIdentifier,omitempty"`
	Weight        *int64   `xml:"Weight,omitempty"`
	TTL           *int64   `xml:"TTL,omitempty"`
	Values        []string `xml:"ResourceRecords>ResourceRecord>Value"`
}

func (r *RecordSet) key() string { return fqdn(r.Name) + "|" + r.Type + "|" + r.SetIdentifier }

// Rule is an ELBv2 listener rule that forwards to weighted target groups.
type Rule struct {
	Arn      string
	Priority string
	Weights  map[string]int64 // target group ARN → weight
	order    []string
}

// New starts a fake on 127.0.0.1.
func New() *Server {
	s := &Server{InsyncAfter: 200 * time.Millisecond, zones: map[string]map[string]*RecordSet{}, changes: map[string]time.Time{},
		rules: map[string]*Rule{}, tgs: map[string]bool{}, Calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func fqdn(n string) string {
	n = strings.ToLower(n)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// AddZone creates an empty hosted zone.
func (s *Server) AddZone(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[id] = map[string]*RecordSet{}
}

// PutRecord writes a record set directly (as another tool or a person would).
func (s *Server) PutRecord(zone string, r RecordSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Name = fqdn(r.Name)
	s.zones[zone][r.key()] = &r
}

// Records returns a zone's record sets, sorted.
func (s *Server) Records(zone string) []RecordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RecordSet
	for _, r := range s.zones[zone] {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// AddRule creates a listener rule forwarding to target groups with weights.
func (s *Server) AddRule(arn string, weights map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Rule{Arn: arn, Priority: "10", Weights: map[string]int64{}}
	for tg, w := range weights {
		s.tgs[tg] = true
		r.Weights[tg] = w
		r.order = append(r.order, tg)
	}
	sort.Strings(r.order)
	s.rules[arn] = r
}

// SetRuleWeight changes one weight directly (someone else's change).
func (s *Server) SetRuleWeight(arn, tg string, w int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[arn].Weights[tg] = w
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/2013-04-01/") {
		s.route53(w, r)
		return
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") != "" {
			s.elbv2(w, form)
			return
		}
	}
	http.Error(w, "awsfake: unknown request "+r.Method+" "+r.URL.Path, http.StatusNotFound)
}

// --- Route53 ---

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

type r53Error struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ID      string   `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func r53Fail(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, r53Error{Xmlns: r53NS, Type: "Sender", Code: code, Message: msg, ID: "fake"})
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
}

func (s *Server) route53(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/2013-04-01/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(parts) == 2 && parts[0] == "change" && r.Method == http.MethodGet:
		s.Calls["GetChange"]++
		id := "/change/" + parts[1]
		at, ok := s.changes[id]
		if !ok {
			r53Fail(w, http.StatusNotFound, "NoSuchChange", "no change "+id)
			return
		}
		status := "PENDING"
		if time.Since(at) >= s.InsyncAfter {
			status = "INSYNC"
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name   `xml:"GetChangeResponse"`
			Xmlns   string     `xml:"xmlns,attr"`
			Info    changeInfo `xml:"ChangeInfo"`
		}{Xmlns: r53NS, Info: changeInfo{ID: id, Status: status, SubmittedAt: at.UTC().Format(time.RFC3339)}})
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		zone, ok := s.zones[parts[1]]
		if !ok {
			r53Fail(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+parts[1])
			return
		}
		if r.Method == http.MethodGet {
			s.Calls["ListResourceRecordSets"]++
			s.list(w, r, zone)
			return
		}
		s.Calls["ChangeResourceRecordSets"]++
		s.change(w, r, parts[1], zone)
	default:
		r53Fail(w, http.StatusNotFound, "UnknownOperation", r.Method+" "+r.URL.Path)
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, zone map[string]*RecordSet) {
	q := r.URL.Query()
	start := fqdn(q.Get("name"))
	if q.Get("name") == "" {
		start = ""
	}
	max := 300
	if m, err := strconv.Atoi(q.Get("maxitems")); err == nil && m > 0 && m < max {
		max = m
	}
	var all []*RecordSet
	for _, rs := range zone {
		if rs.Name >= start && (q.Get("type") == "" || rs.Name > start || rs.Type >= q.Get("type")) {
			all = append(all, rs)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key() < all[j].key() })
	truncated := len(all) > max
	if truncated {
		all = all[:max]
	}
	out := struct {
		XMLName     xml.Name     `xml:"ListResourceRecordSetsResponse"`
		Xmlns       string       `xml:"xmlns,attr"`
		Sets        []*RecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated bool         `xml:"IsTruncated"`
		MaxItems    int          `xml:"MaxItems"`
	}{Xmlns: r53NS, Sets: all, IsTruncated: truncated, MaxItems: max}
	writeXML(w, http.StatusOK, out)
}

type changeRequest struct {
	Changes []struct {
		Action string    `xml:"Action"`
		Set    RecordSet `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

// change applies a batch all or nothing.
func (s *Server) change(w http.ResponseWriter, r *http.Request, zoneID string, zone map[string]*RecordSet) {
	var req changeRequest
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		r53Fail(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	if len(req.Changes) == 0 {
		r53Fail(w, http.StatusBadRequest, "InvalidInput", "ChangeBatch has no changes")
		return
	}
	next := map[string]*RecordSet{}
	for k, v := range zone {
		next[k] = v
	}
	for _, c := range req.Changes {
		rs := c.Set
		rs.Name = fqdn(rs.Name)
		if msg := validRecord(&rs); msg != "" {
			r53Fail(w, http.StatusBadRequest, "InvalidInput", msg)
			return
		}
		cur, exists := next[rs.key()]
		switch c.Action {
		case "CREATE":
			if exists {
				r53Fail(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("[Tried to create resource record set [name='%s', type='%s', set-identifier='%s'] but it already exists]", rs.Name, rs.Type, rs.SetIdentifier))
				return
			}
			fallthrough
		case "UPSERT":
			for _, other := range next {
				if other.Name == rs.Name && other.Type == rs.Type && (other.SetIdentifier == "") != (rs.SetIdentifier == "") {
					r53Fail(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("[RRSet with DNS name %s, type %s cannot be created as a non-weighted set exists with the same name and type]", rs.Name, rs.Type))
					return
				}
			}
			cp := rs
			next[rs.key()] = &cp
		case "DELETE":
			if !exists {
				r53Fail(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("[Tried to delete resource record set [name='%s', type='%s', set-identifier='%s'] but it was not found]", rs.Name, rs.Type, rs.SetIdentifier))
				return
			}
			if !sameRecord(cur, &rs) {
				r53Fail(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("[Tried to delete resource record set [name='%s', type='%s', set-identifier='%s'] but the values provided do not match the current values]", rs.Name, rs.Type, rs.SetIdentifier))
				return
			}
			delete(next, rs.key())
		default:
			r53Fail(w, http.StatusBadRequest, "InvalidInput", "unknown Action "+c.Action)
			return
		}
	}
	s.zones[zoneID] = next
	s.nextChange++
	id := fmt.Sprintf("/change/C%06d", s.nextChange)
	s.changes[id] = time.Now()
	writeXML(w, http.StatusOK, struct {
		XMLName xml.Name   `xml:"ChangeResourceRecordSetsResponse"`
		Xmlns   string     `xml:"xmlns,attr"`
		Info    changeInfo `xml:"ChangeInfo"`
	}{Xmlns: r53NS, Info: changeInfo{ID: id, Status: "PENDING", SubmittedAt: time.Now().UTC().Format(time.RFC3339)}})
}

func validRecord(rs *RecordSet) string {
	switch {
	case rs.Name == "." || rs.Type == "":
		return "Name and Type are required"
	case rs.Weight != nil && rs.SetIdentifier == "":
		return fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=..., Name=%s, Type=%s, SetIdentifier=null]: a Weight needs a SetIdentifier", rs.Name, rs.Type)
	case rs.SetIdentifier != "" && rs.Weight == nil:
		return "Invalid request: a SetIdentifier needs a routing policy (Weight)"
	case rs.Weight != nil && (*rs.Weight < 0 || *rs.Weight > 255):
		return fmt.Sprintf("1 validation error detected: Value '%d' at 'changeBatch.changes.1.member.resourceRecordSet.weight' failed to satisfy constraint: Member must have value less than or equal to 255", *rs.Weight)
	case rs.TTL == nil || len(rs.Values) == 0:
		return "Invalid request: TTL and ResourceRecords are required"
	}
	return ""
}

func sameRecord(a, b *RecordSet) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.Weight, b.Weight) && eq(a.TTL, b.TTL) && strings.Join(a.Values, ",") == strings.Join(b.Values, ",")
}

// --- ELBv2 ---

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

type elbError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ID      string   `xml:"RequestId"`
}

func elbFail(w http.ResponseWriter, code, msg string) {
	writeXML(w, http.StatusBadRequest, elbError{Xmlns: elbNS, Type: "Sender", Code: code, Message: msg, ID: "fake"})
}

type tgTuple struct {
	Arn    string `xml:"TargetGroupArn"`
	Weight int64  `xml:"Weight"`
}

type ruleXML struct {
	Arn       string    `xml:"RuleArn"`
	Priority  string    `xml:"Priority"`
	IsDefault bool      `xml:"IsDefault"`
	Type      string    `xml:"Actions>member>Type"`
	Order     int       `xml:"Actions>member>Order"`
	Groups    []tgTuple `xml:"Actions>member>ForwardConfig>TargetGroups>member"`
}

func (r *Rule) xml() ruleXML {
	out := ruleXML{Arn: r.Arn, Priority: r.Priority, Type: "forward", Order: 1}
	for _, tg := range r.order {
		out.Groups = append(out.Groups, tgTuple{Arn: tg, Weight: r.Weights[tg]})
	}
	return out
}

func (s *Server) elbv2(w http.ResponseWriter, f url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	action := f.Get("Action")
	s.Calls[action]++
	if f.Get("Version") != "2015-12-01" {
		elbFail(w, "InvalidAction", "unsupported Version "+f.Get("Version"))
		return
	}
	switch action {
	case "DescribeRules":
		var rules []ruleXML
		for i := 1; ; i++ {
			arn := f.Get(fmt.Sprintf("RuleArns.member.%d", i))
			if arn == "" {
				break
			}
			r, ok := s.rules[arn]
			if !ok {
				elbFail(w, "RuleNotFound", "One or more rules not found")
				return
			}
			rules = append(rules, r.xml())
		}
		if len(rules) == 0 {
			elbFail(w, "ValidationError", "RuleArns or ListenerArn is required")
			return
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name  `xml:"DescribeRulesResponse"`
			Xmlns   string    `xml:"xmlns,attr"`
			Rules   []ruleXML `xml:"DescribeRulesResult>Rules>member"`
			ID      string    `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: elbNS, Rules: rules, ID: "fake"})
	case "ModifyRule":
		r, ok := s.rules[f.Get("RuleArn")]
		if !ok {
			elbFail(w, "RuleNotFound", "One or more rules not found")
			return
		}
		if f.Get("Actions.member.1.Type") != "forward" || f.Get("Actions.member.2.Type") != "" {
			elbFail(w, "ValidationError", "want exactly one forward action")
			return
		}
		weights := map[string]int64{}
		var order []string
		for i := 1; ; i++ {
			p := fmt.Sprintf("Actions.member.1.ForwardConfig.TargetGroups.member.%d.", i)
			arn := f.Get(p + "TargetGroupArn")
			if arn == "" {
				break
			}
			if !s.tgs[arn] {
				elbFail(w, "TargetGroupNotFound", "One or more target groups not found: "+arn)
				return
			}
			wt, err := strconv.ParseInt(f.Get(p+"Weight"), 10, 64)
			if err != nil || wt < 0 || wt > 999 {
				elbFail(w, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'actions.1.member.forwardConfig.targetGroups.%d.member.weight' failed to satisfy constraint: Member must have value between 0 and 999", f.Get(p+"Weight"), i))
				return
			}
			weights[arn] = wt
			order = append(order, arn)
		}
		if len(weights) == 0 || len(weights) > 5 {
			elbFail(w, "ValidationError", "a forward action needs 1 to 5 target groups")
			return
		}
		r.Weights, r.order = weights, order
		sort.Strings(r.order)
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name  `xml:"ModifyRuleResponse"`
			Xmlns   string    `xml:"xmlns,attr"`
			Rules   []ruleXML `xml:"ModifyRuleResult>Rules>member"`
			ID      string    `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: elbNS, Rules: []ruleXML{r.xml()}, ID: "fake"})
	default:
		elbFail(w, "InvalidAction", "awsfake does not serve "+action)
	}
}
