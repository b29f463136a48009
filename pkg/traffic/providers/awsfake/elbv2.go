package awsfake

// ELBv2 (query protocol, API version 2015-12-01): DescribeRules, ModifyRule.

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// Rule is an ELBv2 listener rule that forwards to weighted target groups.
type Rule struct {
	Arn      string
	Priority string
	Weights  map[string]int64 // target group ARN → weight
	order    []string
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

const elbNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

func elbFail(w http.ResponseWriter, code, msg string) {
	writeXML(w, http.StatusBadRequest, awsError{Xmlns: elbNS, Type: "Sender", Code: code, Message: msg, ID: "fake"})
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
