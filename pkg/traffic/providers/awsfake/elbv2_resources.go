package awsfake

// ELBv2's resources beyond rules — load balancers, target groups, listeners
// and tags — so that a test (or the lab) builds what it shifts through the
// ordinary API calls, as on AWS: CreateLoadBalancer, CreateTargetGroup,
// CreateListener, CreateRule, AddTags and their Describe calls. Each
// documented rule the fake enforces cites its API reference page.

import (
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Account is the fake's own account id, in every ARN it makes.
const Account = "123456789012"

type loadBalancer struct {
	Arn, Name, DNSName, Type, Scheme, Zone string
	Created                                time.Time
}

type listener struct {
	Arn, LoadBalancer, Protocol string
	Port                        int
}

type targetGroup struct {
	Arn, Name, Protocol, VpcID, TargetType string
	Port                                   int
}

// elbName is what CreateLoadBalancer and CreateTargetGroup accept as a name:
// "a maximum of 32 characters, must contain only alphanumeric characters or
// hyphens, and must not begin or end with a hyphen"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html).
var elbName = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

// canonicalZones are the hosted zone ids of Application Load Balancers per
// region, what an ALIAS record to one names
// (https://docs.aws.amazon.com/general/latest/gr/elb.html).
var canonicalZones = map[string]string{"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-2": "Z1H1FL5HABSF5",
	"eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5"}

// regionOf reads the region a request was signed for (SigV4's credential
// scope); us-east-1 when it names none.
func regionOf(r *http.Request) string {
	_, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if parts := strings.Split(scope, "/"); ok && len(parts) >= 3 && parts[2] != "" {
		return parts[2]
	}
	return "us-east-1"
}

func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("%016x", 0x5eed0000_0000_0000+s.nextID)
}

func members(f url.Values, prefix string) []string {
	var out []string
	for i := 1; f.Get(fmt.Sprintf("%s.member.%d", prefix, i)) != ""; i++ {
		out = append(out, f.Get(fmt.Sprintf("%s.member.%d", prefix, i)))
	}
	return out
}

