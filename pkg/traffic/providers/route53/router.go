package route53

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/tandem-io/tandem/pkg/awsconf"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// MaxWeight is Route53's largest weight.
const MaxWeight = 255

// ToRoute53 maps tandem's 0–100 onto Route53's 0–255, rounding to nearest;
// FromRoute53 maps back. Every 0–100 survives the round trip (255/100 > 1),
// and the shares stay within half a Route53 step (0.2 %) of what was asked.
func ToRoute53(w int) int64 { return int64((w*MaxWeight + 50) / 100) }

// FromRoute53 maps a Route53 weight back onto 0–100.
func FromRoute53(r int64) int { return int((r*100 + MaxWeight/2) / MaxWeight) }

// Config says which records a Router drives.
type Config struct {
	Zone   string
	Names  []string            // the routes: record names
	Type   string              // record type, default A
	TTL    int64               // seconds, for records tandem writes; default 60
	Values map[string][]string // cluster → record values, for records a cluster does not have yet
	// Aliases are the ALIAS targets of records a cluster does not have yet
	// (CLUSTER=alias:HOSTED_ZONE_ID/DNS_NAME: a load balancer's canonical
	// hosted zone and DNS name).
	Aliases  map[string]types.AliasTarget
	SetIDs   map[string]string // cluster → SetIdentifier; default: the cluster's name
	Endpoint string            // "" = AWS
	Region   string
	// Credentials replace the default credential chain when set.
	Credentials aws.CredentialsProvider
	// FixTTL aligns the TTLs of a weighted set that differ (to the longest);
	// without it such a set is refused before any change.
	FixTTL bool
}

// ParseURL reads route53://ZONEID/app.example.com[,api.example.com]?ttl=60&type=A
// [&CLUSTER=VALUE[,VALUE]]…[&CLUSTER=alias:HOSTED_ZONE_ID/DNS_NAME]
// [&setid.CLUSTER=ID][&endpoint=URL][&region=R].
func ParseURL(raw string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("%w: router %q: %s", traffic.ErrInvalid, raw, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("%v", err)
	}
	if u.Scheme != "route53" || u.Host == "" {
		return bad("want route53://ZONEID/record.name?ttl=60")
	}
	c := Config{Zone: strings.TrimPrefix(u.Host, "hostedzone/"), Type: "A", TTL: 60, Values: map[string][]string{}, Aliases: map[string]types.AliasTarget{}, SetIDs: map[string]string{}}
	for _, n := range strings.Split(strings.Trim(u.Path, "/"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.Names = append(c.Names, fqdn(n))
		}
	}
	if len(c.Names) == 0 {
		return bad("no record name: route53://%s/app.example.com", c.Zone)
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch {
		case k == "ttl":
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil || t < 0 || t > 172800 {
				return bad("ttl %q: want seconds, 0–172800", v)
			}
			c.TTL = t
		case k == "type":
			c.Type = strings.ToUpper(v)
		case k == "endpoint":
			c.Endpoint = v
		case k == "region":
			c.Region = v
		case strings.HasPrefix(k, "setid."):
			c.SetIDs[strings.TrimPrefix(k, "setid.")] = v
		case strings.HasPrefix(v, "alias:"):
			zone, name, _ := strings.Cut(strings.TrimPrefix(v, "alias:"), "/")
			if zone == "" || name == "" {
				return bad("%s=%s: the alias target is missing: want %s=alias:HOSTED_ZONE_ID/DNS_NAME (the load balancer's canonical hosted zone and DNS name)", k, v, k)
			}
			c.Aliases[k] = types.AliasTarget{HostedZoneId: aws.String(zone), DNSName: aws.String(fqdn(name))}
		default:
			c.Values[k] = strings.Split(v, ",")
		}
	}
	switch c.Type {
	case "A", "AAAA", "CNAME", "TXT":
	default:
		return bad("type %q: want A, AAAA, CNAME or TXT", c.Type)
	}
	return c, nil
}

