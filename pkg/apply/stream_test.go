package apply

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tandem-io/tandem/pkg/plan"
)

// The stream's order and bookkeeping, with steps that need no target:
// Skip and Unchanged (nothing foreign) are decided without a request.

// events records what a run tells its Events, in order.
type events struct {
	mu    sync.Mutex
	log   []string
	kinds []string // ObjectDone's objects (kind and name), in order
}

func (e *events) WaveStarted(w plan.Wave, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, fmt.Sprintf("start %s %d", w.Name, n))
}

func (e *events) ObjectDone(r Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kinds = append(e.kinds, r.Kind+" "+r.Name)
}

func (e *events) WaveDone(w plan.Wave, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, fmt.Sprintf("done %s %d", w.Name, n))
}

func step(apiVersion, kind, ns, name string, action plan.Action, owners ...metav1.OwnerReference) plan.Step {
	return plan.Step{Item: plan.Item{Ref: plan.Ref{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, Owners: owners}}, Action: action}
}

var (
	gkNamespace  = schema.GroupKind{Kind: "Namespace"}
	gkConfigMap  = schema.GroupKind{Kind: "ConfigMap"}
	gkDeployment = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	gkWebhook    = schema.GroupKind{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}
)

func TestStreamWritesWavesInOrderAsStepsCome(t *testing.T) {
	ev := &events{}
	ss := NewSession(nil, Options{Workers: 4, Events: ev})
	st := ss.NewStream()
	for _, gk := range []schema.GroupKind{gkWebhook, gkDeployment, gkDeployment, gkConfigMap, gkConfigMap, gkConfigMap, gkNamespace} {
		st.Expect(gk)
	}
	owner := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "a"}
	st.WantOwners("shop", []metav1.OwnerReference{owner})
	st.Start(context.Background())
	// Out of wave order, as parallel preparers may hand them over.
	st.Add(step("apps/v1", "Deployment", "shop", "web", plan.Skip))
	st.Add(step("v1", "ConfigMap", "shop", "c", plan.Unchanged, owner))
	st.Add(step("v1", "ConfigMap", "shop", "b", plan.Skip))
	st.Add(step("v1", "Namespace", "", "shop", plan.Unchanged))
	st.Drop(gkDeployment)
	st.Add(step("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", "hook", plan.Skip))
	st.Add(step("v1", "ConfigMap", "shop", "a", plan.Skip))
	if err := st.Wait(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ss.Results() {
		got = append(got, r.Wave+" "+r.Kind+" "+r.Name+" "+string(r.Status))
	}
	want := []string{
		"namespaces Namespace shop unchanged",
		"config ConfigMap a skipped", "config ConfigMap b skipped", "config ConfigMap c unchanged",
		"workloads Deployment web skipped",
		"admission ValidatingWebhookConfiguration hook skipped",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results:\n got %q\nwant %q", got, want)
	}
	wantLog := []string{"start namespaces 1", "done namespaces 1", "start config 3", "done config 3",
		"start workloads 2", "done workloads 1", "start admission 1", "done admission 1"}
	// A wave starts with the steps it still expects: the Drop may have come first.
	if len(ev.log) > 4 && ev.log[4] == "start workloads 1" {
		wantLog[4] = "start workloads 1"
	}
	if !slices.Equal(ev.log, wantLog) {
		t.Errorf("events:\n got %q\nwant %q", ev.log, wantLog)
	}
	// The owned ConfigMap is written after the wave's others.
	if len(ev.kinds) != 6 || ev.kinds[3] != "ConfigMap c" {
		t.Errorf("objects done in the order %q", ev.kinds)
	}
}

func TestStreamHoldsABoundedNumberOfLaterSteps(t *testing.T) {
	ss := NewSession(nil, Options{Workers: 2})
	st := ss.NewStream()
	st.Expect(gkConfigMap)
	for range streamHeld + 1 {
		st.Expect(gkDeployment)
	}
	st.Start(context.Background())
	for i := range streamHeld {
		st.Add(step("apps/v1", "Deployment", "shop", fmt.Sprint(i), plan.Skip))
	}
	added := make(chan struct{})
	go func() {
		st.Add(step("apps/v1", "Deployment", "shop", "last", plan.Skip))
		close(added)
	}()
	select {
	case <-added:
		t.Fatalf("a later wave's step was taken while %d of them waited for the config wave", streamHeld)
	case <-time.After(200 * time.Millisecond):
	}
	st.Add(step("v1", "ConfigMap", "shop", "a", plan.Skip))
	<-added // the config wave done, the workloads wave takes them
	if err := st.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := len(ss.Results()); n != streamHeld+2 {
		t.Errorf("%d results, want %d", n, streamHeld+2)
	}
}

func TestStreamStopsWhenCancelled(t *testing.T) {
	ss := NewSession(nil, Options{Workers: 2})
	st := ss.NewStream()
	st.Expect(gkConfigMap)
	st.Expect(gkConfigMap)
	ctx, cancel := context.WithCancel(context.Background())
	st.Start(ctx)
	st.Add(step("v1", "ConfigMap", "shop", "a", plan.Skip))
	select {
	case <-st.Done():
		t.Fatal("Done before the writing ended")
	default:
	}
	cancel() // the second never comes
	if err := st.Wait(); err != context.Canceled {
		t.Fatalf("Wait: %v, want context.Canceled", err)
	}
	select {
	case <-st.Done(): // a caller still deciding steps may stop
	default:
		t.Error("Done is not closed once the writing stopped")
	}
	if n := len(ss.Results()); n > 1 {
		t.Errorf("%d results of 1 step", n)
	}
}

func TestStreamRefusesAnUnexpectedStep(t *testing.T) {
	st := NewSession(nil, Options{}).NewStream()
	defer func() {
		if recover() == nil {
			t.Error("Add of an object never expected did not panic: its step would never be written")
		}
	}()
	st.Add(step("v1", "ConfigMap", "shop", "a", plan.Skip))
}

// stall is Events whose ObjectDone waits until resume is closed: a writer
// slower than its caller.
type stall struct {
	NoEvents
	resume chan struct{}
}

func (s stall) ObjectDone(Result) { <-s.resume }

func TestStreamHoldsABoundedNumberOfTheCurrentWave(t *testing.T) {
	ev := stall{resume: make(chan struct{})}
	ss := NewSession(nil, Options{Workers: 1, Events: ev})
	st := ss.NewStream()
	total := 3 * streamHeld
	for range total {
		st.Expect(gkConfigMap)
	}
	st.Start(context.Background())
	added := make(chan int)
	go func() {
		for i := range total {
			st.Add(step("v1", "ConfigMap", "shop", fmt.Sprint(i), plan.Skip))
			added <- i
		}
		close(added)
	}()
	n := 0
	for waiting := true; waiting; {
		select {
		case <-added:
			n++
		case <-time.After(300 * time.Millisecond):
			waiting = false
		}
	}
	// Held: streamHeld; taken by the writer and not yet written: at most
	// the batch it took (streamHeld) and the one being written.
	if n < streamHeld || n > 2*streamHeld+1 {
		t.Fatalf("%d steps of the wave taken while the writer was stalled, want %d to %d", n, streamHeld, 2*streamHeld+1)
	}
	close(ev.resume)
	for range added {
		n++
	}
	if err := st.Wait(); err != nil {
		t.Fatal(err)
	}
	if n != total || len(ss.Results()) != total {
		t.Errorf("%d added, %d results, want %d", n, len(ss.Results()), total)
	}
}
