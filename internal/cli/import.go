package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/apply"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// ImportOptions are the flags of `tandem import`.
type ImportOptions struct {
	g          *Global
	File       string
	Identity   string
	Force      bool
	Recreate   bool
	Workers    int
	JournalDir string
	DryRun     bool
	Diff       bool
}

func newImportCmd(g *Global) *cobra.Command {
	o := &ImportOptions{g: g}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Apply an archive written by 'tandem export' to the target, through sync's pipeline",
		Long: `Reads an archive written by 'tandem export' (sealed with age: --identity
opens it) and applies it to the target as sync would: each object is planned
against the target's copy (read as metadata), an object already as archived
is left unchanged, fields another field manager owns are not taken without
--force, and the waves are written in order as they are planned (--dry-run
prints that plan and writes nothing; --diff adds what each write would change). The
archive's objects wait in an unlinked temporary file ($TMPDIR) meanwhile:
memory grows with the number of objects, not their bytes.

Exit codes: 0 done, 1 some objects failed (reported per object), 2 bad input
(not an archive, a sealed one without --identity).`,
		Example: "  tandem import --target green -f backup.tar.gz --dry-run --diff\n  tandem import --target green -f backup.tar.gz",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.File == "" {
				return badInput("-f FILE is required")
			}
			if o.Workers < 1 || o.Workers > 256 {
				return badInput("--workers %d: want 1..256", o.Workers)
			}
			if o.Diff && !o.DryRun {
				return badInput("--diff needs --dry-run")
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "", "archive written by tandem export")
	f.StringVar(&o.Identity, "identity", "", "age identity file that opens an archive exported with --encrypt-to")
	f.BoolVar(&o.Force, "force", false, "take over fields that another field manager owns in the target")
	f.BoolVar(&o.Recreate, "recreate", false, "delete and create objects whose immutable fields changed")
	f.IntVar(&o.Workers, "workers", apply.DefaultWorkers, "parallel writes to the target")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan (create/update/unchanged/skip per object, with reasons) and write nothing")
	f.BoolVar(&o.Diff, "diff", false, "with --dry-run: print a unified diff per object: the target's copy against what the write would make of it")
	f.StringVar(&o.JournalDir, "journal-dir", filepath.Join(stateDir(), "journal"), "where the journal of each run is kept")
	return cmd
}

// Run imports.
func (o *ImportOptions) Run(ctx context.Context) error {
	started := time.Now()
	fh, err := os.Open(o.File)
	if err != nil {
		return badInput("-f %s: %v", o.File, err)
	}
	defer fh.Close()
	plain, err := syncer.OpenArchive(fh, o.Identity)
	if errors.Is(err, syncer.ErrEncrypted) {
		return badInput("-f %s is encrypted (age): pass --identity KEYFILE", o.File)
	}
	if err != nil {
		return badInput("-f %s: %v", o.File, err)
	}
	said := time.Now()
	archive, err := syncer.ReadArchive(plain, func(objects int) {
		// A long read says how far it is, as a long wave does.
		if now := time.Now(); now.Sub(said) >= progressEvery {
			said = now
			fmt.Fprintf(o.g.Err, "  read %d objects of %s\n", objects, o.File)
		}
	})
	if err != nil {
		return err
	}
	defer archive.Close()
	o.g.Log.Info("read the archive", "objects", archive.Len(), "took", time.Since(started).Round(time.Millisecond))
	target, err := o.g.connect(o.g.Target, "target")
	if err != nil {
		return err
	}
	if _, err := target.Check(ctx); err != nil {
		return err
	}
	warnActiveFormIntoStandby(ctx, o.g, target)
	if o.DryRun {
		plans := syncer.NewCollect()
		prep, err := syncer.Import(ctx, target, archive, o.Force, plans)
		if err != nil {
			return err
		}
		prep.Plan = plans.Plan()
		dry := &SyncOptions{g: o.g, Force: o.Force, Diff: o.Diff}
		return dry.printPlan(ctx, target, prep, syncer.UnsharedResults(prep))
	}
	// Journaled as a sync is (an interrupted import is reported; a re-run
	// writes only what is not yet as archived), and each object written as
	// it is planned, wave by wave: no plan is held.
	dstID, _ := target.Identity(ctx)
	w, err := syncer.Begin("archive of "+archive.Source, target, syncer.Options{
		JournalPath: syncer.ImportJournalPath(o.JournalDir, archive.Source, dstID),
		Apply:       apply.Options{Workers: o.Workers, Force: o.Force, Recreate: o.Recreate, CheckAvailable: true, Events: newProgress(o.g.Err), Log: o.g.Log},
		Resuming: func(run string, written int) {
			fmt.Fprintf(o.g.Err, "resuming interrupted import %s (%d objects written before it stopped)\n", run, written)
		},
	})
	if err != nil {
		return err
	}
	defer w.Close()
	prep, err := syncer.Import(ctx, target, archive, o.Force, w.Stream())
	if err != nil {
		return err
	}
	results, err := w.Finish(ctx, prep)
	if err != nil {
		return err
	}
	summary, total := apply.Summarize(results)
	if err := o.g.printResults(results, summary, total, time.Since(started)); err != nil {
		return err
	}
	for _, s := range apply.Unavailable(results) {
		fmt.Fprintln(o.g.Err, "warning: "+s)
	}
	if total[apply.Failed]+total[apply.Conflict] > 0 {
		return errPartial
	}
	return nil
}
