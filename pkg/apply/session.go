package apply

import (
	"context"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/plan"
)

// Session applies plans into one target one after another as parts of one
// run: what an earlier plan wrote (the UIDs its objects got, for the owner
// references of later ones; the failures that outlasted their retries) is
// known to the plans after it. A sync applies the cluster-scoped start of
// its plan while it still reads the rest.
type Session struct {
	r *runner
	// results are every plan's, in order, as records (records.go).
	results records
}

// NewSession starts a session; o is as for Run.
func NewSession(target *cluster.Conn, o Options) *Session {
	o.defaults()
	return &Session{r: &runner{target: target, o: o, owners: newOwnerIndex(), exhausted: exhausted{}}}
}

// Results are the results of every plan the session ran, in order.
func (ss *Session) Results() []Result { return ss.results.from(0) }

// Run applies one plan, as the package's Run does, and returns its results.
func (ss *Session) Run(ctx context.Context, p plan.Plan) ([]Result, error) {
	ss.r.owners.seed(p)
	start := ss.results.len()
	for _, w := range p.Waves {
		if err := ss.runWave(ctx, w); err != nil {
			return ss.results.from(start), err
		}
	}
	err := ss.relink(ctx)
	return ss.results.from(start), err
}

// runWave applies one whole wave; its results go after the session's.
// They are held whole until the wave is done, as its steps are.
func (ss *Session) runWave(ctx context.Context, w plan.Wave) error {
	r, o, target := ss.r, ss.r.o, ss.r.target
	results := make([]Result, 0, len(w.Steps))
	defer func() { ss.results.add(results) }()
	o.Events.WaveStarted(w, len(w.Steps))
	var blocked map[int]string
	if w.Index == plan.WaveAdmission || w.Index == plan.WaveAPIServices {
		blocked = r.waitBackends(ctx, w)
	}
	// Objects with owners go after the rest of their wave, so their owners' target UIDs are known.
	first, second := splitByOwners(w.Steps)
	for _, batch := range [][]int{first, second} {
		n := len(results)
		results = results[:n+len(batch)]
		if err := r.applyBatch(ctx, w, batch, blocked, func(at int, res Result) { results[n+at] = res }); err != nil {
			return err
		}
	}
	if w.Index == plan.WaveCRDs {
		r.waitEstablished(ctx, w, results)
		target.Refresh()
	}
	if w.Index == plan.WaveAPIServices && o.CheckAvailable {
		r.checkAvailable(ctx, results)
	}
	o.Events.WaveDone(w, len(w.Steps))
	return nil
}

func splitByOwners(steps []plan.Step) (first, second []int) {
	for i, s := range steps {
		if len(s.Ref.Owners) > 0 {
			second = append(second, i)
		} else {
			first = append(first, i)
		}
	}
	return first, second
}
