package traffic

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// judge waits for wait, running every gate each GateEvery, and once more at the end.
// A DNS router's clients follow only after the TTL: gates are judged after it.
// A gate that cannot measure (ErrUnavailable) is tolerated for GateGrace
// from its first such check in a row, and the step does not end on it.
func (s *Shifter) judge(ctx context.Context, step Step, ttl, wait time.Duration, checks *int) (string, error) {
	every := s.GateEvery
	if every <= 0 {
		every = defaultEvery
	}
	grace := s.GateGrace
	if grace <= 0 {
		grace = defaultGateGrace
	}
	progressEvery := s.ProgressEvery
	if progressEvery <= 0 {
		progressEvery = 10 * time.Second
	}
	ttlEnd := time.Now().Add(ttl)
	end := time.Now().Add(wait)
	reported := time.Now()
	// Per gate (by index: names may repeat in a library caller's list), its
	// first check in a row that could not measure, and when that was said.
	blindSince := map[int]time.Time{}
	blindSaid := map[int]time.Time{}
	for {
		last := !time.Now().Before(end)
		if !last && time.Since(reported) >= progressEvery {
			reported = time.Now()
			s.emit(Event{Type: EventWaiting, Step: step.Index, Percent: step.Percent, Wait: time.Until(end), Checks: *checks})
		}
		var passed []string
		if len(s.Gates) > 0 && !time.Now().Before(ttlEnd) {
			*checks++
			for i, g := range s.Gates {
				err := g.Check(ctx)
				if ctx.Err() != nil {
					return "", ctx.Err()
				}
				if errors.Is(err, ErrUnavailable) {
					since, blind := blindSince[i]
					if !blind {
						since = time.Now()
						blindSince[i] = since
					}
					// Said once a minute at most: a source that answers
					// every other check starts a new streak each time.
					if time.Since(blindSaid[i]) >= time.Minute {
						blindSaid[i] = time.Now()
						s.emit(Event{Type: EventGateBlind, Step: step.Index, Percent: step.Percent, Gate: g.Name(), Err: err.Error(), Wait: grace})
					}
					if time.Since(since) < grace {
						continue
					}
					err = fmt.Errorf("%w (for %s, the gate grace)", err, time.Since(since).Round(time.Second))
				}
				if err != nil {
					s.emit(Event{Type: EventGate, Step: step.Index, Percent: step.Percent, Gate: g.Name(), Err: err.Error()})
					return g.Name(), fmt.Errorf("%w: %s: %v", ErrGateFailed, g.Name(), err)
				}
				delete(blindSince, i)
				passed = append(passed, g.Name())
			}
		}
		if last && len(blindSince) == 0 {
			for _, name := range passed {
				s.emit(Event{Type: EventGate, Step: step.Index, Percent: step.Percent, Gate: name})
			}
			return "", nil
		}
		d := every
		if !last {
			d = min(every, time.Until(end))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(max(d, 0)):
		}
	}
}

// defaultGateGrace is how long a gate may be unable to measure by default:
// a Prometheus restarted or rescheduled is back within it.
const defaultGateGrace = 30 * time.Second
