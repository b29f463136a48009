// Package ec2fake is a local stand-in for the two EC2 calls the ebs
// snapshotter makes — CreateSnapshot and DescribeSnapshots (EC2 query
// protocol) — for tests that drive the real AWS SDK client against it
// (BaseEndpoint). It validates as EC2 does (volume ids vol-…, unknown volumes
// → InvalidVolume.NotFound, unknown snapshots → InvalidSnapshot.NotFound,
// tag filters) and moves snapshots from pending to completed after a delay.
// It serves the tests and `tandem lab` (the lab's AWS endpoint): no product
// command talks to it unless given its endpoint.
package ec2fake
