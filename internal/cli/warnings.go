package cli

import (
	"fmt"
	"io"
	"sync"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// maxWarnings bounds the distinct warnings shown per context without -v.
const maxWarnings = 20

// warningSet holds one collector per context, so a context opened twice
// (status, a standby's peer) still shows each warning once.
type warningSet struct {
	mu        sync.Mutex
	byContext map[string]*cluster.Warnings
	order     []*cluster.Warnings
}

func (s *warningSet) forContext(name string, onFirst func(cluster.Warning)) *cluster.Warnings {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.byContext[name]; ok {
		return w
	}
	if s.byContext == nil {
		s.byContext = map[string]*cluster.Warnings{}
	}
	w := cluster.NewWarnings(name, onFirst)
	s.byContext[name] = w
	s.order = append(s.order, w)
	return w
}

// all lists every context's warnings, contexts in the order first opened.
func (s *warningSet) all() []cluster.Warning {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []cluster.Warning
	for _, w := range s.order {
		out = append(out, w.List()...)
	}
	return out
}

// logWarning shows a warning live at -vv (a long mirror run ends late).
func (g *Global) logWarning(w cluster.Warning) {
	if g.Log != nil {
		g.Log.Debug("apiserver warning", "context", w.Context, "warning", w.Text)
	}
}

// printWarnings writes each distinct warning once per context, prefixed
// with the context. Without -v it shows only warnings on writes — about the
// objects tandem writes — and at most maxWarnings per context: warnings on
// tandem's own reads (walking every resource LISTs v1 ComponentStatus and,
// on v1.33+, v1 Endpoints) say nothing about the user's cluster, and the
// plan's deprecated check reports what sync would write at deprecated versions.
func printWarnings(out io.Writer, ws []cluster.Warning, verbose int) {
	shown, hidden := map[string]int{}, map[string]int{}
	var contexts []string
	for _, w := range ws {
		if !w.Write && verbose == 0 {
			continue
		}
		if _, ok := shown[w.Context]; !ok {
			contexts = append(contexts, w.Context)
			shown[w.Context] = 0
		}
		if shown[w.Context] == maxWarnings && verbose == 0 {
			hidden[w.Context]++
			continue
		}
		shown[w.Context]++
		line := fmt.Sprintf("warning (%s): %s", w.Context, w.Text)
		if w.Count > 1 {
			line += fmt.Sprintf(" (%d times)", w.Count)
		}
		fmt.Fprintln(out, line)
	}
	for _, c := range contexts {
		if hidden[c] > 0 {
			fmt.Fprintf(out, "warning (%s): %d more distinct warnings not shown (-v shows all)\n", c, hidden[c])
		}
	}
}
