package ec2fake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const ns = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Server is the fake.
type Server struct {
	*httptest.Server
	// CompleteAfter is how long a snapshot stays pending.
	CompleteAfter time.Duration
	mu            sync.Mutex
	volumes       map[string]int32 // id → size GiB
	snaps         map[string]*snapshot
	next          int
	Calls         map[string]int
}

// Account is the fake's own account id: what OwnerIds "self" means.
const Account = "123456789012"

type snapshot struct {
	id, volume string
	owner      string
	size       int32
	started    time.Time
	tags       map[string]string
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
	return &Server{CompleteAfter: 300 * time.Millisecond, volumes: map[string]int32{}, snaps: map[string]*snapshot{}, Calls: map[string]int{}}
}

// AddVolume makes a volume exist.
func (s *Server) AddVolume(id string, sizeGiB int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volumes[id] = sizeGiB
}

// AddSnapshot makes a completed snapshot of volume exist in another
// account (owner), shared with or public to this one, with tags.
func (s *Server) AddSnapshot(volume, owner string, tags map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	sn := &snapshot{id: fmt.Sprintf("snap-%017x", s.next), volume: volume, owner: owner, started: time.Now().Add(-s.CompleteAfter), tags: tags}
	s.snaps[sn.id] = sn
	return sn.id
}

// Snapshots returns the ids of the snapshots of a volume.
func (s *Server) Snapshots(volume string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sn := range s.snaps {
		if sn.volume == volume {
			out = append(out, sn.id)
		}
	}
	sort.Strings(out)
	return out
}

var volumeID = regexp.MustCompile(`^vol-[0-9a-f]{8,17}$`)

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type snapXML struct {
	SnapshotID  string   `xml:"snapshotId"`
	VolumeID    string   `xml:"volumeId"`
	Status      string   `xml:"status"`
	StartTime   string   `xml:"startTime"`
	Progress    string   `xml:"progress"`
	OwnerID     string   `xml:"ownerId"`
	VolumeSize  int32    `xml:"volumeSize"`
	Description string   `xml:"description"`
	Encrypted   bool     `xml:"encrypted"`
	Tags        []tagXML `xml:"tagSet>item"`
}

func (s *Server) xml(sn *snapshot) snapXML {
	status, progress := "pending", "50%"
	if time.Since(sn.started) >= s.CompleteAfter {
		status, progress = "completed", "100%"
	}
	out := snapXML{SnapshotID: sn.id, VolumeID: sn.volume, Status: status, StartTime: sn.started.UTC().Format(time.RFC3339), Progress: progress, OwnerID: sn.owner, VolumeSize: sn.size}
	var keys []string
	for k := range sn.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Tags = append(out.Tags, tagXML{k, sn.tags[k]})
	}
	return out
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	write(w, http.StatusBadRequest, struct {
		XMLName xml.Name `xml:"Response"`
		Code    string   `xml:"Errors>Error>Code"`
		Message string   `xml:"Errors>Error>Message"`
		ID      string   `xml:"RequestID"`
	}{Code: code, Message: msg, ID: "fake"})
}

