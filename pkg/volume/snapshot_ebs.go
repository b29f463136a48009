package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/tandem-io/tandem/pkg/awsconf"
	"github.com/tandem-io/tandem/pkg/cluster"
)

// EBS snapshots the EBS volume behind a PV (in-tree awsElasticBlockStore or
// the ebs.csi.aws.com driver) with EC2 CreateSnapshot. The snapshot is
// tagged with the PV, the claim and the handoff, which is how a re-run after
// a crash finds it instead of taking another.
//
// EBS takes the point in time when CreateSnapshot answers: "Snapshots occur
// asynchronously; the point-in-time snapshot is created immediately, but the
// status of the snapshot is pending until the snapshot is complete"
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSnapshot.html).
// So the handoff goes on once the snapshot exists and is not in error — a
// first snapshot of a large volume takes hours to complete, hours the app
// would be down — unless WaitCompleted asks to wait until it is completed.
type EBS struct {
	Client *ec2.Client
	// Run tags the snapshots of one handoff (stable across re-runs of it).
	Run string
	// WaitCompleted waits until each snapshot is completed (--wait-snapshots).
	WaitCompleted bool
	// Timeout bounds the wait for completed; Progress (may be nil) hears about each state seen.
	Timeout  time.Duration
	Progress func(pv, state, progress string)

	mu     sync.Mutex
	states map[string]string // snapshot id → the state last seen
}

// State implements StateReporter: the state id was last seen in.
func (e *EBS) State(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.states[id]
}

func (e *EBS) seen(id string, s ec2types.Snapshot, pv string) {
	e.mu.Lock()
	if e.states == nil {
		e.states = map[string]string{}
	}
	e.states[id] = string(s.State)
	e.mu.Unlock()
	if e.Progress != nil {
		e.Progress(pv, string(s.State), aws.ToString(s.Progress))
	}
}

// NewEBS connects to EC2 in region (or at endpoint, for tests).
func NewEBS(ctx context.Context, region, endpoint, run string) (*EBS, error) {
	cfg, err := awsconf.Load(ctx, region, endpoint)
	if err != nil {
		return nil, err
	}
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &EBS{Client: client, Run: run, Timeout: 30 * time.Minute}, nil
}

// Name implements Snapshotter.
func (*EBS) Name() string { return "ebs" }

// Tags the snapshots carry.
const (
	tagPV      = "tandem.io/pv"
	tagClaim   = "tandem.io/claim"
	tagHandoff = "tandem.io/handoff"
)

// EBSVolumeID returns the EBS volume id behind pv, or "" when it is not EBS.
func EBSVolumeID(pv *corev1.PersistentVolume) string {
	var id string
	switch {
	case pv.Spec.AWSElasticBlockStore != nil:
		id = pv.Spec.AWSElasticBlockStore.VolumeID
	case pv.Spec.CSI != nil && pv.Spec.CSI.Driver == "ebs.csi.aws.com":
		id = pv.Spec.CSI.VolumeHandle
	default:
		return ""
	}
	// In-tree ids may be "aws://us-east-1a/vol-…".
	return id[strings.LastIndex(id, "/")+1:]
}

// CanSnapshot implements SnapshotChecker: pv must be an EBS volume.
func (e *EBS) CanSnapshot(_ context.Context, _ *cluster.Conn, pv *corev1.PersistentVolume) (string, string, error) {
	if EBSVolumeID(pv) == "" {
		return fmt.Sprintf("PV %s is not an EBS volume (neither awsElasticBlockStore nor CSI driver ebs.csi.aws.com): --snapshot ebs cannot snapshot it", pv.Name), "use --snapshot csi or none", nil
	}
	return "", "", nil
}

