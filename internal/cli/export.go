package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/syncer"
)

// ExportOptions are the flags of `tandem export`.
type ExportOptions struct {
	SyncOptions
	File      string
	EncryptTo []string
}

func newExportCmd(g *Global) *cobra.Command {
	o := &ExportOptions{SyncOptions: SyncOptions{g: g, Workers: 1}}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write exactly what sync would apply to a tar.gz (a backup before anything moves)",
		Long: `Runs sync's pipeline on the source (same selection flags, same sanitizing)
and writes the result as a tar.gz: one YAML file per object, grouped by wave,
and index.json. With --target, objects are read at versions the target serves
and the archive can be imported there as is. 'tandem import' applies it.

The archive holds every Secret it copies, in clear unless --encrypt-to seals it
with age for the recipients who may read it (age1… public keys or recipient
files; 'tandem import --identity KEYFILE' opens it). Without it, export says on
stderr how many Secrets the file holds; the file is written 0600.

Each object is archived as it is planned; the objects read wait in an
unlinked temporary file ($TMPDIR) until then, as in sync. The archive is
written to a temporary file beside -f and renamed when complete. -o json
gives a summary (objects, Secrets, encrypted or not).

Exit codes: 0 written, 1 failed (nothing is left at -f), 2 bad input, 3 written
without a resource of the source that could not be read (a warning names it).`,
		Example: "  tandem export --source blue -f backup.tar.gz\n  tandem export --source blue --target green --stack shop -f shop.tar.gz\n  tandem export --source blue -f backup.tar.gz.age --encrypt-to age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.File == "" {
				return badInput("-f FILE is required")
			}
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddSelectionFlags(cmd)
	cmd.Flags().StringVarP(&o.File, "file", "f", "", "archive to write (tar.gz)")
	cmd.Flags().StringArrayVar(&o.EncryptTo, "encrypt-to", nil, "encrypt the archive with age for this recipient (an age1… key or a recipients file; repeatable)")
	return cmd
}

// Run exports.
func (o *ExportOptions) Run(ctx context.Context) error {
	started := time.Now()
	var source, target *cluster.Conn
	var err error
	if o.g.Target != "" {
		source, target, err = o.g.connectPair(ctx)
	} else {
		source, err = o.g.connect(o.g.Source, "source")
		if err == nil {
			_, err = source.Check(ctx)
		}
	}
	if err != nil {
		return err
	}
	// Written through a temporary file: an interrupted export never leaves a truncated archive behind.
	tmp, err := os.CreateTemp(filepath.Dir(o.File), ".tandem-export-*")
	if err != nil {
		return badInput("-f %s: %v", o.File, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var w io.Writer = tmp
	var sealed io.WriteCloser
	if len(o.EncryptTo) > 0 {
		if sealed, err = syncer.EncryptTo(tmp, o.EncryptTo); err != nil {
			return badInput("--encrypt-to: %v", err)
		}
		w = sealed
	}
	said := time.Now()
	archive, err := syncer.NewArchiveWriter(w, source.Context, func(done, total int) {
		// A long export says how far it is, as a long wave does.
		if now := time.Now(); now.Sub(said) >= progressEvery && done < total {
			said = now
			fmt.Fprintf(o.g.Err, "  archived %d of %d objects\n", done, total)
		}
	})
	if err != nil {
		return err
	}
	defer archive.Abort() // an export that fails lets go of the archive's index
	// Each object is archived as it is planned: neither the plan nor the
	// objects are held (they wait on disk until their turn).
	prep, err := o.prepare(ctx, source, target, nil, func() (syncer.Sink, error) { return archive, nil })
	if err != nil {
		return err
	}
	defer prep.Close()
	printPrepared(o.g.Err, prep)
	n, err := archive.Close()
	if sealed != nil && err == nil {
		err = sealed.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), o.File); err != nil {
		return err
	}
	fmt.Fprintf(o.g.Err, "exported %d objects from %s to %s (%d cannot be copied to the target as they are)\n", n, source.Context, o.File, len(prep.Unshared))
	secrets := archive.Secrets()
	if secrets > 0 && len(o.EncryptTo) == 0 {
		fmt.Fprintf(o.g.Err, "warning: %s holds %d Secrets in clear: keep it as you keep the secrets themselves, or export with --encrypt-to AGE_RECIPIENT\n", o.File, secrets)
	}
	out := struct {
		Source    string  `json:"source"`
		File      string  `json:"file"`
		Objects   int     `json:"objects"`
		Unshared  int     `json:"cannotBeCopied"`
		Secrets   int     `json:"secrets"`
		Encrypted bool    `json:"encrypted"`
		Seconds   float64 `json:"seconds"`
		// Unread: what of the source could not be read, so is not in the archive.
		Unread []string `json:"unread,omitempty"`
	}{source.Context, o.File, n, len(prep.Unshared), secrets, len(o.EncryptTo) > 0, time.Since(started).Seconds(), unreadWarnings(prep)}
	if err := o.g.printObject(out, func(io.Writer) {}); err != nil { // the table is the line above
		return err
	}
	return unreadErr(prep)
}
