package ec2fake_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tandem-io/tandem/internal/awstest"
	"github.com/tandem-io/tandem/pkg/volume/ec2fake"
)

// The fake judged by AWS's own client: the AWS CLI (Debian's awscli, which
// `make test` installs) with --endpoint-url.
func TestEC2SnapshotsThroughTheAWSCLI(t *testing.T) {
	fake := ec2fake.New()
	defer fake.Close()
	fake.AddVolume("vol-0123456789abcdef0", 8)
	foreign := fake.AddSnapshot("vol-0123456789abcdef0", "999999999999", map[string]string{"tandem.io/pv": "pv-a"})
	run := func(args ...string) (string, string, int) {
		return awstest.CLI(t, fake.URL, append([]string{"ec2"}, args...)...)
	}
	out, stderr, code := run("create-snapshot", "--volume-id", "vol-0123456789abcdef0", "--description", "tandem test",
		"--tag-specifications", "ResourceType=snapshot,Tags=[{Key=tandem.io/pv,Value=pv-a}]")
	var snap struct{ SnapshotId, State, OwnerId string }
	if code != 0 || json.Unmarshal([]byte(out), &snap) != nil || snap.State != "pending" || snap.OwnerId != ec2fake.Account {
		t.Fatalf("create-snapshot: exit %d %s %s", code, out, stderr)
	}
	out, stderr, code = run("create-volume", "--availability-zone", "eu-west-1a", "--size", "20", "--volume-type", "gp3")
	var vol struct{ VolumeId string }
	if code != 0 || json.Unmarshal([]byte(out), &vol) != nil || !strings.HasPrefix(vol.VolumeId, "vol-") {
		t.Fatalf("create-volume: exit %d %s %s", code, out, stderr)
	}
	if _, stderr, code := run("create-snapshot", "--volume-id", vol.VolumeId); code != 0 {
		t.Fatalf("create-snapshot of a created volume: exit %d %s", code, stderr)
	}
	if _, stderr, code := run("create-volume", "--availability-zone", "eu-west-1a"); code == 0 || !strings.Contains(stderr, "size") {
		t.Fatalf("create-volume without size or snapshot: exit %d %s", code, stderr)
	}
	// Every snapshot the account may use, others' public ones too — or its own only.
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"describe-snapshots", "--filters", "Name=tag:tandem.io/pv,Values=pv-a"}, []string{foreign, snap.SnapshotId}},
		{[]string{"describe-snapshots", "--owner-ids", "self", "--filters", "Name=tag:tandem.io/pv,Values=pv-a"}, []string{snap.SnapshotId}},
	} {
		out, stderr, code := run(c.args...)
		var got struct{ Snapshots []struct{ SnapshotId string } }
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
			t.Fatalf("%s: exit %d %s", strings.Join(c.args, " "), code, stderr)
		}
		var ids []string
		for _, s := range got.Snapshots {
			ids = append(ids, s.SnapshotId)
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", strings.Join(c.args, " "), ids, c.want)
		}
	}
	if _, stderr, code := run("create-snapshot", "--volume-id", "vol-nope"); code == 0 || !strings.Contains(stderr, "InvalidParameterValue") {
		t.Fatalf("create-snapshot of a malformed volume id: exit %d %s", code, stderr)
	}
}
