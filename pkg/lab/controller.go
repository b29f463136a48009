package lab

// The lab's controller: kwok runs no containers, so `tandem controller`
// runs as local processes against one of the lab's clusters as the
// management cluster, with the chart's CRDs and RBAC installed there and
// acting as the chart's ServiceAccount (impersonated), so the lab proves the
// chart's RBAC is enough.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	chart "github.com/tandem-io/tandem/charts/tandem"
)

// The names the lab's controller is installed under (those of the chart
// installed as release "tandem" into ControllerNamespace).
const (
	ControllerNamespace      = "tandem-system"
	ControllerServiceAccount = "tandem-controller"
	controllerProcess        = "tandem-controller"
	labFieldManager          = "tandem-lab"
)

// ControllerOptions say how `lab controller up` runs the controller.
type ControllerOptions struct {
	Management string // the lab cluster acting as management cluster
	Name       string // the replicas are NAME-1 … NAME-N
	Replicas   int
	Shard      string // passed as --shard
}

// KubeconfigSecret is the Secret holding the lab cluster name's kubeconfig
// in the management cluster, for a ClusterPair's kubeconfigSecretRef.
func KubeconfigSecret(name string) string { return name + "-kubeconfig" }

// ControllerUp installs the CRDs, the RBAC and a kubeconfig Secret per lab
// cluster into the management cluster, then starts the replicas (those that
// run already are kept). It returns the replicas.
func (l *Lab) ControllerUp(ctx context.Context, o ControllerOptions) ([]Process, error) {
	st, err := l.Load()
	if err != nil {
		return nil, err
	}
	if _, ok := st.Cluster(o.Management); !ok {
		return nil, fmt.Errorf("management cluster %q: the lab has %s", o.Management, clusterNames(st))
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: st.Kubeconfig}, &clientcmd.ConfigOverrides{CurrentContext: o.Management}).ClientConfig()
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	if err := installCRDs(ctx, dyn); err != nil {
		return nil, err
	}
	if err := installRBAC(ctx, cs); err != nil {
		return nil, err
	}
	for _, c := range st.Clusters {
		if err := kubeconfigSecret(ctx, cs, st.Kubeconfig, c.Name); err != nil {
			return nil, err
		}
	}
	exe := l.Executable
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	var out []Process
	for i := 1; i <= o.Replicas; i++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s-%d", o.Name, i)
		args := []string{"controller", "--kubeconfig", st.Kubeconfig, "--context", o.Management,
			"--as", "system:serviceaccount:" + ControllerNamespace + ":" + ControllerServiceAccount,
			"--leader-elect", "--leader-election-namespace", ControllerNamespace,
			"--metrics-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--health-addr", fmt.Sprintf("127.0.0.1:%d", ports[1])}
		if o.Shard != "" {
			args = append(args, "--shard", o.Shard)
		}
		p := Process{Cluster: name, Name: controllerProcess, Binary: exe, Port: ports[0], Args: args,
			Log: filepath.Join(l.Dir, "logs", name+"-controller.log")}
		running := l.runningSet()
		if old, ok := running[processKey(p)]; ok && old.Alive {
			out = append(out, old)
			continue
		}
		health := ports[1]
		if err := l.ensure(ctx, running, p, func(ctx context.Context) error {
			return waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", health), "ok")
		}); err != nil {
			return out, err
		}
		out = append(out, l.runningSet()[processKey(p)])
	}
	return out, nil
}

// ControllerDown stops the controller replicas named NAME-… ("" = all).
func (l *Lab) ControllerDown(ctx context.Context, name string) ([]Process, error) {
	procs, err := recorded(l.Dir)
	if err != nil {
		return nil, err
	}
	var stopped []Process
	for _, p := range procs {
		if p.Name != controllerProcess || (name != "" && !strings.HasPrefix(p.Cluster, name+"-")) {
			continue
		}
		if p.Alive {
			stopped = append(stopped, p)
		}
		if err := stop(ctx, l.Dir, p, 10*time.Second); err != nil {
			return stopped, err
		}
	}
	return stopped, nil
}

