package syncer

import (
	"context"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// Collect is a Sink that writes nothing: it keeps the steps it is given,
// for a dry run to print (Plan). It holds every step, as a dry run's
// report does.
type Collect struct {
	mu     sync.Mutex
	byWave [plan.NumWaves][]plan.Step
	done   chan struct{} // never closed: a dry run takes every step
}

// NewCollect is an empty Collect.
func NewCollect() *Collect { return &Collect{done: make(chan struct{})} }

// Expect, WantOwners, Start and Drop are a Sink's; a dry run needs none.
func (c *Collect) Expect(schema.GroupKind)                    {}
func (c *Collect) WantOwners(string, []metav1.OwnerReference) {}
func (c *Collect) Start(context.Context)                      {}
func (c *Collect) Drop(schema.GroupKind)                      {}

// Add keeps s in its wave.
func (c *Collect) Add(s plan.Step) {
	i, _ := plan.WaveOf(s.Ref.GroupVersionKind().GroupKind())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byWave[i] = append(c.byWave[i], s)
}

// Wait returns at once: nothing is written.
func (c *Collect) Wait() error { return nil }

// Done is never closed.
func (c *Collect) Done() <-chan struct{} { return c.done }

// Plan is the steps added, wave by wave, sorted as a plan's are.
func (c *Collect) Plan() plan.Plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p plan.Plan
	for i, steps := range c.byWave {
		if len(steps) == 0 {
			continue
		}
		slices.SortStableFunc(steps, plan.CompareSteps)
		p.Waves = append(p.Waves, plan.Wave{Index: i, Name: plan.WaveName(i), Steps: steps})
	}
	return p
}
