package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tandem-io/tandem/pkg/statedir"
)

// Defaults of the lab.
const (
	DefaultBlueVersion  = "v1.30.14"
	DefaultGreenVersion = "v1.37.2"
	NodesPerCluster     = 3
	// StorageClass is the lab's default StorageClass, backed by the hostPath provisioner.
	StorageClass = "standard"
)

// ErrNotUp is returned when the lab has no state in its directory.
var ErrNotUp = errors.New("lab is not up")

// State is what the lab records in its directory.
type State struct {
	Dir         string         `json:"dir"`
	Clusters    []ClusterState `json:"clusters"`
	HAProxyPort int            `json:"haproxyPort"`
	HAProxySock string         `json:"haproxySocket"`
	// AWSPort is the lab's AWS endpoint (Route53, ELBv2, EC2); 0 in a lab
	// recorded before it had one, until its next `lab up`.
	AWSPort int `json:"awsPort,omitempty"`
	// DNSPort is the lab's DNS server (UDP), which answers the lab zone's
	// names from the AWS endpoint's Route53; 0 with --no-dns.
	DNSPort int `json:"dnsPort,omitempty"`
	// AppPort is the port each cluster's lab ingress serves on at its
	// Address: what a client that resolved a name through the lab's DNS
	// connects to.
	AppPort int `json:"appPort,omitempty"`
	// Zone is the id of the lab's hosted zone (LabZone) in the AWS endpoint.
	Zone         string `json:"zone,omitempty"`
	Kubeconfig   string `json:"kubeconfig"`
	KubectlDir   string `json:"kubectlDir"`
	GreenVersion string `json:"greenVersion"`
}

// Cluster returns the named cluster's state.
func (s *State) Cluster(name string) (ClusterState, bool) {
	for _, c := range s.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return ClusterState{}, false
}

// Lab is one lab directory.
type Lab struct {
	Dir      string
	CacheDir string
	// Executable is the tandem binary that serves the lab ingress.
	Executable string
	Progress   Progress
}

// DefaultDir is ${XDG_STATE_HOME:-~/.local/state}/tandem/lab.
func DefaultDir() string { return statedir.Path("lab") }

func (l *Lab) statePath() string { return filepath.Join(l.Dir, "state.json") }

// Load reads the lab's recorded state.
func (l *Lab) Load() (*State, error) {
	data, err := os.ReadFile(l.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: run `tandem lab up`", ErrNotUp, l.Dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", l.statePath(), err)
	}
	return &s, nil
}

func (l *Lab) save(s *State) error {
	data, _ := json.MarshalIndent(s, "", "  ")
	tmp := l.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, l.statePath())
}

// UpOptions chooses the versions of a new lab.
type UpOptions struct {
	BlueVersion  string
	GreenVersion string
	// NoDNS leaves the DNS plane out: no DNS server.
	NoDNS bool
}

