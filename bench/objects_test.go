package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// The data set: per namespace 80 ConfigMaps, 60 Secrets, 20 Services,
// 20 Deployments and 7 ServiceAccounts + 7 Roles + 6 RoleBindings = 200
// objects; 50 namespaces = 10,000 objects (namespaces not counted).
const (
	namespaces       = 50
	configMapsPerNS  = 80
	secretsPerNS     = 60
	servicesPerNS    = 20
	deploymentsPerNS = 20
	accountsPerNS    = 7 // and as many Roles
	bindingsPerNS    = 6
	objectsPerNS     = configMapsPerNS + secretsPerNS + servicesPerNS + deploymentsPerNS + 2*accountsPerNS + bindingsPerNS
	totalObjects     = namespaces * objectsPerNS

	// setLabel marks every generated object and namespace.
	setLabel = "bench.tandem.io/set"
	setValue = "sync10k"

	// workers is the parallelism of the client-go writers (setup and raw).
	workers = 32
)

// namespaceNames are prefix-00 … prefix-49.
func namespaceNames(prefix string) []string { return namespaceNamesN(prefix, namespaces) }

// namespaceNamesN are n namespace names under prefix: prefix-00 … (three
// digits from 100 namespaces on).
func namespaceNamesN(prefix string, n int) []string {
	format := "%s-%02d"
	if n > 100 {
		format = "%s-%03d"
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, prefix, i)
	}
	return out
}

func meta(ns, name, app string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
		setLabel: setValue, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench",
	}}
}

// configText is ~1 KiB of config file, different per object.
func configText(ns string, i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s/cm-%03d\nserver:\n  port: %d\n  host: app-%02d.%s.svc\n", ns, i, 8000+i, i%deploymentsPerNS, ns)
	for k := 0; b.Len() < 1000; k++ {
		fmt.Fprintf(&b, "feature_%02d: {enabled: %t, weight: %d, owner: team-%d}\n", k, (i+k)%3 == 0, (i*7+k)%100, k%5)
	}
	return b.String()
}

func configMap(ns string, i int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: meta(ns, fmt.Sprintf("cm-%03d", i), fmt.Sprintf("app-%02d", i%deploymentsPerNS)),
		Data:       map[string]string{"config.yaml": configText(ns, i), "LOG_LEVEL": "info", "REGION": "eu-west-1"},
	}
}

func secret(ns string, i int) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: meta(ns, fmt.Sprintf("secret-%03d", i), fmt.Sprintf("app-%02d", i%deploymentsPerNS)),
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"username": []byte(fmt.Sprintf("user-%s-%03d", ns, i)),
			"password": []byte(strings.Repeat(fmt.Sprintf("%08x", i*2654435761), 4)),
			"token":    []byte(strings.Repeat(fmt.Sprintf("%s%03d", ns, i), 16)),
		},
	}
}

// cheapObjects builds the 200 objects of one namespace of the cheap data
// set: 120 ConfigMaps and 80 Secrets, objects the apiserver writes without
// any controller reacting, so a client's own cost shows.
func cheapObjects(ns string) []runtime.Object {
	out := make([]runtime.Object, 0, objectsPerNS)
	for i := 0; i < cheapConfigMapsPerNS; i++ {
		out = append(out, configMap(ns, i))
	}
	for i := 0; i < objectsPerNS-cheapConfigMapsPerNS; i++ {
		out = append(out, secret(ns, i))
	}
	return out
}

// cheapConfigMapsPerNS: the rest of a cheap namespace's 200 objects are Secrets.
const cheapConfigMapsPerNS = 120

