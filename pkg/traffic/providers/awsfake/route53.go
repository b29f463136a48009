package awsfake

// Route53 (REST-XML, API version 2013-04-01): ListResourceRecordSets,
// ChangeResourceRecordSets, GetChange.

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RecordSet is a Route53 resource record set.
type RecordSet struct {
	Name          string       `xml:"Name"`
	Type          string       `xml:"Type"`
	SetIdentifier string       `xml:"SetIdentifier,omitempty"`
	Weight        *int64       `xml:"Weight,omitempty"`
	TTL           *int64       `xml:"TTL,omitempty"`
	Values        []string     `xml:"ResourceRecords>ResourceRecord>Value,omitempty"`
	AliasTarget   *AliasTarget `xml:"AliasTarget,omitempty"`
	HealthCheckID string       `xml:"HealthCheckId,omitempty"`
}

// MarshalXML writes ResourceRecords only when there are values: an ALIAS
// record has none, and an empty element would read as one empty value.
func (r RecordSet) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	// One ResourceRecord element per value (Go's a>b path would put every
	// Value into one ResourceRecord, which AWS's clients misread).
	type value struct {
		Value string `xml:"Value"`
	}
	type values struct {
		Records []value `xml:"ResourceRecord"`
	}
	wire := struct {
		Name          string       `xml:"Name"`
		Type          string       `xml:"Type"`
		SetIdentifier string       `xml:"SetIdentifier,omitempty"`
		Weight        *int64       `xml:"Weight,omitempty"`
		TTL           *int64       `xml:"TTL,omitempty"`
		Records       *values      `xml:"ResourceRecords,omitempty"`
		AliasTarget   *AliasTarget `xml:"AliasTarget,omitempty"`
		HealthCheckID string       `xml:"HealthCheckId,omitempty"`
	}{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight, TTL: r.TTL, AliasTarget: r.AliasTarget, HealthCheckID: r.HealthCheckID}
	if len(r.Values) > 0 {
		wire.Records = &values{}
		for _, v := range r.Values {
			wire.Records.Records = append(wire.Records.Records, value{v})
		}
	}
	return e.EncodeElement(wire, start)
}

// AliasTarget is where an ALIAS record points (a load balancer, usually).
type AliasTarget struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

func (r *RecordSet) key() string { return fqdn(r.Name) + "|" + r.Type + "|" + r.SetIdentifier }

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

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

func r53Fail(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, awsError{Xmlns: r53NS, Type: "Sender", Code: code, Message: msg, ID: "fake"})
}

type changeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
}

func (s *Server) route53(w http.ResponseWriter, r *http.Request) {
	// The API reference writes ChangeResourceRecordSets as POST
	// /2013-04-01/hostedzone/Id/rrset/ (the AWS CLI sends the slash) and
	// ListResourceRecordSets as GET …/rrset: both are the same here.
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/2013-04-01/"), "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Route53Limiter != nil && !s.Route53Limiter.Allow() {
		s.Throttled++
		r53Fail(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
		return
	}
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
		if !s.zonesAPI(w, r, parts) {
			r53Fail(w, http.StatusNotFound, "UnknownOperation", r.Method+" "+r.URL.Path)
		}
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
	// A page starting at a set identifier begins with that record of the name and type.
	if id := q.Get("identifier"); id != "" {
		for i, rs := range all {
			if rs.Name == start && rs.Type == q.Get("type") && rs.SetIdentifier >= id {
				all = all[i:]
				break
			}
		}
	}
	// "If the results were truncated, ... NextRecordName, NextRecordType
	// [and NextRecordIdentifier] ... the next record"
	// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html).
	var nextName, nextType, nextID string
	truncated := len(all) > max
	if truncated {
		nextName, nextType, nextID = all[max].Name, all[max].Type, all[max].SetIdentifier
		all = all[:max]
	}
	out := struct {
		XMLName     xml.Name     `xml:"ListResourceRecordSetsResponse"`
		Xmlns       string       `xml:"xmlns,attr"`
		Sets        []*RecordSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated bool         `xml:"IsTruncated"`
		NextName    string       `xml:"NextRecordName,omitempty"`
		NextType    string       `xml:"NextRecordType,omitempty"`
		NextID      string       `xml:"NextRecordIdentifier,omitempty"`
		MaxItems    int          `xml:"MaxItems"`
	}{Xmlns: r53NS, Sets: all, IsTruncated: truncated, NextName: nextName, NextType: nextType, NextID: nextID, MaxItems: max}
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
	// The records of one weighted set answer with one TTL: a set whose
	// members' TTLs differ is refused ("...the TTL must be the same for all
	// weighted records with the same name and type",
	// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-weighted.html#rrsets-values-weighted-ttl).
	ttls := map[string]int64{}
	for _, rs := range next {
		if rs.SetIdentifier == "" || rs.TTL == nil {
			continue
		}
		k := rs.Name + "|" + rs.Type
		if t, ok := ttls[k]; ok && t != *rs.TTL {
			r53Fail(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("[RRSet with DNS name %s, type %s: the weighted records of a set must have the same TTL (%d and %d)]", rs.Name, rs.Type, t, *rs.TTL))
			return
		}
		ttls[k] = *rs.TTL
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
	// "Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId]"
	// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html).
	case rs.AliasTarget != nil && (rs.TTL != nil || len(rs.Values) > 0):
		return fmt.Sprintf("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Name=%s, Type=%s, SetIdentifier=%s]", rs.Name, rs.Type, rs.SetIdentifier)
	case rs.AliasTarget != nil && (rs.AliasTarget.DNSName == "" || rs.AliasTarget.HostedZoneID == ""):
		return "Invalid request: AliasTarget needs HostedZoneId and DNSName"
	case rs.AliasTarget == nil && (rs.TTL == nil || len(rs.Values) == 0):
		return "Invalid request: TTL and ResourceRecords are required"
	}
	return ""
}

func sameRecord(a, b *RecordSet) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	alias := (a.AliasTarget == nil) == (b.AliasTarget == nil) && (a.AliasTarget == nil || *a.AliasTarget == *b.AliasTarget)
	return eq(a.Weight, b.Weight) && eq(a.TTL, b.TTL) && strings.Join(a.Values, ",") == strings.Join(b.Values, ",") && alias && a.HealthCheckID == b.HealthCheckID
}