// Up builds what is missing, starts whatever is not running and waits until
// both clusters and HAProxy serve. It is idempotent.
func (l *Lab) Up(ctx context.Context, o UpOptions) (*State, error) {
	for _, v := range []string{o.BlueVersion, o.GreenVersion} {
		if err := ValidateVersion(v); err != nil {
			return nil, err
		}
	}
	haproxyBin, err := exec.LookPath("haproxy")
	if err != nil {
		return nil, fmt.Errorf("haproxy not found on PATH: install it (apt-get install -y haproxy)")
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, err
	}
	st, err := l.Load()
	if err != nil {
		if !errors.Is(err, ErrNotUp) {
			return nil, err
		}
		if st, err = l.newState(o); err != nil {
			return nil, err
		}
	} else if st.Clusters[0].Version != o.BlueVersion || st.Clusters[1].Version != o.GreenVersion {
		return nil, fmt.Errorf("lab in %s already runs blue %s and green %s: run `tandem lab down` first to change versions", l.Dir, st.Clusters[0].Version, st.Clusters[1].Version)
	}

	b := &Builder{CacheDir: l.CacheDir, Progress: l.Progress}
	greenBin, err := b.Kubernetes(ctx, o.GreenVersion, "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
	if err != nil {
		return nil, err
	}
	blueBin, err := b.Kubernetes(ctx, o.BlueVersion, "kube-apiserver", "kube-controller-manager", "kube-scheduler")
	if err != nil {
		return nil, err
	}
	etcdBin, err := b.Etcd(ctx)
	if err != nil {
		return nil, err
	}
	kwokBin, stages, err := b.Kwok(ctx)
	if err != nil {
		return nil, err
	}
	st.KubectlDir = filepath.Join(l.Dir, "bin")
	if err := os.MkdirAll(st.KubectlDir, 0o755); err != nil {
		return nil, err
	}
	link := filepath.Join(st.KubectlDir, "kubectl")
	_ = os.Remove(link)
	if err := os.Symlink(filepath.Join(greenBin, "kubectl"), link); err != nil {
		return nil, err
	}
	if err := l.save(st); err != nil {
		return nil, err
	}

	bins := map[string]string{st.Clusters[0].Name: blueBin, st.Clusters[1].Name: greenBin}
	var wg sync.WaitGroup
	errs := make([]error, len(st.Clusters))
	for i, c := range st.Clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.upCluster(ctx, c, bins[c.Name], etcdBin, kwokBin, stages)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := l.writeKubeconfig(st); err != nil {
		return nil, err
	}
	if !o.NoDNS {
		if err := l.planDNS(st); err != nil {
			return nil, err
		}
	}
	for _, c := range st.Clusters {
		if err := l.startIngress(ctx, st, c); err != nil {
			return nil, err
		}
	}
	if err := l.startHAProxy(ctx, st, haproxyBin); err != nil {
		return nil, err
	}
	if st.AWSPort == 0 {
		ports, err := freePorts(1)
		if err != nil {
			return nil, err
		}
		st.AWSPort = ports[0]
	}
	if !o.NoDNS && st.DNSPort == 0 {
		if st.DNSPort, err = freeUDPPort(); err != nil {
			return nil, err
		}
	}
	if err := l.save(st); err != nil {
		return nil, err
	}
	if err := l.startAWS(ctx, st); err != nil {
		return nil, err
	}
	if st.Zone, err = ensureZone(ctx, st.AWSEndpoint(), LabZone); err != nil {
		return nil, err
	}
	if err := l.save(st); err != nil {
		return nil, err
	}
	if st.DNSPort != 0 {
		if err := l.startExternalDNS(ctx, st, b); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (l *Lab) newState(o UpOptions) (*State, error) {
	ports, err := freePorts(13)
	if err != nil {
		return nil, err
	}
	mk := func(name, version, svc, pod string, p []int) ClusterState {
		return ClusterState{Name: name, Version: version, ServiceCIDR: svc, PodCIDR: pod,
			EtcdPort: p[0], PeerPort: p[1], APIPort: p[2], KCMPort: p[3], SchedPort: p[4], IngressPort: p[5]}
	}
	blue := mk("blue", o.BlueVersion, "10.96.0.0/16", "10.244.0.0/16", ports[0:6])
	// Every API group/version the release has, so APIs later removed are served and stored.
	blue.RuntimeConfig = "api/all=true"
	green := mk("green", o.GreenVersion, "10.112.0.0/16", "10.245.0.0/16", ports[6:12])
	return &State{
		Dir:          l.Dir,
		Clusters:     []ClusterState{blue, green},
		HAProxyPort:  ports[12],
		HAProxySock:  filepath.Join(l.Dir, "haproxy.sock"),
		Kubeconfig:   filepath.Join(l.Dir, "kubeconfig"),
		GreenVersion: o.GreenVersion,
	}, nil
}

// upCluster starts one cluster's control plane and kwok, then prepares the
// StorageClass, nodes and default ServiceAccount.
func (l *Lab) upCluster(ctx context.Context, c ClusterState, kubeBin, etcdBin, kwokBin string, stages []string) error {
	if err := l.startCluster(ctx, c, kubeBin, etcdBin); err != nil {
		return err
	}
	cs, err := l.clientset(c)
	if err != nil {
		return err
	}
	running := l.runningSet()
	args := []string{
		"--kubeconfig", filepath.Join(c.dir(l.Dir), "admin.kubeconfig"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40",
		"--cidr", c.PodCIDR,
	}
	for _, s := range stages {
		args = append(args, "--config", s)
	}
	kwok := Process{Cluster: c.Name, Name: "kwok", Binary: kwokBin, Args: args, Log: filepath.Join(l.Dir, "logs", c.Name+"-kwok.log")}
	if old, ok := running[processKey(kwok)]; !ok || !old.Alive {
		// A restarted kwok would wait out the old node Leases; drop them first.
		_ = cs.CoordinationV1().Leases("kube-node-lease").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		if _, err := start(l.Dir, kwok, false); err != nil {
			return err
		}
	}
	sc := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: StorageClass, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "kubernetes.io/host-path",
	}
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("%s: create StorageClass: %w", c.Name, err)
	}
	started := time.Now()
	if err := ensureNodes(ctx, cs, c.Name, NodesPerCluster); err != nil {
		return fmt.Errorf("%s: nodes: %w (log: %s)", c.Name, err, kwok.Log)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := poll(wctx, 200*time.Millisecond, func() error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(wctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return fmt.Errorf("%s: default ServiceAccount: %w", c.Name, err)
	}
	l.Progress("%-6s %d nodes Ready, default ServiceAccount present in %s", c.Name, NodesPerCluster, time.Since(started).Round(100*time.Millisecond))
	return nil
}

// writeKubeconfig merges both clusters' admin credentials into one file with
// contexts named after the clusters.
func (l *Lab) writeKubeconfig(st *State) error {
	merged := clientcmdapi.NewConfig()
	for _, c := range st.Clusters {
		cfg, err := clientcmd.LoadFromFile(filepath.Join(c.dir(l.Dir), "admin.kubeconfig"))
		if err != nil {
			return err
		}
		merged.Clusters[c.Name] = cfg.Clusters[c.Name]
		merged.AuthInfos[c.Name] = cfg.AuthInfos[c.Name]
		merged.Contexts[c.Name] = cfg.Contexts[c.Name]
	}
	merged.CurrentContext = st.Clusters[0].Name
	return clientcmd.WriteToFile(*merged, st.Kubeconfig)
}

func (l *Lab) startIngress(ctx context.Context, st *State, c ClusterState) error {
	exe := l.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	args := []string{"lab", "ingress", "--kubeconfig", st.Kubeconfig, "--context", c.Name, "--name", c.Name, "--listen", fmt.Sprintf("127.0.0.1:%d", c.IngressPort)}
	if c.Address != "" && st.AppPort != 0 {
		args = append(args, "--address", c.Address, "--address-listen", fmt.Sprintf("%s:%d", c.Address, st.AppPort))
	}
	p := Process{Cluster: c.Name, Name: "lab-ingress", Binary: exe, Port: c.IngressPort, Args: args,
		Log: filepath.Join(l.Dir, "logs", c.Name+"-lab-ingress.log")}
	return l.ensure(ctx, l.runningSet(), p, func(ctx context.Context) error {
		return waitHealth(ctx, c.IngressPort)
	})
}

// runningSet indexes the recorded processes by key.
func (l *Lab) runningSet() map[string]Process {
	procs, _ := recorded(l.Dir)
	m := map[string]Process{}
	for _, p := range procs {
		m[processKey(p)] = p
	}
	return m
}

// Processes lists every process the lab recorded, with whether it runs.
func (l *Lab) Processes() ([]Process, error) {
	procs, err := recorded(l.Dir)
	sort.Slice(procs, func(i, j int) bool { return processKey(procs[i]) < processKey(procs[j]) })
	return procs, err
}

// stopOrder stops traffic first and storage last.
var stopOrder = []string{controllerProcess, externalDNSProcess, awsProcess, "haproxy", "lab-ingress", "kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"}

// Down stops exactly the processes the lab recorded and removes its data:
// its directory and the hostPath volumes its clusters provisioned.
func (l *Lab) Down(ctx context.Context) ([]Process, error) {
	procs, err := recorded(l.Dir)
	if err != nil {
		return nil, err
	}
	// Read while the apiservers still answer, removed once they are stopped.
	volumes := l.hostPathDirs(ctx)
	var stopped []Process
	for _, name := range stopOrder {
		var wg sync.WaitGroup
		errs := make([]error, len(procs))
		for i, p := range procs {
			if p.Name != name {
				continue
			}
			if p.Alive {
				stopped = append(stopped, p)
			}
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = stop(ctx, l.Dir, p, 10*time.Second) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return stopped, err
		}
	}
	// Only a lab's own directory is removed: one that holds its state
	// marker (or nothing at all, as a half-made lab may).
	if !isLabDir(l.Dir) {
		return stopped, fmt.Errorf("%s is not a lab's directory (no %s in it): not removed", l.Dir, filepath.Base(l.statePath()))
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		return stopped, fmt.Errorf("remove %s: %w", l.Dir, err)
	}
	removeDirs(volumes)
	return stopped, nil
}

// isLabDir says whether dir is a lab's: it holds the state file, or only
// what lab up writes before it (run/, logs/), or does not exist.
func isLabDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return os.IsNotExist(err)
	}
	for _, e := range entries {
		if e.Name() == "state.json" {
			return true
		}
	}
	for _, e := range entries {
		if e.Name() != "run" && e.Name() != "logs" {
			return false
		}
	}
	return true
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
