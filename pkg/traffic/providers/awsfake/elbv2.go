package awsfake

// ELBv2 (query protocol, API version 2015-12-01): DescribeRules, ModifyRule,
// ModifyListener, DescribeTags — with the rules the API reference documents
// for what a router sends, each cited where it is enforced.

import (
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Rule is an ELBv2 listener rule (or a listener's default rule) with its
// whole action list, as ELBv2 keeps it.
type Rule struct {
	Arn        string
	Priority   string
	IsDefault  bool
	Conditions []types.RuleCondition
	Actions    []types.Action
	Tags       map[string]string
}

// AddRule creates a listener rule whose one action forwards to target groups with weights.
func (s *Server) AddRule(arn string, weights map[string]int64) {
	var tgs []types.TargetGroupTuple
	for _, tg := range slices.Sorted(maps.Keys(weights)) {
		tgs = append(tgs, types.TargetGroupTuple{TargetGroupArn: aws.String(tg), Weight: aws.Int32(int32(weights[tg]))})
	}
	s.AddRuleWithActions(Rule{Arn: arn, Actions: []types.Action{{Type: types.ActionTypeEnumForward, Order: aws.Int32(1),
		ForwardConfig: &types.ForwardActionConfig{TargetGroups: tgs}}}})
}

// AddRuleWithActions creates a rule as given: several actions, a default
// rule (IsDefault: its priority is "default"), tags (the AWS Load Balancer
// Controller's). Its target groups come to exist.
func (s *Server) AddRuleWithActions(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.IsDefault {
		r.Priority = "default"
	} else if r.Priority == "" {
		r.Priority = "10"
	}
	for _, a := range r.Actions {
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				if arn := aws.ToString(tg.TargetGroupArn); s.tgs[arn] == nil {
					name := strings.Split(arn[strings.Index(arn, ":targetgroup/")+1:], "/")[1]
					s.tgs[arn] = &targetGroup{Arn: arn, Name: name, TargetType: "ip", Protocol: "HTTP", Port: 80, VpcID: "vpc-0fake"}
				}
			}
		}
	}
	rr := r
	s.rules[r.Arn] = &rr
}

// RuleOf returns a copy of the rule as the fake holds it (secrets included).
func (s *Server) RuleOf(arn string) Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.rules[arn]
}

// SetRuleWeight changes one weight directly (someone else's change).
func (s *Server) SetRuleWeight(arn, tg string, w int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.rules[arn].Actions {
		if a.ForwardConfig != nil {
			for i, t := range a.ForwardConfig.TargetGroups {
				if aws.ToString(t.TargetGroupArn) == tg {
					a.ForwardConfig.TargetGroups[i].Weight = aws.Int32(int32(w))
				}
			}
		}
	}
}

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

func elbFail(w http.ResponseWriter, code, msg string) {
	writeXML(w, http.StatusBadRequest, awsError{Xmlns: elbNS, Type: "Sender", Code: code, Message: msg, ID: "fake"})
}

// listenerOf is the listener ARN a rule ARN belongs to.
func listenerOf(ruleARN string) string {
	arn := strings.Replace(ruleARN, ":listener-rule/", ":listener/", 1)
	return arn[:strings.LastIndex(arn, "/")]
}

