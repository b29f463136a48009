package traffic

import "time"

// EventType names a moment of a shift.
type EventType string

// The events a Shifter reports.
const (
	EventResumed   EventType = "resumed"    // an interrupted run goes on; the steps it did are skipped
	EventSmoke     EventType = "smoke"      // the target answered (or not) before any weight
	EventStepStart EventType = "step-start" // weights are about to be set
	EventVerified  EventType = "verified"   // the router reports the step's weights
	EventPause     EventType = "pause"      // waiting (pause and TTL), gates run throughout
	EventWaiting   EventType = "waiting"    // still in the pause: Wait is the time left
	EventGate      EventType = "gate"       // one gate's result
	// EventGateBlind: a gate could not measure (ErrUnavailable); it is
	// tolerated for Wait (the gate grace), and the step does not end on it.
	EventGateBlind  EventType = "gate-unavailable"
	EventStepDone   EventType = "step-done"   // the step passed
	EventRollback   EventType = "rollback"    // back to the last safe weights
	EventRolledBack EventType = "rolled-back" // the safe weights are verified
)

// Event is one progress report of a Shifter.
type Event struct {
	Type    EventType     `json:"type"`
	Time    time.Time     `json:"time"`
	Step    int           `json:"step"` // index of the step, -1 when not about one
	Percent int           `json:"percent"`
	Weights Weights       `json:"weights,omitempty"`
	Gate    string        `json:"gate,omitempty"`
	Err     string        `json:"error,omitempty"`
	Wait    time.Duration `json:"wait,omitempty"`   // pause (plus TTL) for EventPause, time left for EventWaiting; time taken otherwise
	Checks  int           `json:"checks,omitempty"` // gate rounds passed so far (EventWaiting)
	Run     string        `json:"run,omitempty"`    // the journal run resumed (EventResumed), with a JournalPath
	Done    int           `json:"done,omitempty"`   // steps that run had done (EventResumed)
	// Observed is the share each cluster served during the pause (EventStepDone), when the router counts it.
	Observed map[string]map[string]float64 `json:"observed,omitempty"`
}

// Observer receives a Shifter's events; the CLI draws them.
type Observer interface {
	Event(e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(e Event)

// Event implements Observer.
func (f ObserverFunc) Event(e Event) { f(e) }
