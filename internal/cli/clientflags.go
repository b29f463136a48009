package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/tandem-io/tandem/pkg/cluster"
)

// clientFlags are the settings of the clients of every context: tandem's
// --qps and --burst, and kubectl's --request-timeout, --as and --as-group.
//
// kubectl's three come from genericclioptions.ConfigFlags, so their names,
// help and the parsing of --request-timeout are kubectl's own. Only those
// fields are set: ConfigFlags turns into the rest.Config of ONE context (its
// ToRESTConfig follows --context), while tandem opens a source and a target
// context of one kubeconfig (and, for some verbs, a peer). So the values
// become one cluster.ClientOptions that pkg/cluster applies to each context's
// rest.Config alike, the way kubectl's overrides would.
type clientFlags struct {
	qps   float32
	burst int
	kube  *genericclioptions.ConfigFlags
}

func newClientFlags() *clientFlags {
	return &clientFlags{
		qps:   cluster.DefaultQPS,
		burst: cluster.DefaultBurst,
		kube: &genericclioptions.ConfigFlags{
			Timeout:          ptr.To("0"),
			Impersonate:      ptr.To(""),
			ImpersonateGroup: &[]string{},
		},
	}
}

// addFlags registers the flags as persistent flags of cmd.
func (f *clientFlags) addFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.Float32Var(&f.qps, "qps", f.qps, "client-side limit of requests per second to each apiserver (-1, the default: none; the apiserver's priority and fairness throttles, with 429 and Retry-After, which tandem honours)")
	pf.IntVar(&f.burst, "burst", f.burst, "most requests sent to each apiserver at once before --qps paces them")
	f.kube.AddFlags(pf)
}

// options turns the flags into client options; bad values are bad input.
func (f *clientFlags) options() (cluster.ClientOptions, error) {
	o := cluster.ClientOptions{QPS: f.qps, Burst: f.burst}
	if f.kube.Impersonate != nil {
		o.Impersonate = *f.kube.Impersonate
	}
	if f.kube.ImpersonateGroup != nil {
		o.ImpersonateGroups = *f.kube.ImpersonateGroup
	}
	if f.kube.Timeout != nil && *f.kube.Timeout != "" {
		t, err := clientcmd.ParseTimeout(*f.kube.Timeout)
		if err != nil {
			return o, badInput("--request-timeout %q: want 0 (no limit), whole seconds, or a duration such as 30s or 2m", *f.kube.Timeout)
		}
		o.Timeout = t
	}
	return o, o.Validate()
}

// clientOptions are the options for a connection to contextName: the flags
// (defaults when g was built without NewRoot, as in tests), and the
// collector of that context's apiserver warnings.
func (g *Global) clientOptions(contextName string) (cluster.ClientOptions, error) {
	o := cluster.DefaultClientOptions()
	if g.client != nil {
		var err error
		if o, err = g.client.options(); err != nil {
			return o, err
		}
	}
	if g.warnings != nil {
		o.Warnings = g.warnings.forContext(contextName, g.logWarning)
	}
	return o, nil
}