func (s *Server) elbv2(w http.ResponseWriter, req *http.Request, f url.Values) {
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
		if l := f.Get("ListenerArn"); l != "" {
			if _, ok := s.listeners[l]; !ok {
				elbFail(w, "ListenerNotFound", "One or more listeners not found")
				return
			}
			for _, k := range slices.Sorted(maps.Keys(s.rules)) {
				if listenerOf(k) == l {
					rules = append(rules, s.rules[k].xml())
				}
			}
			respond(w, "DescribeRules", struct {
				XMLName xml.Name  `xml:"DescribeRulesResult"`
				Rules   []ruleXML `xml:"Rules>member"`
			}{Rules: rules})
			return
		}
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
		// "To modify the actions for the default rule, use ModifyListener."
		// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyRule.html
		if r.IsDefault {
			elbFail(w, "OperationNotPermitted", "Default rule '"+r.Arn+"' cannot be modified: use ModifyListener")
			return
		}
		actions, code, msg := s.parseActions(f, "Actions", r.Actions)
		if code != "" {
			elbFail(w, code, msg)
			return
		}
		// ModifyRule replaces the rule's whole action list with the one given.
		r.Actions = actions
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name  `xml:"ModifyRuleResponse"`
			Xmlns   string    `xml:"xmlns,attr"`
			Rules   []ruleXML `xml:"ModifyRuleResult>Rules>member"`
			ID      string    `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: elbNS, Rules: []ruleXML{r.xml()}, ID: "fake"})
	case "ModifyListener":
		// A listener's default actions are its default rule's
		// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyListener.html).
		listener := f.Get("ListenerArn")
		var def *Rule
		for _, r := range s.rules {
			if r.IsDefault && listenerOf(r.Arn) == listener {
				def = r
			}
		}
		if def == nil {
			elbFail(w, "ListenerNotFound", "One or more listeners not found")
			return
		}
		if f.Get("DefaultActions.member.1.Type") != "" {
			actions, code, msg := s.parseActions(f, "DefaultActions", def.Actions)
			if code != "" {
				elbFail(w, code, msg)
				return
			}
			def.Actions = actions
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name `xml:"ModifyListenerResponse"`
			Xmlns   string   `xml:"xmlns,attr"`
			Arn     string   `xml:"ModifyListenerResult>Listeners>member>ListenerArn"`
			ID      string   `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: elbNS, Arn: listener, ID: "fake"})
	case "DescribeTags":
		type tagXML struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		}
		type descXML struct {
			Arn  string   `xml:"ResourceArn"`
			Tags []tagXML `xml:"Tags>member"`
		}
		var out []descXML
		for i := 1; ; i++ {
			arn := f.Get(fmt.Sprintf("ResourceArns.member.%d", i))
			if arn == "" {
				break
			}
			d := descXML{Arn: arn}
			tags, _ := s.tagsOfARN(arn)
			for _, k := range slices.Sorted(maps.Keys(tags)) {
				d.Tags = append(d.Tags, tagXML{k, tags[k]})
			}
			out = append(out, d)
		}
		// "ResourceArns: Array Members: Maximum number of 20 items."
		// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html
		if len(out) == 0 || len(out) > 20 {
			elbFail(w, "ValidationError", "ResourceArns: want 1 to 20 ARNs")
			return
		}
		writeXML(w, http.StatusOK, struct {
			XMLName xml.Name  `xml:"DescribeTagsResponse"`
			Xmlns   string    `xml:"xmlns,attr"`
			Descs   []descXML `xml:"DescribeTagsResult>TagDescriptions>member"`
			ID      string    `xml:"ResponseMetadata>RequestId"`
		}{Xmlns: elbNS, Descs: out, ID: "fake"})
	default:
		if !s.resources(w, req, f) {
			elbFail(w, "InvalidAction", "awsfake does not serve "+action)
		}
	}
}

