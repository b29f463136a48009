// Package awsfake is a local stand-in for the few AWS calls tandem's traffic
// providers make — Route53 ChangeResourceRecordSets, ListResourceRecordSets,
// GetChange (REST-XML) and ELBv2 DescribeRules, ModifyRule (query protocol) —
// for tests that drive the real AWS SDK clients against it (BaseEndpoint).
// It validates requests as AWS does (weight ranges, SetIdentifier with
// Weight, exact DELETE matches, CREATE of an existing record, simple and
// weighted records of one name never together, unknown zones, rules and
// target groups) and answers with AWS's error codes. Test support only.
package awsfake
