package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/volume"
)

// HandoffOptions are the flags of `tandem handoff`.
type HandoffOptions struct {
	g           *Global
	Namespace   string
	StatefulSet string
	PVC         string
	Selector    string
	Snapshot    string
	DryRun      bool
	Rollback    bool
	Replace     bool
	KeepRetain  bool
	WaitSnaps   bool
	Parallel    int
	AWSRegion   string
	AWSEndpoint string
	Timeout     time.Duration
	JournalDir  string

	sel volume.Selection
}

func newHandoffCmd(g *Global) *cobra.Command {
	o := &HandoffOptions{g: g}
	cmd := &cobra.Command{
		Use:   "handoff",
		Short: "Move persistent volumes to the target cluster without copying data",
		Long: `Hands the selected claims' volumes from the source to the target: the disk
stays where it is, the PV and PVC objects move. Per volume, journaled:

  retain          the source PV's reclaim policy set to Retain
  scale-source    owners (StatefulSet/Deployment) to 0 in the source, replicas recorded
  unmounted       no pod in the source mounts the claim (finished pods aside)
  detached        no VolumeAttachment for the PV in the source
  snapshot        --snapshot (none: skipped)
  save            PV and PVC definitions written to the journal
  scale-target    owners exist in the target (run 'tandem sync' first) at 0 replicas
  clear-target    the empty claim the target made under the same name deleted
  create-pvc      the claim created in the target, naming the PV
  create-pv       the PV created pre-bound to the new claim's uid (never Available)
  release-source  the source claim and PV deleted (Retain keeps the disk)
  verify          the claim Bound to the PV and the PV's claimRef.uid the claim's
  reclaim-policy  the target PV given the reclaim policy the source PV had
                  (a Delete volume is deleted with its claim there, as it
                  was here; --keep-retain leaves it Retain)
  scale-up        owners in the target back to the source's recorded replicas

A PV is never bindable by name alone: another claim that names it with
spec.volumeName does not get it. Every blocker (missing StorageClass or owner,
PV name taken, node affinity, access modes, capacity, the CSI driver — also
the one CSI migration serves an in-tree volume with — and the Secrets the PV
gives it, a claim of the same name in the target that holds data: one a
handoff made, or on a PV that is not Delete) is reported before the first
change, and so is what stopping an owner would lose: a StatefulSet whose
persistentVolumeClaimRetentionPolicy deletes its claims when it scales down,
an owner that mounts claims the selection leaves out (it is stopped in the
source and started whole in the target), a pod mounting the claim that
scaling the owners would not stop. Re-running the same command after a crash
(kill -9) resumes at the first step not done; --rollback hands the volumes
back the same way and restores the source's replicas. --rollback of a
handoff that did not finish (killed, or a step failed) undoes it from
wherever each volume got to:

  stop-target     the target's owners at 0 (if the handoff had reached them)
  restore-source  the claim of the original name Bound in the source: the
                  original where it still exists, else a new one from the
                  saved definition with the PV pre-bound to its uid
  remove-target   the claim and PV the handoff made in the target deleted
                  (only those it marked; made Retain first, which keeps the disk)
  reclaim-policy  the source PV given back the reclaim policy it had
  source-back     the source's owners at the replicas recorded before
  target-back     the target's owners at the replicas they had before

Exit codes: 0 handed over, 1 blockers or some volumes failed (see the table;
re-run to resume), 2 bad input.`,
		Example: `  tandem handoff --source blue --target green --namespace shop-data --statefulset db --dry-run
  tandem handoff --source blue --target green --namespace shop-data --statefulset db
  tandem handoff --source blue --target green --namespace shop-data --statefulset db --rollback
  tandem handoff --source blue --target green -l app.kubernetes.io/part-of=shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Namespace, "namespace", "n", "", "namespace of the claims")
	f.StringVar(&o.StatefulSet, "statefulset", "", "the claims of this StatefulSet's volumeClaimTemplates (needs --namespace)")
	f.StringVar(&o.PVC, "pvc", "", "one claim (needs --namespace)")
	f.StringVarP(&o.Selector, "selector", "l", "", "claims with these labels (all namespaces unless --namespace)")
	f.StringVar(&o.Snapshot, "snapshot", "auto", "snapshot before the move: csi (a VolumeSnapshot of each claim, waited until readyToUse), ebs (EC2 CreateSnapshot of each EBS volume: its point in time is taken when it exists, so the handoff goes on while it is pending; --wait-snapshots waits until completed), none, or auto (csi when every volume is CSI with a VolumeSnapshotClass, else none with a warning)")
	f.StringVar(&o.AWSRegion, "aws-region", "", "with --snapshot ebs: the volumes' region (default: the AWS configuration's)")
	f.BoolVar(&o.WaitSnaps, "wait-snapshots", false, "with --snapshot ebs: wait until each snapshot is completed before the volume moves (a first snapshot of a large volume takes hours)")
	f.StringVar(&o.AWSEndpoint, "aws-endpoint", "", "with --snapshot ebs: another EC2 endpoint (a test fake, LocalStack)")
	f.BoolVar(&o.DryRun, "dry-run", false, "check, print every step per volume, change nothing")
	f.BoolVar(&o.Rollback, "rollback", false, "hand the volumes back from the target to the source")
	f.BoolVar(&o.Replace, "replace-target-claims", false, "let the handoff delete a claim of the same name in the target that no handoff made (one its owner provisioned, empty); a claim whose PV is not Delete is never deleted")
	f.BoolVar(&o.KeepRetain, "keep-retain", false, "leave the moved volumes' PVs Retain at the end instead of giving them the reclaim policy the source PVs had")
	f.IntVar(&o.Parallel, "parallel", 4, "volumes handed over at once")
	f.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "how long each wait (pods gone, detached, bound, ready) may take")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each handoff is kept")
	return cmd
}

// Complete builds the selection and the snapshotter.
func (o *HandoffOptions) Complete() error {
	o.sel = volume.Selection{Namespace: o.Namespace, StatefulSet: o.StatefulSet, PVC: o.PVC}
	if o.Selector != "" {
		s, err := labels.Parse(o.Selector)
		if err != nil {
			return badInput("-l %q: %v", o.Selector, err)
		}
		o.sel.Selector = s
	}
	switch o.Snapshot {
	case "none", "ebs", "csi", "auto":
		// Built when the run id (the snapshots' name and tag) and the volumes are known.
	default:
		return badInput("--snapshot %q: want auto, csi, ebs or none", o.Snapshot)
	}
	if o.WaitSnaps && o.Snapshot != "ebs" {
		return badInput("--wait-snapshots is for --snapshot ebs (a CSI snapshot is waited until readyToUse anyway)")
	}
	return nil
}

// Validate refuses a selection that picks nothing or contradicts itself.
func (o *HandoffOptions) Validate() error {
	switch {
	case o.Namespace == "" && o.Selector == "":
		return badInput("nothing selected: pass --namespace NS [--statefulset NAME | --pvc NAME] or -l SELECTOR")
	case (o.StatefulSet != "" || o.PVC != "") && o.Namespace == "":
		return badInput("--statefulset and --pvc need --namespace")
	case o.StatefulSet != "" && o.PVC != "":
		return badInput("--statefulset and --pvc: choose one")
	case o.Parallel < 1:
		return badInput("--parallel %d: want ≥ 1", o.Parallel)
	case o.Timeout <= 0:
		return badInput("--timeout %s: want > 0", o.Timeout)
	case o.DryRun && o.Rollback:
		return badInput("--dry-run and --rollback: choose one")
	}
	return nil
}

// journalPath is one journal per source, target and selection; a rollback
// shares its handoff's journal.
func (o *HandoffOptions) journalPath(ctx context.Context, source, target *cluster.Conn) (string, error) {
	sid, err := source.Identity(ctx)
	if err != nil {
		return "", err
	}
	tid, err := target.Identity(ctx)
	if err != nil {
		return "", err
	}
	return volume.JournalPath(o.JournalDir, sid, tid, o.g.Source, o.g.Target, o.sel), nil
}

// Run checks, then hands the volumes over (or back), resuming an interrupted run.
func (o *HandoffOptions) Run(ctx context.Context) error {
	source, target, err := o.g.connectPair(ctx)
	if err != nil {
		return err
	}
	jpath, err := o.journalPath(ctx, source, target)
	if err != nil {
		return err
	}
	inv, err := volume.Begin(ctx, volume.Options{Source: source, Target: target, Selection: o.sel, Rollback: o.Rollback, ReplaceTargetClaims: o.Replace, KeepRetain: o.KeepRetain,
		Journal: jpath, Snapshot: o.Snapshot, AWSRegion: o.AWSRegion, AWSEndpoint: o.AWSEndpoint, WaitSnapshots: o.WaitSnaps,
		Parallel: o.Parallel, Timeout: o.Timeout, Observer: &handoffProgress{w: o.g.Err},
		Notice: func(s string) { fmt.Fprintln(o.g.Err, s) },
		EBSProgress: func(pv, state, progress string) {
			fmt.Fprintf(o.g.Err, "%-40s snapshot        EBS %s %s\n", pv, state, progress)
		}})
	if err != nil {
		return err
	}
	defer inv.Close()
	h := inv.Handoff
	for _, w := range inv.Warnings {
		fmt.Fprintln(o.g.Err, "warning: "+w)
	}
	if o.DryRun || len(inv.Blockers) > 0 {
		if err := o.printPlan(h.Source, h.Target, inv.Volumes, inv.Blockers, inv.Warnings); err != nil {
			return err
		}
		if len(inv.Blockers) > 0 {
			fmt.Fprintf(o.g.Err, "error: %d blockers; nothing was changed\n", len(inv.Blockers))
			return errPartial
		}
		return nil
	}
	if h.Direction != volume.DirectionRecover && h.Snapshotter.Name() == "none" {
		fmt.Fprintln(o.g.Err, "warning: no snapshot is taken (--snapshot none); the PVs are set to Retain first")
	}
	return o.execute(ctx, h, inv.Volumes)
}

// execute runs h and prints its report; an incomplete run can be resumed.
func (o *HandoffOptions) execute(ctx context.Context, h *volume.Handoff, vols []volume.Volume) error {
	installFaults(o.g.Err, h)
	rep, runErr := h.Execute(ctx, vols)
	if err := o.printReport(rep); err != nil {
		return err
	}
	if runErr != nil {
		if errors.Is(runErr, volume.ErrFailed) {
			fmt.Fprintf(o.g.Err, "error: %s; re-run the same command to resume\n", runErr)
			return errPartial
		}
		return runErr
	}
	return nil
}
