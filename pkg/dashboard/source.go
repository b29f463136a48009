package dashboard

import (
	"context"
	"time"

	"github.com/tandem-io/tandem/pkg/pair"
	"github.com/tandem-io/tandem/pkg/switchover"
	"github.com/tandem-io/tandem/pkg/traffic"
)

// Source is what the dashboard shows, pair by pair.
type Source interface {
	// Pairs names the pairs there are.
	Pairs(ctx context.Context) ([]string, error)
	// Status is the pair as `tandem status` reports it.
	Status(ctx context.Context, name string) (*pair.Status, error)
	// Weights are the router's weights now (fast: read more often than Status).
	Weights(ctx context.Context, name string) (traffic.Weights, error)
	// Run is the running (or last) switchover or drill, nil when none.
	Run(ctx context.Context, name string) (*Run, error)
	// Drills are the last drills' reports, newest first.
	Drills(ctx context.Context, name string) ([]switchover.DrillReport, error)
}

// Actor does what the page's buttons ask (only with --allow-actions).
type Actor interface {
	// RollBack sends all traffic to the active cluster and verifies it.
	RollBack(ctx context.Context, name string) error
	// StartDrill starts a drill of the pair and returns at once.
	StartDrill(ctx context.Context, name string) (string, error)
}

// Run is a switchover or drill as its journal tells it.
type Run struct {
	Kind    string    `json:"kind"` // "switchover" or "drill"
	Name    string    `json:"name"` // the run id or the resource
	From    string    `json:"from"`
	To      string    `json:"to"`
	Running bool      `json:"running"`
	Result  string    `json:"result,omitempty"`
	Phases  []Phase   `json:"phases"`
	Steps   []Step    `json:"steps,omitempty"` // of the shift phase
	Updated time.Time `json:"updated"`
}

// Phase is one phase of a run.
type Phase struct {
	Name   string `json:"name"`
	Result string `json:"result"` // running, ok, skipped: …, failed: …
}

// Step is one step of the traffic shift.
type Step struct {
	Key    string `json:"key"` // step-25
	Result string `json:"result"`
}

// Point is one sample of the charts.
type Point struct {
	Time    time.Time      `json:"t"`
	Weights map[string]int `json:"weights,omitempty"` // cluster → percent, summed over the routes
	LagP99  float64        `json:"lagP99"`            // seconds, the mirror into the standby
	Events  float64        `json:"eventsPerSecond"`
}
