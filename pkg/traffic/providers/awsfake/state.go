package awsfake

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// persisted is everything the fake holds that outlives a request — zones and
// their records, load balancers, target groups, listeners, rules and tags —
// so that a long-running fake (the lab's AWS endpoint) can keep it across
// restarts. Changes in flight (PENDING) are not kept: after a restart every
// change reads INSYNC, as it would be by then.
type persisted struct {
	Zones     map[string]map[string]*RecordSet `json:"zones"`
	ZoneInfo  map[string]*hostedZone           `json:"zoneInfo"`
	Rules     map[string]*Rule                 `json:"rules"`
	TGs       map[string]*targetGroup          `json:"targetGroups"`
	LBs       map[string]*loadBalancer         `json:"loadBalancers"`
	Listeners map[string]*listener             `json:"listeners"`
	Tags      map[string]map[string]string     `json:"tags"`
	NextID    int                              `json:"nextID"`
}

// MarshalState writes the fake's state as JSON.
func (s *Server) MarshalState() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(persisted{Zones: s.zones, ZoneInfo: s.zoneInfo, Rules: s.rules, TGs: s.tgs, LBs: s.lbs, Listeners: s.listeners, Tags: s.tags, NextID: s.nextID})
}

// UnmarshalState replaces the fake's state with data from MarshalState.
func (s *Server) UnmarshalState(data []byte) error {
	var st persisted
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	orEmpty := func(m map[string]map[string]string) map[string]map[string]string {
		if m == nil {
			return map[string]map[string]string{}
		}
		return m
	}
	s.zones, s.zoneInfo, s.rules, s.tgs, s.lbs, s.listeners, s.tags, s.nextID = st.Zones, st.ZoneInfo, st.Rules, st.TGs, st.LBs, st.Listeners, orEmpty(st.Tags), st.NextID
	if s.zones == nil {
		s.zones = map[string]map[string]*RecordSet{}
	}
	if s.zoneInfo == nil {
		s.zoneInfo = map[string]*hostedZone{}
	}
	if s.rules == nil {
		s.rules = map[string]*Rule{}
	}
	if s.tgs == nil {
		s.tgs = map[string]*targetGroup{}
	}
	if s.lbs == nil {
		s.lbs = map[string]*loadBalancer{}
	}
	if s.listeners == nil {
		s.listeners = map[string]*listener{}
	}
	return nil
}

// Zone is a hosted zone as a DNS server needs it.
type Zone struct{ ID, Name string }

// ZoneFor is the hosted zone whose name is the longest suffix of name.
func (s *Server) ZoneFor(name string) (Zone, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = fqdn(name)
	var best Zone
	for _, id := range slices.Sorted(maps.Keys(s.zoneInfo)) {
		z := s.zoneInfo[id]
		if (name == z.Name || strings.HasSuffix(name, "."+z.Name)) && len(z.Name) > len(best.Name) {
			best = Zone{ID: id, Name: z.Name}
		}
	}
	return best, best.ID != ""
}

// Lookup returns the record sets of a name and type in a zone (a weighted
// set has several), sorted by set identifier.
func (s *Server) Lookup(zone, name, typ string) []RecordSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = fqdn(name)
	var out []RecordSet
	for _, rs := range s.zones[zone] {
		if rs.Name == name && rs.Type == typ {
			out = append(out, *rs)
		}
	}
	slices.SortFunc(out, func(a, b RecordSet) int { return strings.Compare(a.SetIdentifier, b.SetIdentifier) })
	return out
}