func tagsOf(f url.Values) map[string]string {
	tags := map[string]string{}
	for i := 1; f.Get(fmt.Sprintf("Tags.member.%d.Key", i)) != ""; i++ {
		tags[f.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = f.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	return tags
}

func (s *Server) tag(arn string, tags map[string]string) {
	if r, ok := s.rules[arn]; ok {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		maps.Copy(r.Tags, tags)
		return
	}
	if s.tags[arn] == nil {
		s.tags[arn] = map[string]string{}
	}
	maps.Copy(s.tags[arn], tags)
}

func (s *Server) tagsOfARN(arn string) (map[string]string, bool) {
	if r, ok := s.rules[arn]; ok {
		return r.Tags, true
	}
	_, lb := s.lbs[arn]
	_, tg := s.tgs[arn]
	_, l := s.listeners[arn]
	return s.tags[arn], lb || tg || l
}

// The XML shapes of the resources in Create*/Describe* answers.
type (
	lbXML struct {
		Arn     string `xml:"LoadBalancerArn"`
		DNSName string `xml:"DNSName"`
		Zone    string `xml:"CanonicalHostedZoneId"`
		Created string `xml:"CreatedTime"`
		Name    string `xml:"LoadBalancerName"`
		Scheme  string `xml:"Scheme"`
		State   string `xml:"State>Code"`
		Type    string `xml:"Type"`
	}
	tgXML struct {
		Arn        string   `xml:"TargetGroupArn"`
		Name       string   `xml:"TargetGroupName"`
		Protocol   string   `xml:"Protocol,omitempty"`
		Port       int      `xml:"Port,omitempty"`
		VpcID      string   `xml:"VpcId,omitempty"`
		TargetType string   `xml:"TargetType"`
		LBs        []string `xml:"LoadBalancerArns>member"`
	}
	listenerXML struct {
		Arn      string      `xml:"ListenerArn"`
		LB       string      `xml:"LoadBalancerArn"`
		Port     int         `xml:"Port"`
		Protocol string      `xml:"Protocol"`
		Defaults []actionXML `xml:"DefaultActions>member"`
	}
)

func (lb *loadBalancer) xml() lbXML {
	return lbXML{Arn: lb.Arn, DNSName: lb.DNSName, Zone: lb.Zone, Created: lb.Created.UTC().Format(time.RFC3339), Name: lb.Name,
		Scheme: lb.Scheme, State: "active", Type: lb.Type}
}

func (s *Server) tgXML(tg *targetGroup) tgXML {
	x := tgXML{Arn: tg.Arn, Name: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcID: tg.VpcID, TargetType: tg.TargetType}
	seen := map[string]bool{}
	for _, r := range s.rules {
		for _, a := range r.Actions {
			if a.ForwardConfig == nil {
				continue
			}
			for _, t := range a.ForwardConfig.TargetGroups {
				if lb := loadBalancerOf(r.Arn); aws.ToString(t.TargetGroupArn) == tg.Arn && !seen[lb] {
					seen[lb] = true
					x.LBs = append(x.LBs, lb)
				}
			}
		}
	}
	slices.Sort(x.LBs)
	return x
}

func (s *Server) listenerXML(l *listener) listenerXML {
	x := listenerXML{Arn: l.Arn, LB: l.LoadBalancer, Port: l.Port, Protocol: l.Protocol}
	for _, r := range s.rules {
		if r.IsDefault && listenerOf(r.Arn) == l.Arn {
			x.Defaults = r.xml().Actions
		}
	}
	return x
}

// loadBalancerOf is the ARN of the load balancer a listener rule belongs to.
func loadBalancerOf(ruleARN string) string {
	arn := strings.Replace(ruleARN, ":listener-rule/", ":loadbalancer/", 1)
	for range 2 {
		arn = arn[:strings.LastIndex(arn, "/")]
	}
	return arn
}

func respond(w http.ResponseWriter, action string, result any) {
	type envelope struct {
		XMLName xml.Name
		Xmlns   string `xml:"xmlns,attr"`
		Result  any
		ID      string `xml:"ResponseMetadata>RequestId"`
	}
	writeXML(w, http.StatusOK, envelope{XMLName: xml.Name{Local: action + "Response"}, Xmlns: elbNS, Result: result, ID: "fake"})
}

// resources answers the resource calls; it reports false for an action it
// does not serve.
func (s *Server) resources(w http.ResponseWriter, r *http.Request, f url.Values) bool {
	region := regionOf(r)
	arn := func(kind string) string {
		return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", region, Account, kind)
	}
	type lbsResult struct {
		XMLName xml.Name
		LBs     []lbXML `xml:"LoadBalancers>member"`
	}
	type tgsResult struct {
		XMLName xml.Name
		TGs     []tgXML `xml:"TargetGroups>member"`
	}
	type listenersResult struct {
		XMLName   xml.Name
		Listeners []listenerXML `xml:"Listeners>member"`
	}
	type rulesResult struct {
		XMLName xml.Name
		Rules   []ruleXML `xml:"Rules>member"`
	}
	action := f.Get("Action")
	result := xml.Name{Local: action + "Result"}
	switch action {
	case "CreateLoadBalancer":
		name, typ := f.Get("Name"), f.Get("Type")
		if typ == "" {
			typ = "application"
		}
		if !elbName.MatchString(name) || strings.HasPrefix(name, "internal-") {
			elbFail(w, "ValidationError", "LoadBalancer name '"+name+"' must have at most 32 alphanumeric characters or hyphens, not begin or end with a hyphen, and not begin with 'internal-'")
			return true
		}
		for _, lb := range s.lbs {
			if lb.Name == name {
				elbFail(w, "DuplicateLoadBalancerName", "A load balancer with the same name '"+name+"' exists")
				return true
			}
		}
		// "[Application Load Balancers] You must specify subnets from at
		// least two Availability Zones." (API_CreateLoadBalancer.html)
		if typ == "application" && len(members(f, "Subnets"))+len(members(f, "SubnetMappings")) < 2 && f.Get("SubnetMappings.member.2.SubnetId") == "" {
			elbFail(w, "ValidationError", "At least two subnets in two different Availability Zones must be specified")
			return true
		}
		scheme := f.Get("Scheme")
		if scheme == "" {
			scheme = "internet-facing"
		}
		id := s.newID()
		zone := canonicalZones[region]
		if zone == "" {
			zone = canonicalZones["us-east-1"]
		}
		lb := &loadBalancer{Arn: arn("loadbalancer/" + typ[:3] + "/" + name + "/" + id), Name: name, Type: typ, Scheme: scheme, Zone: zone,
			DNSName: fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, s.nextID, region), Created: time.Now()}
		if typ == "network" {
			lb.Arn = arn("loadbalancer/net/" + name + "/" + id)
		}
		s.lbs[lb.Arn] = lb
		s.tag(lb.Arn, tagsOf(f))
		respond(w, action, lbsResult{XMLName: result, LBs: []lbXML{lb.xml()}})
	case "DescribeLoadBalancers":
		arns, names := members(f, "LoadBalancerArns"), members(f, "Names")
		var out []lbXML
		for _, k := range slices.Sorted(maps.Keys(s.lbs)) {
			lb := s.lbs[k]
			if (len(arns) == 0 && len(names) == 0) || slices.Contains(arns, lb.Arn) || slices.Contains(names, lb.Name) {
				out = append(out, lb.xml())
			}
		}
		if len(out) < len(arns)+len(names) {
			elbFail(w, "LoadBalancerNotFound", "One or more load balancers not found")
			return true
		}
		respond(w, action, lbsResult{XMLName: result, LBs: out})
	case "CreateTargetGroup":
		name, typ := f.Get("Name"), f.Get("TargetType")
		if typ == "" {
			typ = "instance"
		}
		if !elbName.MatchString(name) {
			elbFail(w, "ValidationError", "Target group name '"+name+"' must have at most 32 alphanumeric characters or hyphens, and not begin or end with a hyphen")
			return true
		}
		port, _ := strconv.Atoi(f.Get("Port"))
		// "Protocol, Port, VpcId: required when the target type is instance,
		// ip, or alb" (API_CreateTargetGroup.html).
		if typ != "lambda" && (f.Get("Protocol") == "" || port < 1 || port > 65535 || f.Get("VpcId") == "") {
			elbFail(w, "ValidationError", "A protocol, a port (1-65535) and a VPC ID must be specified for target type '"+typ+"'")
			return true
		}
		for _, tg := range s.tgs {
			if tg.Name == name {
				elbFail(w, "DuplicateTargetGroupName", "A target group with the same name '"+name+"' exists")
				return true
			}
		}
		tg := &targetGroup{Arn: arn("targetgroup/" + name + "/" + s.newID()), Name: name, Protocol: f.Get("Protocol"), Port: port, VpcID: f.Get("VpcId"), TargetType: typ}
		s.tgs[tg.Arn] = tg
		s.tag(tg.Arn, tagsOf(f))
		respond(w, action, tgsResult{XMLName: result, TGs: []tgXML{s.tgXML(tg)}})
	case "DescribeTargetGroups":
		arns, names, lb := members(f, "TargetGroupArns"), members(f, "Names"), f.Get("LoadBalancerArn")
		var out []tgXML
		for _, k := range slices.Sorted(maps.Keys(s.tgs)) {
			x := s.tgXML(s.tgs[k])
			if (len(arns) == 0 && len(names) == 0 && lb == "") || slices.Contains(arns, x.Arn) || slices.Contains(names, x.Name) || (lb != "" && slices.Contains(x.LBs, lb)) {
				out = append(out, x)
			}
		}
		if len(arns)+len(names) > 0 && len(out) < len(arns)+len(names) {
			elbFail(w, "TargetGroupNotFound", "One or more target groups not found")
			return true
		}
		respond(w, action, tgsResult{XMLName: result, TGs: out})
	case "CreateListener":
		lb, ok := s.lbs[f.Get("LoadBalancerArn")]
		if !ok {
			elbFail(w, "LoadBalancerNotFound", "One or more load balancers not found")
			return true
		}
		port, _ := strconv.Atoi(f.Get("Port"))
		if port < 1 || port > 65535 {
			elbFail(w, "ValidationError", "Port must be between 1 and 65535")
			return true
		}
		for _, l := range s.listeners {
			if l.LoadBalancer == lb.Arn && l.Port == port {
				elbFail(w, "DuplicateListener", fmt.Sprintf("A listener already exists on this port (%d) for this load balancer", port))
				return true
			}
		}
		actions, code, msg := s.parseActions(f, "DefaultActions", nil)
		if code != "" {
			elbFail(w, code, msg)
			return true
		}
		id := s.newID()
		l := &listener{Arn: strings.Replace(lb.Arn, ":loadbalancer/", ":listener/", 1) + "/" + id, LoadBalancer: lb.Arn, Port: port, Protocol: f.Get("Protocol")}
		s.listeners[l.Arn] = l
		def := &Rule{Arn: strings.Replace(l.Arn, ":listener/", ":listener-rule/", 1) + "/" + s.newID(), Priority: "default", IsDefault: true, Actions: actions}
		s.rules[def.Arn] = def
		s.tag(l.Arn, tagsOf(f))
		respond(w, action, listenersResult{XMLName: result, Listeners: []listenerXML{s.listenerXML(l)}})
	case "DescribeListeners":
		arns, lb := members(f, "ListenerArns"), f.Get("LoadBalancerArn")
		if len(arns) == 0 && lb == "" {
			elbFail(w, "ValidationError", "You must specify either listener ARNs or a load balancer ARN")
			return true
		}
		if _, ok := s.lbs[lb]; lb != "" && !ok {
			elbFail(w, "LoadBalancerNotFound", "One or more load balancers not found")
			return true
		}
		var out []listenerXML
		for _, k := range slices.Sorted(maps.Keys(s.listeners)) {
			if l := s.listeners[k]; slices.Contains(arns, l.Arn) || l.LoadBalancer == lb {
				out = append(out, s.listenerXML(l))
			}
		}
		if len(out) < len(arns) {
			elbFail(w, "ListenerNotFound", "One or more listeners not found")
			return true
		}
		respond(w, action, listenersResult{XMLName: result, Listeners: out})
	case "CreateRule":
		l, ok := s.listeners[f.Get("ListenerArn")]
		if !ok {
			elbFail(w, "ListenerNotFound", "One or more listeners not found")
			return true
		}
		// "Priority: The rule priority. A listener can't have multiple rules
		// with the same priority. Valid Range: Minimum value of 1. Maximum
		// value of 50000." (API_CreateRule.html)
		prio, err := strconv.Atoi(f.Get("Priority"))
		if err != nil || prio < 1 || prio > 50000 {
			elbFail(w, "ValidationError", "Priority must be between 1 and 50000")
			return true
		}
		for _, r := range s.rules {
			if listenerOf(r.Arn) == l.Arn && r.Priority == strconv.Itoa(prio) {
				elbFail(w, "PriorityInUse", fmt.Sprintf("Priority '%d' is currently in use", prio))
				return true
			}
		}
		conds := conditionsOf(f)
		if len(conds) == 0 {
			elbFail(w, "ValidationError", "A rule needs at least one condition")
			return true
		}
		actions, code, msg := s.parseActions(f, "Actions", nil)
		if code != "" {
			elbFail(w, code, msg)
			return true
		}
		rule := &Rule{Arn: strings.Replace(l.Arn, ":listener/", ":listener-rule/", 1) + "/" + s.newID(), Priority: strconv.Itoa(prio), Conditions: conds, Actions: actions}
		s.rules[rule.Arn] = rule
		s.tag(rule.Arn, tagsOf(f))
		respond(w, action, rulesResult{XMLName: result, Rules: []ruleXML{rule.xml()}})
	case "AddTags":
		arns := members(f, "ResourceArns")
		for _, a := range arns {
			if _, ok := s.tagsOfARN(a); !ok {
				elbFail(w, "LoadBalancerNotFound", "resource not found: "+a)
				return true
			}
		}
		// "Each resource can have a maximum of 50 tags." (API_AddTags.html)
		for _, a := range arns {
			old, _ := s.tagsOfARN(a)
			merged := maps.Clone(old)
			if merged == nil {
				merged = map[string]string{}
			}
			maps.Copy(merged, tagsOf(f))
			if len(merged) > 50 {
				elbFail(w, "TooManyTags", "You've reached the limit on the number of tags for this resource")
				return true
			}
		}
		for _, a := range arns {
			s.tag(a, tagsOf(f))
		}
		respond(w, action, struct{ XMLName xml.Name }{result})
	default:
		return false
	}
	return true
}

// conditionsOf reads a rule's conditions: the Field/Values form and the
// host-header and path-pattern configs.
func conditionsOf(f url.Values) []types.RuleCondition {
	var out []types.RuleCondition
	for i := 1; ; i++ {
		p := fmt.Sprintf("Conditions.member.%d.", i)
		field := f.Get(p + "Field")
		if field == "" {
			return out
		}
		c := types.RuleCondition{Field: aws.String(field), Values: members(f, p+"Values")}
		if v := members(f, p+"HostHeaderConfig.Values"); len(v) > 0 {
			c.HostHeaderConfig = &types.HostHeaderConditionConfig{Values: v}
		}
		if v := members(f, p+"PathPatternConfig.Values"); len(v) > 0 {
			c.PathPatternConfig = &types.PathPatternConditionConfig{Values: v}
		}
		out = append(out, c)
	}
}
