package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ErrBadInput marks errors caused by what the user gave (exit code 2).
var ErrBadInput = errors.New("bad input")

// UnreachableTimeout bounds how long connecting to an apiserver may take.
const UnreachableTimeout = 10 * time.Second

// Conn is a connection to one cluster.
type Conn struct {
	Context string
	Server  string
	Config  *rest.Config
	Dynamic dynamic.Interface
	// Metadata reads and writes objects whose answers carry only their
	// metadata (PartialObjectMetadata, protobuf): for writes whose caller
	// needs no more of the object back than its identity.
	Metadata metadata.Interface
	// REST sends the requests no client above has a method for, each with
	// its whole path (ResourcePath) and its own Accept: a create answered
	// with the object's metadata only (pkg/apply), a list read as JSON and
	// decoded in one pass (inventory.List). Its decoder is the metadata
	// client's: PartialObjectMetadata, and the Status of an error.
	REST      rest.Interface
	Typed     kubernetes.Interface
	Discovery discovery.CachedDiscoveryInterface
	Mapper    *restmapper.DeferredDiscoveryRESTMapper
}

// KubeconfigPath returns the kubeconfig file to use: the flag, then
// $KUBECONFIG, then ~/.kube/config.
func KubeconfigPath(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return env
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}

// LoadConfig reads the kubeconfig (paths may be a $KUBECONFIG-style list) and
// reports a missing file as bad input.
func LoadConfig(path string) (*clientcmdapi.Config, error) {
	paths := filepath.SplitList(path)
	var existing []string
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			existing = append(existing, p)
		}
	}
	if len(existing) == 0 {
		return nil, fmt.Errorf("%w: kubeconfig %q not found: pass --kubeconfig, set $KUBECONFIG, or run `tandem lab up` and `eval $(tandem lab env)`", ErrBadInput, path)
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: existing}
	cfg, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("%w: kubeconfig %q: %v", ErrBadInput, path, err)
	}
	return cfg, nil
}

// Contexts lists the context names of a kubeconfig, sorted.
func Contexts(cfg *clientcmdapi.Config) []string {
	var names []string
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Connect builds a connection for a context of the kubeconfig at path with
// DefaultClientOptions. An empty context means the kubeconfig's current
// context. It does not contact the server; call Check for that.
func Connect(path, contextName string) (*Conn, error) {
	return ConnectWith(path, contextName, DefaultClientOptions())
}

// ConnectWith is Connect with the given client options.
func ConnectWith(path, contextName string, opts ClientOptions) (*Conn, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	raw, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	if contextName == "" {
		return nil, fmt.Errorf("%w: no context given and the kubeconfig has no current context; known contexts: %s", ErrBadInput, strings.Join(Contexts(raw), ", "))
	}
	if _, ok := raw.Contexts[contextName]; !ok {
		return nil, fmt.Errorf("%w: context %q not in kubeconfig %s; known contexts: %s", ErrBadInput, contextName, path, strings.Join(Contexts(raw), ", "))
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*raw, contextName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: context %q: %v", ErrBadInput, contextName, err)
	}
	return NewConnWith(contextName, rc, opts)
}

// NewConn builds a connection from a REST config with DefaultClientOptions.
func NewConn(name string, rc *rest.Config) (*Conn, error) {
	return NewConnWith(name, rc, DefaultClientOptions())
}

// NewConnWith builds a connection from a copy of rc with opts applied.
func NewConnWith(name string, rc *rest.Config, opts ClientOptions) (*Conn, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	opts.apply(rc)
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", name, err)
	}
	typed, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", name, err)
	}
	meta, err := metadata.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", name, err)
	}
	mc := metadata.ConfigFor(rc)
	mc.GroupVersion, mc.APIPath = &schema.GroupVersion{}, "/" // every request gives its whole path
	metaREST, err := rest.RESTClientFor(mc)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", name, err)
	}
	disc := memory.NewMemCacheClient(typed.Discovery())
	return &Conn{
		Context:   name,
		Server:    rc.Host,
		Config:    rc,
		Dynamic:   dyn,
		Metadata:  meta,
		REST:      metaREST,
		Typed:     typed,
		Discovery: disc,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(disc),
	}, nil
}

// Check contacts the server within UnreachableTimeout and returns its
// version; an unreachable server is bad input naming the URL.
func (c *Conn) Check(ctx context.Context) (*version.Info, error) {
	ctx, cancel := context.WithTimeout(ctx, UnreachableTimeout)
	defer cancel()
	rc := rest.CopyConfig(c.Config)
	if rc.Timeout == 0 || rc.Timeout > UnreachableTimeout {
		rc.Timeout = UnreachableTimeout
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, c.describeErr(err)
	}
	var v version.Info
	if err := jsonUnmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("context %q: %s/version: %w", c.Context, c.Server, err)
	}
	return &v, nil
}

func (c *Conn) describeErr(err error) error {
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || utilnet.IsConnectionRefused(err) {
		return fmt.Errorf("%w: context %q: server %s unreachable: %v", ErrBadInput, c.Context, c.Server, rootCause(err))
	}
	return fmt.Errorf("context %q: server %s: %w", c.Context, c.Server, err)
}

func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// Identity is a stable identity of the cluster: the UID of the kube-system
// namespace, which lives as long as the cluster's etcd data.
func (c *Conn) Identity(ctx context.Context) (string, error) {
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if apierrors.IsForbidden(err) {
		// A namespace's admin, not the cluster's: tandem reads and writes
		// every kind a copy needs, cluster-scoped ones among them.
		return "", fmt.Errorf("%w: context %q: %v; tandem identifies a cluster by its kube-system Namespace and needs a cluster administrator's rights (README, Permissions)", ErrBadInput, c.Context, rootCause(err))
	}
	if err != nil {
		return "", c.describeErr(err)
	}
	return string(ns.UID), nil
}

// ResourceFor maps a GroupVersionKind to its resource and scope.
func (c *Conn) ResourceFor(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

// Refresh drops cached discovery, e.g. after CRDs were created.
func (c *Conn) Refresh() {
	c.Discovery.Invalidate()
	c.Mapper.Reset()
}

// Distinct refuses a source and target that are the same cluster.
func Distinct(ctx context.Context, source, target *Conn) error {
	a, err := source.Identity(ctx)
	if err != nil {
		return err
	}
	b, err := target.Identity(ctx)
	if err != nil {
		return err
	}
	if a == b {
		return fmt.Errorf("%w: source %q and target %q are the same cluster (kube-system uid %s): pick two different clusters", ErrBadInput, source.Context, target.Context, a)
	}
	return nil
}

// ResourcePath is the path of a resource's collection, in namespace when it
// is not "": /api/v1/namespaces/shop/configmaps, /apis/apps/v1/deployments.
func ResourcePath(gvr schema.GroupVersionResource, namespace string) []string {
	path := []string{"api"}
	if gvr.Group != "" {
		path = []string{"apis", gvr.Group}
	}
	path = append(path, gvr.Version)
	if namespace != "" {
		path = append(path, "namespaces", namespace)
	}
	return append(path, gvr.Resource)
}

// Scoped is a resource's client (dynamic or metadata) for one object: in
// namespace when the resource is namespaced, cluster-wide when it is not (a
// namespace a cluster-scoped reference carries is not used).
func Scoped[R any](ri interface{ Namespace(string) R }, namespaced bool, namespace string) R {
	if !namespaced {
		namespace = "" // the clients' Namespace("") is the cluster-wide path
	}
	return ri.Namespace(namespace)
}