// Controllers lists the controller replicas the lab recorded.
func (l *Lab) Controllers() ([]Process, error) {
	procs, err := l.Processes()
	var out []Process
	for _, p := range procs {
		if p.Name == controllerProcess {
			out = append(out, p)
		}
	}
	return out, err
}

func clusterNames(st *State) string {
	var names []string
	for _, c := range st.Clusters {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installCRDs applies the chart's CRDs and waits until they are Established.
func installCRDs(ctx context.Context, dyn dynamic.Interface) error {
	files, err := fs.Glob(chart.Files, "crds/*.yaml")
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		data, err := chart.Files.ReadFile(f)
		if err != nil {
			return err
		}
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		body, err := obj.MarshalJSON()
		if err != nil {
			return err
		}
		force := true
		if _, err := dyn.Resource(crdGVR).Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: labFieldManager, Force: &force}); err != nil {
			return fmt.Errorf("apply CRD %s: %w", obj.GetName(), err)
		}
		names = append(names, obj.GetName())
	}
	return poll(ctx, 200*time.Millisecond, func() error {
		for _, n := range names {
			crd, err := dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			established := false
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					established = true
				}
			}
			if !established {
				return fmt.Errorf("CRD %s not established yet", n)
			}
		}
		return nil
	})
}

// installRBAC creates the namespace, the ServiceAccount and the chart's
// ClusterRole bound to it.
func installRBAC(ctx context.Context, cs kubernetes.Interface) error {
	data, err := chart.Files.ReadFile("files/role.yaml")
	if err != nil {
		return err
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		return fmt.Errorf("files/role.yaml: %w", err)
	}
	role.Name = ControllerServiceAccount
	create := func(err error) error {
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	opts := metav1.CreateOptions{FieldManager: labFieldManager}
	if err := create(func() error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ControllerNamespace}}, opts)
		return err
	}()); err != nil {
		return fmt.Errorf("namespace %s: %w", ControllerNamespace, err)
	}
	if err := create(func() error {
		_, err := cs.CoreV1().ServiceAccounts(ControllerNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ControllerServiceAccount}}, opts)
		return err
	}()); err != nil {
		return fmt.Errorf("service account: %w", err)
	}
	// The rules follow the generated file on every `up`.
	if cur, err := cs.RbacV1().ClusterRoles().Get(ctx, role.Name, metav1.GetOptions{}); err == nil {
		cur.Rules = role.Rules
		if _, err := cs.RbacV1().ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{FieldManager: labFieldManager}); err != nil {
			return fmt.Errorf("cluster role: %w", err)
		}
	} else if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Rules: role.Rules}, opts); err != nil {
		return fmt.Errorf("cluster role: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ControllerServiceAccount},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ControllerServiceAccount, Namespace: ControllerNamespace}}}
	if err := create(func() error {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, opts)
		return err
	}()); err != nil {
		return fmt.Errorf("cluster role binding: %w", err)
	}
	return nil
}

// kubeconfigSecret writes the lab kubeconfig narrowed to one context into
// a Secret of the management cluster.
func kubeconfigSecret(ctx context.Context, cs kubernetes.Interface, kubeconfig, name string) error {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	cfg.CurrentContext = name
	if err := clientcmdMinify(cfg); err != nil {
		return err
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ControllerNamespace, Name: KubeconfigSecret(name)},
		Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"kubeconfig": data}}
	secrets := cs.CoreV1().Secrets(ControllerNamespace)
	if cur, err := secrets.Get(ctx, s.Name, metav1.GetOptions{}); err == nil {
		cur.Data = s.Data
		_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{FieldManager: labFieldManager})
		return err
	}
	_, err = secrets.Create(ctx, s, metav1.CreateOptions{FieldManager: labFieldManager})
	return err
}

// clientcmdMinify keeps only the current context and embeds its files.
func clientcmdMinify(cfg *clientcmdapi.Config) error {
	if err := clientcmdapi.MinifyConfig(cfg); err != nil {
		return err
	}
	return clientcmdapi.FlattenConfig(cfg)
}
