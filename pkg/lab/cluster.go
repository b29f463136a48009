package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterState is one lab cluster: its version, ports and address ranges.
type ClusterState struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	ServiceCIDR string `json:"serviceCIDR"`
	PodCIDR     string `json:"podCIDR"`
	EtcdPort    int    `json:"etcdPort"`
	PeerPort    int    `json:"etcdPeerPort"`
	APIPort     int    `json:"apiPort"`
	KCMPort     int    `json:"controllerManagerPort"`
	SchedPort   int    `json:"schedulerPort"`
	IngressPort int    `json:"ingressPort"`
	// RuntimeConfig is passed to --runtime-config; blue serves every API
	// group/version its release still has, so removals show up in plan and sync.
	RuntimeConfig string `json:"runtimeConfig,omitempty"`
	// Address is the loopback address the cluster's lab ingress also
	// serves on (State.AppPort) and publishes in its Ingresses' status, so
	// that DNS answers tell the clusters apart; "" with --no-dns.
	Address string `json:"address,omitempty"`
	// ExternalDNSPort is the metrics/health port of its ExternalDNS.
	ExternalDNSPort int `json:"externalDNSPort,omitempty"`
}

// APIURL is the cluster's apiserver URL.
func (c ClusterState) APIURL() string { return fmt.Sprintf("https://127.0.0.1:%d", c.APIPort) }

func (c ClusterState) dir(labDir string) string { return filepath.Join(labDir, c.Name) }

// serviceIP returns the first address of the service range (the `kubernetes` Service).
func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ip := n.IP.To4()
	out := make(net.IP, len(ip))
	copy(out, ip)
	out[len(out)-1]++
	return out, nil
}

// startCluster brings up etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler for one cluster, skipping any that already run.
func (l *Lab) startCluster(ctx context.Context, c ClusterState, kubeBin, etcdBin string) error {
	cdir := c.dir(l.Dir)
	p, err := loadOrCreatePKI(filepath.Join(cdir, "pki"))
	if err != nil {
		return err
	}
	svcIP, err := firstServiceIP(c.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("%s: service CIDR: %w", c.Name, err)
	}
	if err := p.issue("apiserver", "kube-apiserver", nil, true,
		[]net.IP{net.ParseIP("127.0.0.1"), svcIP},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}); err != nil {
		return err
	}
	clients := map[string][2]string{
		"admin":              {"tandem-admin", "system:masters"},
		"controller-manager": {"system:kube-controller-manager", ""},
		"scheduler":          {"system:kube-scheduler", ""},
	}
	for name, id := range clients {
		var orgs []string
		if id[1] != "" {
			orgs = []string{id[1]}
		}
		if err := p.issue(name, id[0], orgs, false, nil, nil); err != nil {
			return err
		}
		if err := p.kubeconfig(filepath.Join(cdir, name+".kubeconfig"), c.Name, c.APIURL(), name); err != nil {
			return err
		}
	}
	if err := p.serviceAccountKey(); err != nil {
		return err
	}
	running := l.runningSet()
	logs := filepath.Join(l.Dir, "logs")
	proc := func(name, bin string, port int, args ...string) Process {
		return Process{Cluster: c.Name, Name: name, Binary: bin, Args: args, Port: port, Log: filepath.Join(logs, c.Name+"-"+name+".log")}
	}

	etcd := proc("etcd", etcdBin, c.EtcdPort,
		"--name", c.Name,
		"--data-dir", filepath.Join(cdir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", c.PeerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", c.PeerPort),
		"--initial-cluster", fmt.Sprintf("%s=http://127.0.0.1:%d", c.Name, c.PeerPort),
		"--listen-metrics-urls", "",
		// A lab on one disk: skipping fsync keeps etcd from being what a benchmark measures.
		"--unsafe-no-fsync",
		"--log-level", "warn",
	)
	if err := l.ensure(ctx, running, etcd, func(ctx context.Context) error {
		return waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/health", c.EtcdPort), `"health":"true"`)
	}); err != nil {
		return err
	}

	apiArgs := []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.EtcdPort),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(c.APIPort),
		// Required with a loopback advertise address (v1.37 refuses to start otherwise).
		"--endpoint-reconciler-type", "none",
		"--tls-cert-file", p.path("apiserver.crt"),
		"--tls-private-key-file", p.path("apiserver.key"),
		"--client-ca-file", p.path("ca.crt"),
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", p.path("sa.pub"),
		"--service-account-signing-key-file", p.path("sa.key"),
		"--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", c.ServiceCIDR,
		"--allow-privileged",
		"--profiling=false",
		"--max-requests-inflight", "800",
		"--max-mutating-requests-inflight", "400",
	}
	if c.RuntimeConfig != "" {
		apiArgs = append(apiArgs, "--runtime-config", c.RuntimeConfig)
	}
	api := proc("kube-apiserver", filepath.Join(kubeBin, "kube-apiserver"), c.APIPort, apiArgs...)
	cs, err := l.clientset(c)
	if err != nil {
		return err
	}
	if err := l.ensure(ctx, running, api, func(ctx context.Context) error {
		return poll(ctx, 100*time.Millisecond, func() error {
			body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			if err != nil {
				return err
			}
			if strings.TrimSpace(string(body)) != "ok" {
				return fmt.Errorf("readyz: %s", body)
			}
			return nil
		})
	}); err != nil {
		return err
	}

	kcm := proc("kube-controller-manager", filepath.Join(kubeBin, "kube-controller-manager"), c.KCMPort,
		"--kubeconfig", filepath.Join(cdir, "controller-manager.kubeconfig"),
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(c.KCMPort),
		"--service-account-private-key-file", p.path("sa.key"),
		"--root-ca-file", p.path("ca.crt"),
		"--cluster-signing-cert-file", p.path("ca.crt"),
		"--cluster-signing-key-file", p.path("ca.key"),
		"--use-service-account-credentials",
		"--leader-elect=false",
		"--cluster-name", c.Name,
		"--service-cluster-ip-range", c.ServiceCIDR,
		// kwok hands out pod IPs; node IPAM would fight it.
		"--controllers", "*,-nodeipam",
		"--enable-hostpath-provisioner",
	)
	sched := proc("kube-scheduler", filepath.Join(kubeBin, "kube-scheduler"), c.SchedPort,
		"--kubeconfig", filepath.Join(cdir, "scheduler.kubeconfig"),
		"--bind-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(c.SchedPort),
		"--leader-elect=false",
	)
	for _, pr := range []Process{kcm, sched} {
		port := pr.Port
		if err := l.ensure(ctx, running, pr, func(ctx context.Context) error {
			return waitHTTP(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), "ok")
		}); err != nil {
			return err
		}
	}
	return nil
}