// Snapshot implements Snapshotter.
func (e *EBS) Snapshot(ctx context.Context, _ *cluster.Conn, pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) (string, error) {
	vol := EBSVolumeID(pv)
	if vol == "" {
		return "", fmt.Errorf("PV %s is not an EBS volume (neither awsElasticBlockStore nor CSI driver ebs.csi.aws.com): use --snapshot csi or none", pv.Name)
	}
	id, err := e.existing(ctx, vol, pv.Name)
	if err != nil {
		return "", err
	}
	if id == "" {
		out, err := e.Client.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
			VolumeId:    aws.String(vol),
			Description: aws.String(fmt.Sprintf("tandem handoff %s of %s/%s (PV %s)", e.Run, pvc.Namespace, pvc.Name, pv.Name)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSnapshot, Tags: []ec2types.Tag{
				{Key: aws.String(tagPV), Value: aws.String(pv.Name)},
				{Key: aws.String(tagClaim), Value: aws.String(pvc.Namespace + "/" + pvc.Name)},
				{Key: aws.String(tagHandoff), Value: aws.String(e.Run)},
			}}},
		})
		if err != nil {
			return "", fmt.Errorf("EC2 CreateSnapshot of %s: %w", vol, err)
		}
		id = aws.ToString(out.SnapshotId)
	}
	if !e.WaitCompleted {
		return id, e.exists(ctx, id, pv.Name)
	}
	return id, e.wait(ctx, id, pv.Name)
}

// exists checks once that the snapshot is there and not in error: its
// point in time is taken.
func (e *EBS) exists(ctx context.Context, id, pv string) error {
	out, err := e.Client.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}, OwnerIds: []string{"self"}})
	if err != nil {
		return fmt.Errorf("EC2 DescribeSnapshots %s: %w", id, err)
	}
	if len(out.Snapshots) != 1 {
		return fmt.Errorf("snapshot %s: EC2 answered %d snapshots", id, len(out.Snapshots))
	}
	s := out.Snapshots[0]
	e.seen(id, s, pv)
	if s.State == ec2types.SnapshotStateError {
		return fmt.Errorf("snapshot %s of PV %s failed: %s", id, pv, aws.ToString(s.StateMessage))
	}
	return nil
}

// existing finds the snapshot an interrupted run of this handoff took.
func (e *EBS) existing(ctx context.Context, vol, pv string) (string, error) {
	// OwnerIds self: only this account's snapshots, never a public or
	// shared one that happens to carry the same tags.
	out, err := e.Client.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []ec2types.Filter{
		{Name: aws.String("volume-id"), Values: []string{vol}},
		{Name: aws.String("tag:" + tagPV), Values: []string{pv}},
		{Name: aws.String("tag:" + tagHandoff), Values: []string{e.Run}},
	}})
	if err != nil {
		return "", fmt.Errorf("EC2 DescribeSnapshots of %s: %w", vol, err)
	}
	for _, s := range out.Snapshots {
		if s.State != ec2types.SnapshotStateError {
			return aws.ToString(s.SnapshotId), nil
		}
	}
	return "", nil
}

// wait waits with EC2's SnapshotCompleted waiter. The waiter's Retryable
// hook sees every DescribeSnapshots answer, so it is where Progress hears
// about each attempt and where a failed snapshot keeps its own message (the
// waiter's would only say "transitioned to Failure").
func (e *EBS) wait(ctx context.Context, id, pv string) error {
	var last ec2types.Snapshot
	var stop error // what ended the wait from inside the hook
	waiter := ec2.NewSnapshotCompletedWaiter(e.Client, func(o *ec2.SnapshotCompletedWaiterOptions) {
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 15 * time.Second
		completed := o.Retryable
		o.Retryable = func(ctx context.Context, in *ec2.DescribeSnapshotsInput, out *ec2.DescribeSnapshotsOutput, err error) (bool, error) {
			switch {
			case err != nil:
				stop = fmt.Errorf("EC2 DescribeSnapshots %s: %w", id, err)
			case len(out.Snapshots) != 1:
				stop = fmt.Errorf("snapshot %s: EC2 answered %d snapshots", id, len(out.Snapshots))
			default:
				last = out.Snapshots[0]
				e.seen(id, last, pv)
				if last.State == ec2types.SnapshotStateError {
					stop = fmt.Errorf("snapshot %s of PV %s failed: %s", id, pv, aws.ToString(last.StateMessage))
				} else {
					return completed(ctx, in, out, nil)
				}
			}
			return false, stop
		}
	})
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Minute // the waiter refuses no bound at all
	}
	_, err := waiter.WaitForOutput(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}, OwnerIds: []string{"self"}}, timeout)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case stop != nil && !errors.Is(stop, context.DeadlineExceeded):
		return stop
	}
	// The waiter's own deadline passed, between attempts or during one.
	return fmt.Errorf("snapshot %s of PV %s not completed after %s (%s)", id, pv, timeout, aws.ToString(last.Progress))
}