// namespaceObjects builds the 200 objects of one namespace, fresh, as a
// sanitized copy would be: no uid, resourceVersion, status or clusterIP.
func namespaceObjects(ns string) []runtime.Object {
	out := make([]runtime.Object, 0, objectsPerNS)
	app := func(i int) string { return fmt.Sprintf("app-%02d", i%deploymentsPerNS) }
	for i := 0; i < configMapsPerNS; i++ {
		out = append(out, configMap(ns, i))
	}
	for i := 0; i < secretsPerNS; i++ {
		out = append(out, secret(ns, i))
	}
	for i := 0; i < servicesPerNS; i++ {
		out = append(out, &corev1.Service{
			ObjectMeta: meta(ns, app(i), app(i)),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: map[string]string{"app.kubernetes.io/name": app(i)},
				Ports: []corev1.ServicePort{
					{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
					{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP},
				},
			},
		})
	}
	zero := int32(0)
	for i := 0; i < deploymentsPerNS; i++ {
		labels := map[string]string{"app.kubernetes.io/name": app(i)}
		m := meta(ns, app(i), app(i))
		out = append(out, &appsv1.Deployment{
			ObjectMeta: m,
			Spec: appsv1.DeploymentSpec{
				Replicas: &zero, // no pods: kwok would otherwise run thousands
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: fmt.Sprintf("sa-%02d", i%accountsPerNS),
						Containers: []corev1.Container{{
							Name:  "app",
							Image: fmt.Sprintf("registry.example.com/bench/%s:1.%d.0", app(i), i),
							Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
							Env: []corev1.EnvVar{
								{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
									LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("secret-%03d", i)}, Key: "password"}}},
							},
							EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("cm-%03d", i)}}}},
							VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}},
							Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
								corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
						}},
						Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: fmt.Sprintf("cm-%03d", i+deploymentsPerNS)}}}}},
					},
				},
			},
		})
	}
	for i := 0; i < accountsPerNS; i++ {
		out = append(out, &corev1.ServiceAccount{ObjectMeta: meta(ns, fmt.Sprintf("sa-%02d", i), "bench")})
		out = append(out, &rbacv1.Role{
			ObjectMeta: meta(ns, fmt.Sprintf("role-%02d", i), "bench"),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
			},
		})
	}
	for i := 0; i < bindingsPerNS; i++ {
		out = append(out, &rbacv1.RoleBinding{
			ObjectMeta: meta(ns, fmt.Sprintf("rb-%02d", i), "bench"),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: fmt.Sprintf("role-%02d", i)},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: fmt.Sprintf("sa-%02d", i), Namespace: ns}},
		})
	}
	return out
}

// dataSet is the namespaces and objects under one prefix.
func dataSet(prefix string) ([]string, []runtime.Object) {
	names := namespaceNames(prefix)
	objs := make([]runtime.Object, 0, totalObjects)
	for _, ns := range names {
		objs = append(objs, namespaceObjects(ns)...)
	}
	if len(objs) != totalObjects {
		panic(fmt.Sprintf("data set has %d objects, want %d", len(objs), totalObjects))
	}
	return names, objs
}

// create writes one object with a typed create.
func create(ctx context.Context, cs kubernetes.Interface, o runtime.Object) error {
	opts := metav1.CreateOptions{}
	var err error
	switch o := o.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Create(ctx, o, opts)
	case *corev1.ConfigMap:
		_, err = cs.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, opts)
	case *corev1.Secret:
		_, err = cs.CoreV1().Secrets(o.Namespace).Create(ctx, o, opts)
	case *corev1.Service:
		_, err = cs.CoreV1().Services(o.Namespace).Create(ctx, o, opts)
	case *corev1.ServiceAccount:
		_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, opts)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.Role:
		_, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, opts)
	case *rbacv1.RoleBinding:
		_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, opts)
	default:
		err = fmt.Errorf("no create for %T", o)
	}
	return err
}

func transient(err error) bool {
	return apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err)
}

// createAll creates objs with n parallel workers; see writeAll.
func createAll(ctx context.Context, cs kubernetes.Interface, objs []runtime.Object, n int, tolerateExisting bool) (retries int64, err error) {
	return writeAll(ctx, objs, n, tolerateExisting, func(ctx context.Context, o runtime.Object) error { return create(ctx, cs, o) })
}

// applyAll server-side-applies objs with n parallel workers (field manager
// "bench"), as tandem writes; see writeAll.
func applyAll(ctx context.Context, dyn dynamic.Interface, objs []runtime.Object, n int) (retries int64, err error) {
	return writeAll(ctx, objs, n, false, func(ctx context.Context, o runtime.Object) error {
		u, gvr, err := toUnstructured(o)
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns := u.GetNamespace(); ns != "" {
			ri = dyn.Resource(gvr).Namespace(ns)
		}
		_, err = ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "bench", Force: true})
		return err
	})
}

// toUnstructured converts a generated object for the dynamic client.
func toUnstructured(o runtime.Object) (*unstructured.Unstructured, schema.GroupVersionResource, error) {
	var kind string
	switch o.(type) {
	case *corev1.Namespace:
		kind = "Namespace"
	case *corev1.ConfigMap:
		kind = "ConfigMap"
	case *corev1.Secret:
		kind = "Secret"
	case *corev1.Service:
		kind = "Service"
	case *corev1.ServiceAccount:
		kind = "ServiceAccount"
	case *appsv1.Deployment:
		kind = "Deployment"
	case *rbacv1.Role:
		kind = "Role"
	case *rbacv1.RoleBinding:
		kind = "RoleBinding"
	default:
		return nil, schema.GroupVersionResource{}, fmt.Errorf("no resource for %T", o)
	}
	gvr := setResources[kind]
	if kind == "Namespace" {
		gvr = corev1.SchemeGroupVersion.WithResource("namespaces")
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, gvr, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvr.GroupVersion().WithKind(kind))
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, gvr, nil
}