// ensure starts p unless it already runs, then waits for ready.
func (l *Lab) ensure(ctx context.Context, running map[string]Process, p Process, ready func(context.Context) error) error {
	if old, ok := running[processKey(p)]; ok && old.Alive {
		if old.Binary == p.Binary && slices.Equal(old.Args, p.Args) {
			return ready(ctx)
		}
		// Started by an older tandem with other arguments: restart it.
		if err := stop(ctx, l.Dir, old, 10*time.Second); err != nil {
			return err
		}
		l.Progress("%-6s %-24s restarted: its arguments changed", p.Cluster, p.Name)
	}
	started := time.Now()
	if _, err := start(l.Dir, p, false); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := ready(wctx); err != nil {
		return fmt.Errorf("%s %s not ready after %s: %v (log: %s)\n%s", p.Cluster, p.Name, time.Since(started).Round(time.Second), err, p.Log, logTail(p.Log))
	}
	l.Progress("%-6s %-24s ready in %s", p.Cluster, p.Name, time.Since(started).Round(100*time.Millisecond))
	return nil
}

func (l *Lab) clientset(c ClusterState) (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(c.dir(l.Dir), "admin.kubeconfig"))
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 100, 200
	rc.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(rc)
}

var insecureClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // #nosec G402 -- loopback health probe of our own processes
}

func waitHTTP(ctx context.Context, url, want string) error {
	return poll(ctx, 100*time.Millisecond, func() error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := insecureClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), want) {
			return fmt.Errorf("%s: %d %s", url, resp.StatusCode, buf[:n])
		}
		return nil
	})
}

// poll calls f every interval until it succeeds or ctx ends; the error is the last one seen.
func poll(ctx context.Context, interval time.Duration, f func() error) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(context.Context) (bool, error) {
		last = f()
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tail(string(data), 8)
}