// parseActions reads the action list under prefix ("Actions" or
// "DefaultActions") and checks it as ELBv2 does; old is the list it replaces
// (an authenticate-oidc action may keep its client secret from there).
// It returns an error code and message instead when ELBv2 would refuse.
func (s *Server) parseActions(f url.Values, prefix string, old []types.Action) ([]types.Action, string, string) {
	var out []types.Action
	for i := 1; ; i++ {
		p := fmt.Sprintf("%s.member.%d.", prefix, i)
		typ := f.Get(p + "Type")
		if typ == "" {
			break
		}
		a := types.Action{Type: types.ActionTypeEnum(typ)}
		if o := f.Get(p + "Order"); o != "" {
			n, err := strconv.Atoi(o)
			// "Order: Valid Range: Minimum value of 1. Maximum value of 50000."
			// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html
			if err != nil || n < 1 || n > 50000 {
				return nil, "ValidationError", "Order must be between 1 and 50000"
			}
			a.Order = aws.Int32(int32(n))
		}
		switch a.Type {
		case types.ActionTypeEnumForward:
			fc := &types.ForwardActionConfig{}
			if tg := f.Get(p + "TargetGroupArn"); tg != "" {
				if s.tgs[tg] == nil {
					return nil, "TargetGroupNotFound", "One or more target groups not found: " + tg
				}
				fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(tg), Weight: aws.Int32(1)})
			}
			for j := 1; ; j++ {
				q := fmt.Sprintf("%sForwardConfig.TargetGroups.member.%d.", p, j)
				arn := f.Get(q + "TargetGroupArn")
				if arn == "" {
					break
				}
				if s.tgs[arn] == nil {
					return nil, "TargetGroupNotFound", "One or more target groups not found: " + arn
				}
				wt, err := strconv.ParseInt(f.Get(q+"Weight"), 10, 64)
				// "Weight: The weight. The range is 0 to 999."
				// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html
				if err != nil || wt < 0 || wt > 999 {
					return nil, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at '%s.%d.member.forwardConfig.targetGroups.%d.member.weight' failed to satisfy constraint: Member must have value between 0 and 999", f.Get(q+"Weight"), strings.ToLower(prefix[:1])+prefix[1:], i, j)
				}
				fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(int32(wt))})
			}
			// "You can specify up to 5 target groups" (ForwardActionConfig).
			if len(fc.TargetGroups) == 0 || len(fc.TargetGroups) > 5 {
				return nil, "ValidationError", "a forward action needs 1 to 5 target groups"
			}
			if en := f.Get(p + "ForwardConfig.TargetGroupStickinessConfig.Enabled"); en != "" {
				st := &types.TargetGroupStickinessConfig{Enabled: aws.Bool(en == "true")}
				if d := f.Get(p + "ForwardConfig.TargetGroupStickinessConfig.DurationSeconds"); d != "" {
					n, err := strconv.Atoi(d)
					// "DurationSeconds: ... between 1 and 604800 seconds (7 days)."
					// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupStickinessConfig.html
					if err != nil || n < 1 || n > 604800 {
						return nil, "ValidationError", "TargetGroupStickinessConfig.DurationSeconds must be between 1 and 604800"
					}
					st.DurationSeconds = aws.Int32(int32(n))
				}
				fc.TargetGroupStickinessConfig = st
			}
			a.ForwardConfig = fc
		case types.ActionTypeEnumAuthenticateOidc:
			q := p + "AuthenticateOidcConfig."
			c := &types.AuthenticateOidcActionConfig{
				Issuer: aws.String(f.Get(q + "Issuer")), AuthorizationEndpoint: aws.String(f.Get(q + "AuthorizationEndpoint")),
				TokenEndpoint: aws.String(f.Get(q + "TokenEndpoint")), UserInfoEndpoint: aws.String(f.Get(q + "UserInfoEndpoint")),
				ClientId: aws.String(f.Get(q + "ClientId")),
			}
			for _, v := range []*string{c.Issuer, c.AuthorizationEndpoint, c.TokenEndpoint, c.UserInfoEndpoint, c.ClientId} {
				if aws.ToString(v) == "" {
					return nil, "ValidationError", "AuthenticateOidcConfig needs Issuer, AuthorizationEndpoint, TokenEndpoint, UserInfoEndpoint and ClientId"
				}
			}
			// "ClientSecret: ... This parameter is required if you are creating a
			// rule. If you are modifying a rule, you can omit this parameter if you
			// set UseExistingClientSecret to true."
			// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AuthenticateOidcActionConfig.html
			switch secret := f.Get(q + "ClientSecret"); {
			case secret != "":
				c.ClientSecret = aws.String(secret)
			case f.Get(q+"UseExistingClientSecret") == "true":
				for _, o := range old {
					if o.AuthenticateOidcConfig != nil && aws.ToString(o.AuthenticateOidcConfig.ClientId) == aws.ToString(c.ClientId) {
						c.ClientSecret = o.AuthenticateOidcConfig.ClientSecret
					}
				}
				if c.ClientSecret == nil {
					return nil, "ValidationError", "UseExistingClientSecret: the rule has no client secret for this client to keep"
				}
			default:
				return nil, "ValidationError", "AuthenticateOidcConfig.ClientSecret is required unless UseExistingClientSecret is true"
			}
			c.Scope = optional(f.Get(q + "Scope"))
			c.SessionCookieName = optional(f.Get(q + "SessionCookieName"))
			c.OnUnauthenticatedRequest = types.AuthenticateOidcActionConditionalBehaviorEnum(f.Get(q + "OnUnauthenticatedRequest"))
			a.AuthenticateOidcConfig = c
		case types.ActionTypeEnumFixedResponse:
			q := p + "FixedResponseConfig."
			if f.Get(q+"StatusCode") == "" {
				return nil, "ValidationError", "FixedResponseConfig.StatusCode is required"
			}
			a.FixedResponseConfig = &types.FixedResponseActionConfig{StatusCode: aws.String(f.Get(q + "StatusCode")),
				ContentType: optional(f.Get(q + "ContentType")), MessageBody: optional(f.Get(q + "MessageBody"))}
		case types.ActionTypeEnumRedirect:
			q := p + "RedirectConfig."
			if f.Get(q+"StatusCode") == "" {
				return nil, "ValidationError", "RedirectConfig.StatusCode is required"
			}
			a.RedirectConfig = &types.RedirectActionConfig{StatusCode: types.RedirectActionStatusCodeEnum(f.Get(q + "StatusCode")),
				Host: optional(f.Get(q + "Host")), Path: optional(f.Get(q + "Path")), Port: optional(f.Get(q + "Port")),
				Protocol: optional(f.Get(q + "Protocol")), Query: optional(f.Get(q + "Query"))}
		default:
			return nil, "ValidationError", "awsfake: action type " + typ + " is not modelled"
		}
		out = append(out, a)
	}
	// "Each rule must include exactly one of the following types of actions:
	// forward, fixed-response, or redirect, and it must be the last action to
	// be performed." https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html
	terminal := 0
	for _, a := range out {
		if a.Type == types.ActionTypeEnumForward || a.Type == types.ActionTypeEnumFixedResponse || a.Type == types.ActionTypeEnumRedirect {
			terminal++
		}
	}
	if len(out) == 0 || terminal != 1 {
		return nil, "ValidationError", "a rule needs exactly one forward, fixed-response or redirect action"
	}
	last := out[0]
	for _, a := range out {
		if aws.ToInt32(a.Order) > aws.ToInt32(last.Order) {
			last = a
		}
	}
	if len(out) > 1 && (last.Type != types.ActionTypeEnumForward && last.Type != types.ActionTypeEnumFixedResponse && last.Type != types.ActionTypeEnumRedirect) {
		return nil, "InvalidLoadBalancerAction", "the forward, fixed-response or redirect action must be the last (highest Order)"
	}
	for _, a := range out {
		if len(out) > 1 && a.Order == nil {
			return nil, "ValidationError", "with several actions each needs an Order"
		}
	}
	return out, "", ""
}