func fqdn(n string) string {
	n = strings.ToLower(n)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// API is the part of the Route53 client a Router calls; *route53.Client
// (aws-sdk-go-v2) satisfies it, and a test may pass its own.
type API interface {
	ListResourceRecordSets(ctx context.Context, in *r53.ListResourceRecordSetsInput, optFns ...func(*r53.Options)) (*r53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *r53.ChangeResourceRecordSetsInput, optFns ...func(*r53.Options)) (*r53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *r53.GetChangeInput, optFns ...func(*r53.Options)) (*r53.GetChangeOutput, error)
}

var _ API = (*r53.Client)(nil)

// Router drives the weighted records of Config.
type Router struct {
	cfg    Config
	client API
	// Notice is told what the router does beyond setting weights (converting
	// a simple record); may be nil.
	Notice func(string)

	mu         sync.Mutex
	lastChange string
	longestTTL int64 // the longest record TTL read so far (TTL)
}

// New connects to Route53 (or to cfg.Endpoint).
func New(ctx context.Context, cfg Config) (*Router, error) {
	ac, err := awsconf.LoadWith(ctx, cfg.Region, cfg.Endpoint, cfg.Credentials)
	if err != nil {
		return nil, err
	}
	client := r53.NewFromConfig(ac, func(o *r53.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return NewWithClient(cfg, client), nil
}

// NewWithClient drives cfg's records through client.
func NewWithClient(cfg Config, client API) *Router {
	return &Router{cfg: cfg, client: client}
}

// TTL implements traffic.Router: clients may follow the old weights this
// long — the longest TTL the records have (an ALIAS record has none of its
// own: Route53 answers it with its target's, 60 s for an ELB), else the
// router's (?ttl=, for records tandem makes).
//
// A read that fails (Route53's 5 requests/s are shared with ExternalDNS)
// falls back to the longest TTL read before, never below: a wait cut to the
// URL's default would judge the gates before the clients moved.
func (r *Router) TTL(ctx context.Context) time.Duration {
	longest := int64(0)
	for _, name := range r.cfg.Names {
		sets, err := r.records(ctx, name)
		if err != nil {
			longest = 0
			break
		}
		for _, rs := range sets {
			ttl := aws.ToInt64(rs.TTL)
			if rs.AliasTarget != nil {
				ttl = aliasTTL
			}
			longest = max(longest, ttl)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.longestTTL = max(r.longestTTL, longest)
	if r.longestTTL == 0 {
		return time.Duration(r.cfg.TTL) * time.Second
	}
	return time.Duration(max(r.longestTTL, longest)) * time.Second
}

// aliasTTL is the TTL Route53 answers an ALIAS record to an ELB load
// balancer with: "the TTL of the alias target, 60 seconds"
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html).
const aliasTTL = 60

// Pace implements traffic.Paced. Route53 allows "five requests per second
// per AWS account" (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html#limits-api-requests),
// shared with ExternalDNS and everything else of the account: verification
// starts after 1 s and doubles up to 10 s. A change is INSYNC "generally
// within 60 seconds" (API_GetChange): a step may take 2 minutes to show.
func (r *Router) Pace() (first, max, timeout time.Duration) {
	return time.Second, 10 * time.Second, 2 * time.Minute
}

// RefusesAllZero implements traffic.AllZeroRefuser: with every weight 0
// Route53 answers with all records equally — the opposite of what is meant.
func (r *Router) RefusesAllZero() bool { return true }

func (r *Router) setID(cluster string) string {
	if id := r.cfg.SetIDs[cluster]; id != "" {
		return id
	}
	return cluster
}

func (r *Router) cluster(setID string) string {
	for c, id := range r.cfg.SetIDs {
		if id == setID {
			return c
		}
	}
	return setID
}

// records returns the record sets of one name and the router's type.
func (r *Router) records(ctx context.Context, name string) ([]types.ResourceRecordSet, error) {
	var out []types.ResourceRecordSet
	in := &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String(r.cfg.Zone), StartRecordName: aws.String(name), StartRecordType: types.RRType(r.cfg.Type)}
	for {
		page, err := r.client.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("route53: list %s: %w", name, err)
		}
		for _, rs := range page.ResourceRecordSets {
			if fqdn(aws.ToString(rs.Name)) != name || string(rs.Type) != r.cfg.Type {
				return out, nil // sorted: past our name and type
			}
			out = append(out, rs)
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

func values(rs types.ResourceRecordSet) []string {
	var v []string
	for _, rr := range rs.ResourceRecords {
		v = append(v, aws.ToString(rr.Value))
	}
	return v
}

// simpleOwner says which cluster a simple (non-weighted) record points to.
func (r *Router) simpleOwner(rs types.ResourceRecordSet) (string, bool) {
	got := strings.Join(values(rs), ",")
	for c, v := range r.cfg.Values {
		if strings.Join(v, ",") == got {
			return c, true
		}
	}
	return "", false
}

// Observe implements traffic.Router: the weights as Route53 has them.
func (r *Router) Observe(ctx context.Context) (traffic.Weights, error) {
	w := traffic.Weights{}
	for _, name := range r.cfg.Names {
		sets, err := r.records(ctx, name)
		if err != nil {
			return nil, err
		}
		w[name] = map[string]int{}
		for _, rs := range sets {
			if rs.SetIdentifier == nil {
				c, ok := r.simpleOwner(rs)
				if !ok {
					return nil, fmt.Errorf("route53: %s %s is a simple record (%s) that names no cluster's value: pass CLUSTER=VALUE for each cluster so tandem can make it weighted", name, r.cfg.Type, strings.Join(values(rs), ","))
				}
				// All traffic goes to that value: weights as if weighted.
				for other := range r.cfg.Values {
					w[name][other] = 0
				}
				w[name][c] = traffic.MaxWeight
				continue
			}
			w[name][r.cluster(aws.ToString(rs.SetIdentifier))] = FromRoute53(aws.ToInt64(rs.Weight))
		}
		// A cluster the router was given a record for, which the set does
		// not have yet, gets no traffic: weight 0 until a step makes it.
		for c := range r.cfg.Values {
			if _, ok := w[name][c]; !ok {
				w[name][c] = 0
			}
		}
		for c := range r.cfg.Aliases {
			if _, ok := w[name][c]; !ok {
				w[name][c] = 0
			}
		}
		if len(w[name]) == 0 {
			return nil, fmt.Errorf("route53: zone %s has no %s record %s and no cluster values were given (CLUSTER=VALUE)", r.cfg.Zone, r.cfg.Type, name)
		}
	}
	return w, nil
}

// SetWeights implements traffic.Router: one change batch for every route,
// applied by Route53 all or nothing.
func (r *Router) SetWeights(ctx context.Context, w traffic.Weights) error {
	if err := w.Validate(); err != nil {
		return err
	}
	var changes []types.Change
	var notices []string
	for _, name := range w.Routes() {
		if !r.known(name) {
			return fmt.Errorf("%w: route53: route %q is not one of %s", traffic.ErrInvalid, name, strings.Join(r.cfg.Names, ", "))
		}
		sets, err := r.records(ctx, name)
		if err != nil {
			return err
		}
		weighted, simple := r.split(sets)
		if simple != nil {
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: simple})
			notices = append(notices, fmt.Sprintf("route53: %s %s is a simple record; converting it to weighted records (DELETE + CREATE in one change batch)", name, r.cfg.Type))
		}
		// A new record of the set takes the TTL the others have: Route53
		// answers a weighted set with one TTL, and tandem's own is only for
		// a set it makes from nothing.
		setTTL, mixed := setTTLOf(weighted)
		if setTTL == 0 {
			setTTL = r.cfg.TTL
		}
		if simple != nil && simple.TTL != nil {
			setTTL = aws.ToInt64(simple.TTL)
		}
		if mixed != "" && !r.cfg.FixTTL {
			return fmt.Errorf("%w: route53: the weighted records of %s have different TTLs (%s), which Route53 refuses to change: re-run with --fix-ttl to give them all the longest, %ds", traffic.ErrInvalid, name, mixed, setTTL)
		}
		clusters := w.Clusters(name)
		if mixed != "" {
			notices = append(notices, fmt.Sprintf("route53: %s: aligning the TTLs of its weighted records (%s) to %ds (--fix-ttl)", name, mixed, setTTL))
			for c := range weighted {
				if !slices.Contains(clusters, c) {
					clusters = append(clusters, c) // its weight stays, its TTL changes
				}
			}
		}
		for _, c := range clusters {
			var rec *types.ResourceRecordSet
			if rs, exists := weighted[c]; exists {
				// Read-modify-write of the whole record set: only the weight
				// changes; an ALIAS target, its EvaluateTargetHealth, a
				// HealthCheckId, the TTL and every other field stay.
				cp := rs
				if v, ok := w[name][c]; ok {
					cp.Weight = aws.Int64(ToRoute53(v))
				}
				if cp.TTL != nil && mixed != "" {
					cp.TTL = aws.Int64(setTTL)
				}
				rec = &cp
			} else if at, ok := r.cfg.Aliases[c]; ok {
				// A new ALIAS record: no TTL of its own; it evaluates the
				// target's health as the set's other ALIAS records do.
				for _, other := range weighted {
					if other.AliasTarget != nil {
						at.EvaluateTargetHealth = other.AliasTarget.EvaluateTargetHealth
					}
				}
				rec = &types.ResourceRecordSet{Name: aws.String(name), Type: types.RRType(r.cfg.Type), SetIdentifier: aws.String(r.setID(c)),
					Weight: aws.Int64(ToRoute53(w[name][c])), AliasTarget: &at}
			} else {
				vals := r.cfg.Values[c]
				if len(vals) == 0 && isAliasSet(weighted, simple) {
					return fmt.Errorf("%w: route53: %s is a weighted ALIAS set with no record for cluster %q, and its alias target is missing: pass %s=alias:HOSTED_ZONE_ID/DNS_NAME (the load balancer's canonical hosted zone and DNS name)", traffic.ErrInvalid, name, c, c)
				}
				if len(vals) == 0 {
					return fmt.Errorf("%w: route53: %s has no record for cluster %q and no value for it: pass %s=VALUE", traffic.ErrInvalid, name, c, c)
				}
				rec = &types.ResourceRecordSet{
					Name: aws.String(name), Type: types.RRType(r.cfg.Type), SetIdentifier: aws.String(r.setID(c)),
					Weight: aws.Int64(ToRoute53(w[name][c])), TTL: aws.Int64(setTTL),
				}
				for _, v := range vals {
					rec.ResourceRecords = append(rec.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
				}
			}
			action := types.ChangeActionUpsert
			if simple != nil {
				action = types.ChangeActionCreate
			}
			changes = append(changes, types.Change{Action: action, ResourceRecordSet: rec})
		}
	}
	for _, n := range notices {
		if r.Notice != nil {
			r.Notice(n)
		}
	}
	out, err := r.client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(r.cfg.Zone),
		ChangeBatch:  &types.ChangeBatch{Comment: aws.String("tandem shift"), Changes: changes},
	})
	if err != nil {
		return fmt.Errorf("route53: change %s: %w", strings.Join(w.Routes(), ","), err)
	}
	r.mu.Lock()
	r.lastChange = aws.ToString(out.ChangeInfo.Id)
	r.mu.Unlock()
	return nil
}

// Verify implements traffic.Router: the last change is INSYNC on every
// Route53 server and the records read back as w.
func (r *Router) Verify(ctx context.Context, w traffic.Weights) (bool, error) {
	r.mu.Lock()
	id := r.lastChange
	r.mu.Unlock()
	if id != "" {
		out, err := r.client.GetChange(ctx, &r53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			return false, fmt.Errorf("route53: change %s: %w", id, err)
		}
		if out.ChangeInfo.Status != types.ChangeStatusInsync {
			return false, nil
		}
	}
	got, err := r.Observe(ctx)
	if err != nil {
		return false, err
	}
	return w.Covers(got), nil
}
