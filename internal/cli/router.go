package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers"
)

// newRouter opens the Router a URL names (pkg/traffic/providers); what a
// router does beyond weights is said on stderr.
func newRouter(g *Global, raw string) (traffic.Router, error) {
	if raw == "" {
		return nil, badInput("no router: pass --router URL, e.g. haproxy:///run/haproxy.sock?backend=clusters")
	}
	r, err := providers.Open(context.Background(), raw, providers.Options{
		Notice: func(s string) { fmt.Fprintln(g.Err, s) },
		Connect: func(name string) (*cluster.Conn, error) {
			c, err := g.connect(name, "cluster")
			if err != nil {
				return nil, err
			}
			if _, err := c.Check(context.Background()); err != nil {
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

// inputErr turns traffic's validation errors into one line and exit 2.
func inputErr(what string, err error) error {
	if errors.Is(err, traffic.ErrInvalid) {
		return badInput("%s: %s", what, strings.TrimPrefix(err.Error(), traffic.ErrInvalid.Error()+": "))
	}
	return err
}

// routerKey names a router's journal: one shift at a time per router.
func routerKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:6])
}
