package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers"
)

// openRouter opens the Router a URL names (pkg/traffic/providers) with the
// command's context; what a router does beyond weights is said on stderr.
func openRouter(ctx context.Context, g *Global, raw string) (traffic.Router, error) {
	return openRouterWith(ctx, g, raw, providers.Options{})
}

// openRouterWith is openRouter with the options a shift's flags set (o's
// Notice and Connect are the command's).
func openRouterWith(ctx context.Context, g *Global, raw string, o providers.Options) (traffic.Router, error) {
	if raw == "" {
		return nil, badInput("no router: pass --router URL, e.g. haproxy:///run/haproxy.sock?backend=clusters")
	}
	r, err := providers.Open(ctx, raw, providers.Options{
		FixTTL: o.FixTTL,
		Notice: func(s string) { fmt.Fprintln(g.Err, s) },
		Connect: func(name string) (*cluster.Conn, error) {
			c, err := g.connect(name, "cluster")
			if err != nil {
				return nil, err
			}
			if _, err := c.Check(ctx); err != nil {
				return nil, err
			}
			return c, nil
		},
	})
	if err != nil {
		return nil, inputErr("--router", err)
	}
	return r, nil
}

// observe reads the router's weights; a router that cannot be reached is a
// --router the user must fix.
func observe(ctx context.Context, r traffic.Router, raw string) (traffic.Weights, error) {
	w, err := r.Observe(ctx)
	if err != nil {
		return nil, badInput("--router %s: %v", raw, err)
	}
	return w, nil
}

// routerPreflight prints what a router that can tell (traffic.Preflighter) says
// would make the split go wrong.
func routerPreflight(ctx context.Context, w io.Writer, r traffic.Router) error {
	p, ok := r.(traffic.Preflighter)
	if !ok {
		return nil
	}
	lines, err := p.Preflight(ctx)
	if err != nil {
		return inputErr("--router", err)
	}
	for _, l := range lines {
		fmt.Fprintln(w, "preflight: "+l)
	}
	return nil
}

// inputErr turns traffic's validation errors into one line and exit 2.
func inputErr(what string, err error) error {
	if errors.Is(err, traffic.ErrInvalid) {
		return badInput("%s: %s", what, strings.TrimPrefix(err.Error(), traffic.ErrInvalid.Error()+": "))
	}
	return err
}
