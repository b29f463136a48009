package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandem-io/tandem/pkg/traffic"
)

func newProbeCmd(g *Global) *cobra.Command {
	p := &traffic.Probe{}
	var every, duration time.Duration
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Send a steady, bounded load at an endpoint and show which cluster answers, second by second",
		Long: `The load probe that drills use, on its own: --rate GET requests per second to
--url (Host header --host) for --duration, then it stops by itself. Every
--every it prints what was sent in that interval, what failed, and the share
each cluster answered (named by the --header response header; the lab
ingress sets X-Tandem-Cluster). Run it beside a shift to watch the split move.

An answer ≥ 500 or 404, or no answer, is a failed request.

Exit codes: 0 no request failed, 1 some failed, 2 bad input, 130 stopped
(SIGINT or SIGTERM) before --duration.`,
		Example: `  tandem probe --url "http://$TANDEM_LAB_HAPROXY/" --host app.example --rate 100 --duration 30s
  tandem probe --url "http://app.example:$TANDEM_LAB_APP_PORT/" --resolve app.example --dns "$TANDEM_LAB_DNS" \
    --header X-Tandem-Cluster --rate 50 --duration 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case !traffic.IsHTTPURL(p.URL):
				return badInput("--url %q: want an http:// or https:// URL", p.URL)
			case p.Rate <= 0 || p.Rate > 1000:
				return badInput("--rate %d: want 1..1000 requests per second", p.Rate)
			case duration <= 0 || duration > 24*time.Hour:
				return badInput("--duration %s: want > 0 and at most 24h", duration)
			case every <= 0:
				return badInput("--every %s: want > 0", every)
			case (p.Resolve == "") != (p.DNS == ""):
				return badInput("--resolve and --dns go together: the name to resolve and the DNS server to ask")
			}
			p.Max = duration
			return runProbe(cmd.Context(), g, p, every)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.URL, "url", "", "URL to send requests to (through the router)")
	f.StringVar(&p.Host, "host", "", "Host header of the requests")
	f.IntVar(&p.Rate, "rate", 50, "requests per second")
	f.StringVar(&p.Resolve, "resolve", "", "resolve this host of --url through --dns before each connection (caching each answer for its TTL), to follow a DNS-based split")
	f.StringVar(&p.DNS, "dns", "", "with --resolve: the DNS server, host:port (the lab's: $TANDEM_LAB_DNS)")
	f.StringVar(&p.ClusterHeader, "header", "", "response header naming the cluster that answered (none: answers are counted, not told apart by cluster)")
	f.DurationVar(&duration, "duration", 30*time.Second, "how long to send; the probe stops by itself")
	f.DurationVar(&every, "every", time.Second, "how often to print a line")
	return cmd
}

func runProbe(ctx context.Context, g *Global, p *traffic.Probe, every time.Duration) error {
	p.Start(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	prev := p.Snapshot()
	start := prev.Started
	end := start.Add(p.Max)
	quiet := g.Output == "json" || g.Output == "yaml"
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-t.C:
			cur := p.Snapshot()
			if !quiet {
				fmt.Fprintln(g.Out, probeLine(time.Since(start), prev, cur))
			}
			prev = cur
			running = time.Now().Before(end)
		}
	}
	res := p.Stop()
	if err := g.printObject(res, func(w io.Writer) { fmt.Fprintf(w, "total: %s\n", res) }); err != nil {
		return err
	}
	if ctx.Err() != nil {
		// Stopped before its --duration: not a probe that passed.
		return fmt.Errorf("stopped after %s of %s (%s)", time.Since(start).Round(time.Second), p.Max, res)
	}
	if res.Failed > 0 {
		return errPartial
	}
	return nil
}

// probeLine is one interval: "  3s  sent 50  failed 0  blue 60%  green 40%".
func probeLine(at time.Duration, prev, cur traffic.ProbeResult) string {
	sent, failed := cur.Sent-prev.Sent, cur.Failed-prev.Failed
	var total int64
	delta := map[string]int64{}
	for c, n := range cur.ByCluster {
		delta[c] = n - prev.ByCluster[c]
		total += delta[c]
	}
	cs := make([]string, 0, len(delta))
	for c := range delta {
		cs = append(cs, c)
	}
	sort.Strings(cs)
	var parts []string
	for _, c := range cs {
		share := 0.0
		if total > 0 {
			share = 100 * float64(delta[c]) / float64(total)
		}
		parts = append(parts, fmt.Sprintf("%s %3.0f%%", c, share))
	}
	return fmt.Sprintf("%5s  sent %4d  failed %3d  %s%s", at.Round(time.Second), sent, failed, strings.Join(parts, "  "), cur.FailedSince(prev))
}