// ServeHTTP answers one EC2 query request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		fail(w, "InvalidRequest", "want a POSTed EC2 query request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls[f.Get("Action")]++
	switch f.Get("Action") {
	case "CreateSnapshot":
		vol := f.Get("VolumeId")
		if !volumeID.MatchString(vol) {
			fail(w, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter volumeId is invalid. Expected: 'vol-...'.", vol))
			return
		}
		size, ok := s.volumes[vol]
		if !ok {
			fail(w, "InvalidVolume.NotFound", fmt.Sprintf("The volume '%s' does not exist.", vol))
			return
		}
		s.next++
		sn := &snapshot{id: fmt.Sprintf("snap-%017x", s.next), volume: vol, owner: Account, size: size, started: time.Now(), tags: map[string]string{}}
		for i := 1; f.Get(fmt.Sprintf("TagSpecification.%d.ResourceType", i)) != ""; i++ {
			if f.Get(fmt.Sprintf("TagSpecification.%d.ResourceType", i)) != "snapshot" {
				fail(w, "InvalidParameterValue", "tags can only be given for the snapshot")
				return
			}
			for j := 1; ; j++ {
				k := f.Get(fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", i, j))
				if k == "" {
					break
				}
				sn.tags[k] = f.Get(fmt.Sprintf("TagSpecification.%d.Tag.%d.Value", i, j))
			}
		}
		s.snaps[sn.id] = sn
		out := s.xml(sn)
		out.Description = f.Get("Description")
		write(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"CreateSnapshotResponse"`
			Xmlns   string   `xml:"xmlns,attr"`
			ID      string   `xml:"requestId"`
			snapXML
		}{Xmlns: ns, ID: "fake", snapXML: out})
	case "CreateVolume":
		// "AvailabilityZone: ... Required"; "Size: ... You must specify
		// either a snapshot ID or a volume size"; gp2/gp3: 1-16,384 GiB
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html).
		zone, snap := f.Get("AvailabilityZone"), f.Get("SnapshotId")
		if zone == "" {
			fail(w, "MissingParameter", "The request must contain the parameter AvailabilityZone")
			return
		}
		var size int
		if v := f.Get("Size"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 16384 {
				fail(w, "InvalidParameterValue", fmt.Sprintf("Volume of size %s is not in the range 1-16384 GiB", v))
				return
			}
			size = n
		}
		if snap != "" {
			sn, ok := s.snaps[snap]
			if !ok {
				fail(w, "InvalidSnapshot.NotFound", fmt.Sprintf("The snapshot '%s' does not exist.", snap))
				return
			}
			if size == 0 {
				size = int(sn.size)
			}
		}
		if size == 0 {
			fail(w, "MissingParameter", "The request must contain either a snapshot ID or a volume size")
			return
		}
		typ := f.Get("VolumeType")
		if typ == "" {
			typ = "gp2"
		}
		s.next++
		id := fmt.Sprintf("vol-%017x", s.next)
		s.volumes[id] = int32(size)
		write(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"CreateVolumeResponse"`
			Xmlns   string   `xml:"xmlns,attr"`
			ID      string   `xml:"requestId"`
			Volume  string   `xml:"volumeId"`
			Size    int      `xml:"size"`
			Snap    string   `xml:"snapshotId"`
			Zone    string   `xml:"availabilityZone"`
			Status  string   `xml:"status"`
			Created string   `xml:"createTime"`
			Type    string   `xml:"volumeType"`
		}{Xmlns: ns, ID: "fake", Volume: id, Size: size, Snap: snap, Zone: zone, Status: "creating", Created: time.Now().UTC().Format(time.RFC3339), Type: typ})
	case "DescribeSnapshots":
		var ids []string
		for i := 1; f.Get(fmt.Sprintf("SnapshotId.%d", i)) != ""; i++ {
			ids = append(ids, f.Get(fmt.Sprintf("SnapshotId.%d", i)))
		}
		filters := map[string][]string{}
		for i := 1; f.Get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
			name := f.Get(fmt.Sprintf("Filter.%d.Name", i))
			for j := 1; f.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)) != ""; j++ {
				filters[name] = append(filters[name], f.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
			}
		}
		// OwnerIds (Owner.N): "self" is this account; without it the answer
		// holds every snapshot the account may use, others' public and
		// shared ones too (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSnapshots.html).
		var owners []string
		for i := 1; f.Get(fmt.Sprintf("Owner.%d", i)) != ""; i++ {
			o := f.Get(fmt.Sprintf("Owner.%d", i))
			if o == "self" {
				o = Account
			}
			owners = append(owners, o)
		}
		owned := func(sn *snapshot) bool { return len(owners) == 0 || slices.Contains(owners, sn.owner) }
		var set []snapXML
		if len(ids) > 0 {
			for _, id := range ids {
				sn, ok := s.snaps[id]
				if !ok {
					fail(w, "InvalidSnapshot.NotFound", fmt.Sprintf("The snapshot '%s' does not exist.", id))
					return
				}
				if owned(sn) {
					set = append(set, s.xml(sn))
				}
			}
		} else {
			var keys []string
			for id := range s.snaps {
				keys = append(keys, id)
			}
			sort.Strings(keys)
			for _, id := range keys {
				if sn := s.snaps[id]; owned(sn) && matches(sn, filters) {
					set = append(set, s.xml(sn))
				}
			}
		}
		write(w, http.StatusOK, struct {
			XMLName xml.Name  `xml:"DescribeSnapshotsResponse"`
			Xmlns   string    `xml:"xmlns,attr"`
			ID      string    `xml:"requestId"`
			Set     []snapXML `xml:"snapshotSet>item"`
		}{Xmlns: ns, ID: "fake", Set: set})
	default:
		fail(w, "InvalidAction", "ec2fake does not serve "+f.Get("Action"))
	}
}

// matches applies DescribeSnapshots filters: volume-id and tag:KEY.
func matches(sn *snapshot, filters map[string][]string) bool {
	for name, vals := range filters {
		var got string
		switch {
		case name == "volume-id":
			got = sn.volume
		case strings.HasPrefix(name, "tag:"):
			v, ok := sn.tags[strings.TrimPrefix(name, "tag:")]
			if !ok {
				return false
			}
			got = v
		default:
			continue // filters the fake does not know narrow nothing
		}
		hit := false
		for _, v := range vals {
			hit = hit || v == got
		}
		if !hit {
			return false
		}
	}
	return true
}

// persisted is what the fake keeps across restarts (the lab's endpoint).
type persisted struct {
	Volumes   map[string]int32 `json:"volumes"`
	Snapshots []snapshotState  `json:"snapshots"`
	Next      int              `json:"next"`
}

type snapshotState struct {
	ID, Volume, Owner string
	Size              int32
	Started           time.Time
	Tags              map[string]string
}

// MarshalState writes the fake's volumes and snapshots as JSON.
func (s *Server) MarshalState() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := persisted{Volumes: s.volumes, Next: s.next}
	for _, id := range slices.Sorted(maps.Keys(s.snaps)) {
		sn := s.snaps[id]
		p.Snapshots = append(p.Snapshots, snapshotState{ID: sn.id, Volume: sn.volume, Owner: sn.owner, Size: sn.size, Started: sn.started, Tags: sn.tags})
	}
	return json.Marshal(p)
}

// UnmarshalState replaces the fake's state with data from MarshalState.
func (s *Server) UnmarshalState(data []byte) error {
	var p persisted
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volumes, s.snaps, s.next = map[string]int32{}, map[string]*snapshot{}, p.Next
	maps.Copy(s.volumes, p.Volumes)
	for _, sn := range p.Snapshots {
		s.snaps[sn.ID] = &snapshot{id: sn.ID, volume: sn.Volume, owner: sn.Owner, size: sn.Size, started: sn.Started, tags: sn.Tags}
	}
	return nil
}
