package switchover

import (
	"fmt"
	"strings"
	"time"
)

// Pair is what a runbook knows about the two clusters.
type Pair struct {
	Active, Standby   string // contexts; Active is the authoritative one now
	ActiveVersion     string
	StandbyVersion    string
	Epoch             int64
	Router            string // router URL ("" unknown)
	Kubeconfig        string // "" for the default
	GateURL, GateHost string // an HTTP gate through the router, if known
	Problems          []string
	Generated         time.Time
	LastDrill         *Drilled
}

// Runbook renders the runbook of a pair as markdown: the exact commands,
// checks and rollback steps for a switchover and an emergency failover. Pure.
func Runbook(p Pair) string {
	var b strings.Builder
	tandem := "tandem"
	if p.Kubeconfig != "" {
		tandem += " --kubeconfig " + p.Kubeconfig
	}
	router := p.Router
	if router == "" {
		router = "ROUTER_URL"
	}
	gates := ""
	if p.GateURL != "" {
		gates = " \\\n    --gate-http " + p.GateURL
		if p.GateHost != "" {
			gates += " --gate-host " + p.GateHost
		}
	}
	a, s := p.Active, p.Standby
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Runbook: %s ⇄ %s\n\n", a, s)
	w("Generated %s by tandem from the clusters' own records.\n\n", p.Generated.UTC().Format(time.RFC3339))
	w("| | %s | %s |\n|---|---|---|\n", a, s)
	w("| role | **active** | standby |\n| version | %s | %s |\n\n", orDash(p.ActiveVersion), orDash(p.StandbyVersion))
	w("Epoch %d. Router: `%s`.", p.Epoch, router)
	if p.LastDrill != nil {
		w(" Last drill: %s, %s.", p.LastDrill.Time.UTC().Format(time.RFC3339), p.LastDrill.Result)
	} else {
		w(" No drill recorded yet: run one (section 4) before you need it.")
	}
	w("\n\n")
	if len(p.Problems) > 0 {
		w("> **Fix before anything else:**\n")
		for _, pr := range p.Problems {
			w("> - %s\n", pr)
		}
		w("\n")
	}

	w("## 1. Checks before a switchover\n\n")
	w("```sh\n%s status --source %s --target %s --router '%s'\n```\n\n", tandem, a, s, router)
	w("- Both clusters reachable; the records agree (%s active, %s standby, same epoch).\n", a, s)
	w("- The router's observed weights send all traffic to %s.\n", a)
	w("- %s's workloads exist at 0 replicas (standby) and its mirror lag is low.\n", s)
	w("- Nobody holds the switchover lock (status shows the holder if someone does).\n\n")

	w("## 2. Switchover %s → %s\n\n", a, s)
	w("```sh\n%s switchover --source %s --target %s --to %s --router '%s' \\\n    --steps 0,5,25,50,100 --pause 30s%s\n```\n\n", tandem, a, s, s, router, gates)
	w("What it does, in order (each phase journaled; a re-run after a crash resumes):\n\n")
	w("1. Takes the switchover lock (a Lease in both clusters); a second switchover is refused with the holder's name.\n")
	w("2. Pauses the mirror into %s after its in-flight pass.\n", s)
	w("3. Last sync pass %s → %s in standby form.\n", a, s)
	w("4. Activates %s: standby policy removed, replicas restored exactly, waits until available.\n", s)
	w("5. Shifts traffic in gated steps; a failed gate sends everything back to %s at once.\n", a)
	w("6. Deactivates %s: workloads parked at 0 behind the standby policy.\n", a)
	w("7. Writes both records at epoch %d and releases the lock.\n\n", p.Epoch+1)
	w("Any failure undoes the phases already done, in reverse, and exits 1 saying so.\n\n")
	w("**Verify:** `%s status --source %s --target %s` shows %s active at epoch %d and the router sending it 100%%.\n\n", tandem, a, s, s, p.Epoch+1)

	w("## 3. Rollback\n\n")
	w("- During the shift: automatic (a failed gate). By hand, at once:\n\n")
	w("  ```sh\n  %s shift --router '%s' --from %s --to %s --rollback\n  ```\n\n", tandem, router, a, s)
	w("- An interrupted switchover (crash, Ctrl-C): re-run the same command to finish it, or undo it:\n\n")
	w("  ```sh\n  %s switchover --source %s --target %s --to %s --router '%s' --rollback\n  ```\n\n", tandem, a, s, s, router)
	w("- After a completed switchover: switch back (section 2 with the roles swapped):\n\n")
	w("  ```sh\n  %s switchover --source %s --target %s --to %s --router '%s'\n  ```\n\n", tandem, s, a, a, router)

	w("## 4. Drill (rehearse it, both ways, under load)\n\n")
	w("```sh\n%s drill --source %s --target %s --router '%s' --probe URL --probe-host HOST\n```\n\n", tandem, a, s, router)
	w("Switches to %s and back while a bounded load probe counts failed requests; writes a report (markdown and JSON) and records the result in both clusters.\n\n", s)

	w("## 5. Emergency failover (%s unreachable)\n\n", a)
	w("Only when %s cannot be reached and will not be soon. Traffic is moved without deactivating %s, and the record says why.\n\n", a, a)
	w("```sh\n%s switchover --source %s --target %s --to %s --router '%s' --source-unreachable --steps 100 --pause 10s\n```\n\n", tandem, a, s, s, router)
	w("Skipped and recorded: pausing the mirror, the last sync, deactivating %s. %s becomes active at epoch %d; %s keeps its old record, so its lower epoch loses.\n\n", a, s, p.Epoch+1, a)
	w("When %s is back:\n\n", a)
	w("1. `%s status --source %s --target %s` — %s is authoritative (higher epoch); %s is flagged as stale.\n", tandem, s, a, s, a)
	w("2. Park %s so it cannot take traffic or run jobs twice: `%s deactivate --cluster %s`.\n", a, tandem, a)
	w("3. Make it the standby of %s: `%s sync --source %s --target %s --standby`, then keep it in step with `%s mirror --source %s --target %s --standby`.\n", s, tandem, s, a, tandem, s, a)
	w("4. Drill before switching back.\n")
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
