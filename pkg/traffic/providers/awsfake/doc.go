// Package awsfake is a local stand-in for the AWS calls tandem's traffic
// providers make, and those the lab needs to build what they route to:
// Route53 (REST-XML: record sets changed and listed, changes, hosted zones)
// and ELBv2 (query protocol: rules described and modified, listeners
// modified, tags; and the load balancers, target groups, listeners and
// rules the lab creates). Tests drive the real AWS SDK clients and the AWS
// CLI against it (BaseEndpoint). It validates requests as AWS does (weight
// ranges, SetIdentifier with Weight, exact DELETE matches, CREATE of an
// existing record, simple and weighted records of one name never together,
// unknown zones, rules and target groups) and answers with AWS's error
// codes.
//
// It serves the tests and `tandem lab` (the lab's AWS endpoint, for its DNS
// plane and its ALB): no product command talks to it, and nothing points
// at it unless given its endpoint.
package awsfake
