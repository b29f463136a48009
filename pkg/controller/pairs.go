package controller

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tandemv1 "github.com/tandem-io/tandem/api/v1alpha1"
	"github.com/tandem-io/tandem/pkg/cluster"
	"github.com/tandem-io/tandem/pkg/traffic"
	"github.com/tandem-io/tandem/pkg/traffic/providers"
)

// Reasons of a Valid=False condition: what is wrong with a resource's spec
// or what it refers to.
const (
	ReasonPairNotFound      = "PairNotFound"
	ReasonSecretNotFound    = "SecretNotFound"
	ReasonKubeconfigMissing = "KubeconfigMissing"
	ReasonKubeconfigInvalid = "KubeconfigInvalid"
	ReasonUnknownCluster    = "UnknownCluster"
	ReasonInvalidSpec       = "InvalidSpec"
	ReasonOtherShard        = "OtherShard"
)

// specError is a problem with what a resource says: it is reported in a
// condition with its reason, and retried only when the resource (or what it
// refers to) changes.
type specError struct {
	reason string
	msg    string
}

func (e *specError) Error() string { return e.msg }

func invalid(reason, format string, args ...any) error {
	return &specError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// reasonOf is err's reason when it is a specError.
func reasonOf(err error) (string, bool) {
	var se *specError
	if errors.As(err, &se) {
		return se.reason, true
	}
	return "", false
}

// Pair is a ClusterPair's clusters, connected.
type Pair struct {
	Name     string
	Clusters [2]*cluster.Conn // in spec order; Context is the cluster's name in the pair
	Router   string
	// RouterEnv are the router's credentials (key → value), from its Secret.
	RouterEnv map[string]string
}

// Conn returns the cluster named name, nil when the pair has none.
func (p *Pair) Conn(name string) *cluster.Conn {
	for _, c := range p.Clusters {
		if c.Context == name {
			return c
		}
	}
	return nil
}

// Other returns the cluster that is not name.
func (p *Pair) Other(name string) *cluster.Conn {
	for _, c := range p.Clusters {
		if c.Context != name {
			return c
		}
	}
	return nil
}

// Names are the clusters' names.
func (p *Pair) Names() []string { return []string{p.Clusters[0].Context, p.Clusters[1].Context} }

// OpenRouter opens the router url names with pkg/traffic/providers, the
// clusters of an externaldns router being the pair's.
func (p *Pair) OpenRouter(ctx context.Context, url string) (traffic.Router, error) {
	o := providers.Options{Connect: func(name string) (*cluster.Conn, error) {
		if c := p.Conn(name); c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("router names cluster %q: the pair has %v", name, p.Names())
	}}
	if id, secret := p.RouterEnv["AWS_ACCESS_KEY_ID"], p.RouterEnv["AWS_SECRET_ACCESS_KEY"]; id != "" && secret != "" {
		o.AWSCredentials = credentials.NewStaticCredentialsProvider(id, secret, p.RouterEnv["AWS_SESSION_TOKEN"])
	}
	return providers.Open(ctx, url, o)
}

// pairs connects ClusterPairs, keeping a connection while the Secrets
// behind it stay the same (discovery caches survive reconciles).
type pairs struct {
	client client.Client
	reader client.Reader // uncached: Secrets are read, never watched
	shard  labels.Selector

	mu    sync.Mutex
	conns map[string]cachedConn // "ns/secret/key@resourceVersion" → conn
}

type cachedConn struct {
	conn *cluster.Conn
}

// get reads the ClusterPair ns/name, checks it is in this controller's
// shard, and connects to its clusters.
func (ps *pairs) get(ctx context.Context, ns, name string) (*tandemv1.ClusterPair, *Pair, error) {
	var cp tandemv1.ClusterPair
	if err := ps.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &cp); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, invalid(ReasonPairNotFound, "ClusterPair %s/%s not found", ns, name)
		}
		return nil, nil, err
	}
	if !ps.shard.Matches(labels.Set(cp.Labels)) {
		return &cp, nil, invalid(ReasonOtherShard, "ClusterPair %s/%s is not in this controller's shard (%s)", ns, name, ps.shard)
	}
	p, err := ps.connect(ctx, &cp)
	return &cp, p, err
}

// connect builds the pair's connections from its kubeconfig Secrets.
func (ps *pairs) connect(ctx context.Context, cp *tandemv1.ClusterPair) (*Pair, error) {
	if n := len(cp.Spec.Clusters); n != 2 {
		return nil, invalid(ReasonInvalidSpec, "a ClusterPair needs exactly two clusters, this one has %d", n)
	}
	p := &Pair{Name: cp.Name, Router: cp.Spec.Router}
	for i, c := range cp.Spec.Clusters {
		conn, err := ps.clusterConn(ctx, cp.Namespace, c)
		if err != nil {
			return nil, err
		}
		p.Clusters[i] = conn
	}
	if p.Clusters[0].Context == p.Clusters[1].Context {
		return nil, invalid(ReasonInvalidSpec, "both clusters are named %q", p.Clusters[0].Context)
	}
	if ref := cp.Spec.RouterCredentialsSecretRef; ref != nil {
		var s corev1.Secret
		if err := ps.reader.Get(ctx, types.NamespacedName{Namespace: cp.Namespace, Name: ref.Name}, &s); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, invalid(ReasonSecretNotFound, "router credentials: Secret %s/%s not found", cp.Namespace, ref.Name)
			}
			return nil, err
		}
		p.RouterEnv = map[string]string{}
		for k, v := range s.Data {
			p.RouterEnv[k] = string(v)
		}
	}
	return p, nil
}

func (ps *pairs) clusterConn(ctx context.Context, ns string, c tandemv1.PairCluster) (*cluster.Conn, error) {
	key := c.KubeconfigSecretRef.Key
	if key == "" {
		key = "kubeconfig"
	}
	var s corev1.Secret
	if err := ps.reader.Get(ctx, types.NamespacedName{Namespace: ns, Name: c.KubeconfigSecretRef.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, invalid(ReasonSecretNotFound, "cluster %s: Secret %s/%s not found", c.Name, ns, c.KubeconfigSecretRef.Name)
		}
		return nil, fmt.Errorf("cluster %s: read Secret %s/%s: %w", c.Name, ns, c.KubeconfigSecretRef.Name, err)
	}
	data, ok := s.Data[key]
	if !ok || len(data) == 0 {
		return nil, invalid(ReasonKubeconfigMissing, "cluster %s: Secret %s/%s has no key %q with a kubeconfig", c.Name, ns, s.Name, key)
	}
	cacheKey := fmt.Sprintf("%s/%s/%s@%s#%s", ns, s.Name, key, s.ResourceVersion, c.Name)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if cc, ok := ps.conns[cacheKey]; ok {
		return cc.conn, nil
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		// The kubeconfig may hold credentials: say what is wrong, not what it says.
		return nil, invalid(ReasonKubeconfigInvalid, "cluster %s: Secret %s/%s key %q is not a usable kubeconfig: %v", c.Name, ns, s.Name, key, redactErr(err))
	}
	conn, err := cluster.NewConn(c.Name, rc)
	if err != nil {
		return nil, invalid(ReasonKubeconfigInvalid, "cluster %s: %v", c.Name, err)
	}
	if ps.conns == nil {
		ps.conns = map[string]cachedConn{}
	}
	ps.conns[cacheKey] = cachedConn{conn: conn}
	return conn, nil
}

// redactErr bounds a kubeconfig parse error: the parser names a line and
// what it expected, and the message must never grow into the file's content.
func redactErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