func optional(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// The XML shapes of a rule in DescribeRules/ModifyRule answers.
type (
	ruleXML struct {
		Arn        string         `xml:"RuleArn"`
		Priority   string         `xml:"Priority"`
		IsDefault  bool           `xml:"IsDefault"`
		Conditions []conditionXML `xml:"Conditions>member"`
		Actions    []actionXML    `xml:"Actions>member"`
	}
	conditionXML struct {
		Field       string   `xml:"Field"`
		Values      []string `xml:"Values>member,omitempty"`
		HostHeader  []string `xml:"HostHeaderConfig>Values>member,omitempty"`
		PathPattern []string `xml:"PathPatternConfig>Values>member,omitempty"`
	}
	actionXML struct {
		Type          string            `xml:"Type"`
		Order         *int32            `xml:"Order,omitempty"`
		Forward       *forwardXML       `xml:"ForwardConfig,omitempty"`
		Oidc          *oidcXML          `xml:"AuthenticateOidcConfig,omitempty"`
		FixedResponse *fixedResponseXML `xml:"FixedResponseConfig,omitempty"`
		Redirect      *redirectXML      `xml:"RedirectConfig,omitempty"`
	}
	tgTuple struct {
		Arn    string `xml:"TargetGroupArn"`
		Weight int32  `xml:"Weight"`
	}
	forwardXML struct {
		Groups     []tgTuple      `xml:"TargetGroups>member"`
		Stickiness *stickinessXML `xml:"TargetGroupStickinessConfig,omitempty"`
	}
	stickinessXML struct {
		Enabled         bool   `xml:"Enabled"`
		DurationSeconds *int32 `xml:"DurationSeconds,omitempty"`
	}
	// oidcXML leaves out ClientSecret: DescribeRules never returns it.
	oidcXML struct {
		Issuer                   string  `xml:"Issuer"`
		AuthorizationEndpoint    string  `xml:"AuthorizationEndpoint"`
		TokenEndpoint            string  `xml:"TokenEndpoint"`
		UserInfoEndpoint         string  `xml:"UserInfoEndpoint"`
		ClientID                 string  `xml:"ClientId"`
		Scope                    *string `xml:"Scope,omitempty"`
		SessionCookieName        *string `xml:"SessionCookieName,omitempty"`
		OnUnauthenticatedRequest string  `xml:"OnUnauthenticatedRequest,omitempty"`
	}
	fixedResponseXML struct {
		StatusCode  string  `xml:"StatusCode"`
		ContentType *string `xml:"ContentType,omitempty"`
		MessageBody *string `xml:"MessageBody,omitempty"`
	}
	redirectXML struct {
		StatusCode string  `xml:"StatusCode"`
		Host       *string `xml:"Host,omitempty"`
		Path       *string `xml:"Path,omitempty"`
		Port       *string `xml:"Port,omitempty"`
		Protocol   *string `xml:"Protocol,omitempty"`
		Query      *string `xml:"Query,omitempty"`
	}
)

func (r *Rule) xml() ruleXML {
	out := ruleXML{Arn: r.Arn, Priority: r.Priority, IsDefault: r.IsDefault}
	for _, c := range r.Conditions {
		x := conditionXML{Field: aws.ToString(c.Field), Values: c.Values}
		if c.HostHeaderConfig != nil {
			x.HostHeader = c.HostHeaderConfig.Values
		}
		if c.PathPatternConfig != nil {
			x.PathPattern = c.PathPatternConfig.Values
		}
		out.Conditions = append(out.Conditions, x)
	}
	for _, a := range r.Actions {
		x := actionXML{Type: string(a.Type), Order: a.Order}
		if fc := a.ForwardConfig; fc != nil {
			x.Forward = &forwardXML{}
			for _, tg := range fc.TargetGroups {
				x.Forward.Groups = append(x.Forward.Groups, tgTuple{Arn: aws.ToString(tg.TargetGroupArn), Weight: aws.ToInt32(tg.Weight)})
			}
			if st := fc.TargetGroupStickinessConfig; st != nil {
				x.Forward.Stickiness = &stickinessXML{Enabled: aws.ToBool(st.Enabled), DurationSeconds: st.DurationSeconds}
			}
		}
		if c := a.AuthenticateOidcConfig; c != nil {
			x.Oidc = &oidcXML{Issuer: aws.ToString(c.Issuer), AuthorizationEndpoint: aws.ToString(c.AuthorizationEndpoint),
				TokenEndpoint: aws.ToString(c.TokenEndpoint), UserInfoEndpoint: aws.ToString(c.UserInfoEndpoint), ClientID: aws.ToString(c.ClientId),
				Scope: c.Scope, SessionCookieName: c.SessionCookieName, OnUnauthenticatedRequest: string(c.OnUnauthenticatedRequest)}
		}
		if c := a.FixedResponseConfig; c != nil {
			x.FixedResponse = &fixedResponseXML{StatusCode: aws.ToString(c.StatusCode), ContentType: c.ContentType, MessageBody: c.MessageBody}
		}
		if c := a.RedirectConfig; c != nil {
			x.Redirect = &redirectXML{StatusCode: string(c.StatusCode), Host: c.Host, Path: c.Path, Port: c.Port, Protocol: c.Protocol, Query: c.Query}
		}
		out.Actions = append(out.Actions, x)
	}
	return out
}