// writeAll writes objs with n parallel workers. Transient answers are
// retried (at most 5 times, counted in retries); AlreadyExists is an error
// unless tolerateExisting.
func writeAll(ctx context.Context, objs []runtime.Object, n int, tolerateExisting bool, write func(context.Context, runtime.Object) error) (retries int64, err error) {
	jobs := make(chan runtime.Object)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []string
		retried atomic.Int64
	)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range jobs {
				var err error
				for attempt := 1; ; attempt++ {
					err = write(ctx, o)
					if err == nil || !transient(err) || attempt == 5 {
						break
					}
					retried.Add(1)
					time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
				}
				if err != nil && !(tolerateExisting && apierrors.IsAlreadyExists(err)) {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range objs {
		if ctx.Err() != nil {
			break
		}
		jobs <- o
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return retried.Load(), ctx.Err()
	}
	if len(errs) > 0 {
		return retried.Load(), fmt.Errorf("%d of %d writes failed, e.g. %s", len(errs), len(objs), errs[0])
	}
	return retried.Load(), nil
}

// namespaceObjectsOf is the Namespace objects of names.
func namespaceObjectsOf(names []string) []runtime.Object {
	out := make([]runtime.Object, len(names))
	for i, n := range names {
		out[i] = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{setLabel: setValue}}}
	}
	return out
}

// deleteNamespaces deletes names and waits, bounded by timeout, until they are gone.
func deleteNamespaces(ctx context.Context, cs kubernetes.Interface, names []string, timeout time.Duration) error {
	for _, n := range names {
		if err := cs.CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", n, err)
		}
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		left := 0
		for _, ns := range list.Items {
			if want[ns.Name] {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d namespaces still there after %s", left, len(names), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// setResources are the resources of the data set.
var setResources = map[string]schema.GroupVersionResource{
	"ConfigMap":      {Version: "v1", Resource: "configmaps"},
	"Secret":         {Version: "v1", Resource: "secrets"},
	"Service":        {Version: "v1", Resource: "services"},
	"Deployment":     {Group: "apps", Version: "v1", Resource: "deployments"},
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
}

// countSet counts the generated objects in the namespaces with prefix, per
// kind, by listing the metadata of every kind with the set's label (paged).
func countSet(ctx context.Context, rc *rest.Config, prefix string) (int, map[string]int, error) {
	mc, err := metadata.NewForConfig(rc)
	if err != nil {
		return 0, nil, err
	}
	byKind := map[string]int{}
	total := 0
	for kind, gvr := range setResources {
		opts := metav1.ListOptions{LabelSelector: setLabel + "=" + setValue, Limit: 500}
		for {
			l, err := mc.Resource(gvr).List(ctx, opts)
			if err != nil {
				return 0, nil, fmt.Errorf("list %s: %w", kind, err)
			}
			for _, o := range l.Items {
				if strings.HasPrefix(o.Namespace, prefix+"-") {
					byKind[kind]++
					total++
				}
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
	}
	return total, byKind, nil
}

// waitReplicaSets waits, bounded, until the deployment controller of cs has
// made a ReplicaSet for every Deployment of the set under prefix, so the
// source is quiet before anything is measured.
func waitReplicaSets(ctx context.Context, cs kubernetes.Interface, prefix string, timeout time.Duration) (int, error) {
	return waitReplicaSetsN(ctx, cs, prefix, namespaces*deploymentsPerNS, timeout)
}

// waitReplicaSetsN is waitReplicaSets for want Deployments.
func waitReplicaSetsN(ctx context.Context, cs kubernetes.Interface, prefix string, want int, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		opts := metav1.ListOptions{LabelSelector: "app.kubernetes.io/name", Limit: 500}
		for {
			l, err := cs.AppsV1().ReplicaSets("").List(ctx, opts)
			if err != nil {
				return 0, err
			}
			for _, rs := range l.Items {
				if strings.HasPrefix(rs.Namespace, prefix+"-") {
					n++
				}
			}
			if l.Continue == "" {
				break
			}
			opts.Continue = l.Continue
		}
		if n >= want {
			return n, nil
		}
		if time.Now().After(deadline) {
			return n, fmt.Errorf("%d of %d ReplicaSets after %s", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
