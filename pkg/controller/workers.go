package controller

import (
	"context"
	"sync"
)

// workers runs the long work of the reconcilers — a mirror, a switchover, a
// drill — as goroutines that live as long as this replica leads (it is a
// manager Runnable that needs leader election): a reconcile starts a job by
// key and returns at once; the next reconcile sees it running.
type workers struct {
	start chan *job

	mu   sync.Mutex
	jobs map[string]*job
}

type job struct {
	key    string
	run    func(ctx context.Context)
	cancel context.CancelFunc
	done   chan struct{}
	// note is what the reconciler keeps about the job (a direction, a flag).
	note any
	// cancelled before it started: it never runs.
	cancelled bool
}

func newWorkers() *workers {
	return &workers{start: make(chan *job), jobs: map[string]*job{}}
}

// Start implements manager.Runnable: it runs the jobs until ctx ends, then
// cancels them and waits for them.
func (w *workers) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for {
		select {
		case j := <-w.start:
			jctx, cancel := context.WithCancel(ctx)
			w.mu.Lock()
			j.cancel = cancel
			if j.cancelled {
				cancel()
			}
			w.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(j.done)
				defer func() {
					w.mu.Lock()
					if w.jobs[j.key] == j {
						delete(w.jobs, j.key)
					}
					w.mu.Unlock()
				}()
				j.run(jctx)
			}()
		case <-ctx.Done():
			w.mu.Lock()
			for _, j := range w.jobs {
				if j.cancel != nil {
					j.cancel()
				}
			}
			w.mu.Unlock()
			wg.Wait()
			return nil
		}
	}
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (w *workers) NeedLeaderElection() bool { return true }

// Go starts run under key unless a job of that key runs; it says whether it started one.
func (w *workers) Go(ctx context.Context, key string, note any, run func(ctx context.Context)) bool {
	w.mu.Lock()
	if _, ok := w.jobs[key]; ok {
		w.mu.Unlock()
		return false
	}
	j := &job{key: key, run: run, done: make(chan struct{}), note: note}
	w.jobs[key] = j
	w.mu.Unlock()
	select {
	case w.start <- j:
		return true
	case <-ctx.Done():
		w.mu.Lock()
		delete(w.jobs, key)
		w.mu.Unlock()
		return false
	}
}

// Get returns the running job of key.
func (w *workers) Get(key string) (*job, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	j, ok := w.jobs[key]
	return j, ok
}

// Stop cancels the job of key (if any) and waits until it has ended.
func (w *workers) Stop(key string) {
	if j := w.Cancel(key); j != nil {
		<-j.done
	}
}

// Cancel cancels the job of key without waiting; it returns the job, nil when none runs.
func (w *workers) Cancel(key string) *job {
	w.mu.Lock()
	defer w.mu.Unlock()
	j, ok := w.jobs[key]
	if !ok {
		return nil
	}
	j.cancelled = true
	if j.cancel != nil {
		j.cancel()
	}
	return j
}
