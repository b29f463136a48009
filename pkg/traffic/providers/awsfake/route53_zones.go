package awsfake

// Route53 hosted zones: CreateHostedZone, GetHostedZone, ListHostedZones,
// so that a test (or the lab) makes its zone through the ordinary API call.

import (
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

type hostedZone struct {
	ID, Name, CallerReference, Comment string
	Private                            bool
}

type zoneXML struct {
	ID        string `xml:"Id"`
	Name      string `xml:"Name"`
	CallerRef string `xml:"CallerReference"`
	Comment   string `xml:"Config>Comment,omitempty"`
	Private   bool   `xml:"Config>PrivateZone"`
	Count     int    `xml:"ResourceRecordSetCount"`
}

func (s *Server) zoneXML(id string) zoneXML {
	z := s.zoneInfo[id]
	if z == nil { // made by AddZone
		z = &hostedZone{ID: id, Name: "example.", CallerReference: id}
	}
	return zoneXML{ID: "/hostedzone/" + id, Name: z.Name, CallerRef: z.CallerReference, Comment: z.Comment, Private: z.Private, Count: len(s.zones[id])}
}

// nameServers are the name servers every fake zone is delegated to.
var nameServers = []string{"ns-1.awsdns-01.org.", "ns-2.awsdns-02.co.uk.", "ns-3.awsdns-03.com.", "ns-4.awsdns-04.net."}

// zonesAPI answers the hosted zone calls (parts: the path after
// /2013-04-01/); it reports false for a path it does not serve.
func (s *Server) zonesAPI(w http.ResponseWriter, r *http.Request, parts []string) bool {
	switch {
	case len(parts) == 1 && parts[0] == "hostedzone" && r.Method == http.MethodPost:
		s.Calls["CreateHostedZone"]++
		var req struct {
			Name      string `xml:"Name"`
			CallerRef string `xml:"CallerReference"`
			Comment   string `xml:"HostedZoneConfig>Comment"`
			Private   bool   `xml:"HostedZoneConfig>PrivateZone"`
			VPC       string `xml:"VPC>VPCId"`
		}
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
			r53Fail(w, http.StatusBadRequest, "MalformedInput", err.Error())
			return true
		}
		// "CallerReference: A unique string ... Length Constraints: Minimum
		// length of 1. Maximum length of 128."; "Name: ... Maximum length of
		// 1024." A reused CallerReference is HostedZoneAlreadyExists
		// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html).
		if req.Name == "" || len(req.Name) > 1024 || req.CallerRef == "" || len(req.CallerRef) > 128 {
			r53Fail(w, http.StatusBadRequest, "InvalidInput", "Name and CallerReference (1 to 128 characters) are required")
			return true
		}
		if req.Private && req.VPC == "" {
			r53Fail(w, http.StatusBadRequest, "InvalidInput", "a private hosted zone needs a VPC")
			return true
		}
		for _, z := range s.zoneInfo {
			if z.CallerReference == req.CallerRef {
				r53Fail(w, http.StatusConflict, "HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference")
				return true
			}
		}
		s.nextID++
		id := fmt.Sprintf("Z%013X", 0x7A4D0000000+s.nextID)
		name := fqdn(req.Name)
		s.zoneInfo[id] = &hostedZone{ID: id, Name: name, CallerReference: req.CallerRef, Comment: req.Comment, Private: req.Private}
		// Route53 makes the zone's NS and SOA records itself.
		ttl, soaTTL := int64(172800), int64(900)
		s.zones[id] = map[string]*RecordSet{}
		for _, rs := range []*RecordSet{
			{Name: name, Type: "NS", TTL: &ttl, Values: nameServers},
			{Name: name, Type: "SOA", TTL: &soaTTL, Values: []string{nameServers[0] + " awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
		} {
			s.zones[id][rs.key()] = rs
		}
		s.nextChange++
		change := fmt.Sprintf("/change/C%06d", s.nextChange)
		s.changes[change] = time.Now()
		w.Header().Set("Location", "https://route53.amazonaws.com/2013-04-01/hostedzone/"+id)
		writeXML(w, http.StatusCreated, struct {
			XMLName xml.Name   `xml:"CreateHostedZoneResponse"`
			Xmlns   string     `xml:"xmlns,attr"`
			Zone    zoneXML    `xml:"HostedZone"`
			Info    changeInfo `xml:"ChangeInfo"`
			NS      []string   `xml:"DelegationSet>NameServers>NameServer"`
		}{Xmlns: r53NS, Zone: s.zoneXML(id), Info: changeInfo{ID: change, Status: "PENDING", SubmittedAt: time.Now().UTC().Format(time.RFC3339)}, NS: nameServers})
	case len(parts) == 1 && parts[0] == "hostedzone" && r.Method == http.MethodGet:
		s.Calls["ListHostedZones"]++
		// "maxitems: ... If you specify a value greater than 100, Route 53
		// returns only the first 100"; marker: the zone id to start at
		// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZones.html).
		max := 100
		if m, err := strconv.Atoi(r.URL.Query().Get("maxitems")); err == nil && m > 0 && m < max {
			max = m
		}
		ids := slices.Sorted(maps.Keys(s.zones))
		if m := r.URL.Query().Get("marker"); m != "" {
			i, _ := slices.BinarySearch(ids, m)
			ids = ids[i:]
		}
		next := ""
		if len(ids) > max {
			next, ids = ids[max], ids[:max]
		}
		out := struct {
			XMLName   xml.Name  `xml:"ListHostedZonesResponse"`
			Xmlns     string    `xml:"xmlns,attr"`
			Zones     []zoneXML `xml:"HostedZones>HostedZone"`
			Marker    string    `xml:"Marker"`
			Truncated bool      `xml:"IsTruncated"`
			Next      string    `xml:"NextMarker,omitempty"`
			MaxItems  int       `xml:"MaxItems"`
		}{Xmlns: r53NS, Marker: r.URL.Query().Get("marker"), Truncated: next != "", Next: next, MaxItems: max}
		for _, id := range ids {
			out.Zones = append(out.Zones, s.zoneXML(id))
		}
		writeXML(w, http.StatusOK, out)
	case len(parts) == 2 && parts[0] == "hostedzone" && r.Method == http.MethodGet:
		s.Calls["GetHostedZone"]++
		if _, ok := s.zones[parts[1]]; !ok {
			r53Fail(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+parts[1])
			return true
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"GetHostedZoneResponse"`
			Xmlns   string   `xml:"xmlns,attr"`
			Zone    zoneXML  `xml:"HostedZone"`
			NS      []string `xml:"DelegationSet>NameServers>NameServer"`
		}{Xmlns: r53NS, Zone: s.zoneXML(parts[1]), NS: nameServers})
	default:
		return false
	}
	return true
}
