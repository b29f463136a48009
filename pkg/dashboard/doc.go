// Package dashboard serves a page per cluster pair — both clusters side by
// side, who is active, the router's weights and the mirror's lag over the
// last hour, the running switchover or drill with its phases, the last
// drills — and a JSON API under /api/ with the structures of `tandem status
// -o json` and the drill reports, live over Server-Sent Events. The page is
// embedded (go:embed) and needs no network beyond the dashboard itself.
//
// A Source says what there is to show: Local reads two clusters and a
// router as the CLI does; the controller has one of its own for every
// ClusterPair it reconciles. Actions (roll the traffic back to the active
// cluster, start a drill) are served only when asked for, behind a token.
package dashboard
