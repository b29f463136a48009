package ingress

import (
	"context"
	"log/slog"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// PublishAddress writes ip into the status.loadBalancer of every Ingress
// that has no address yet, as an ingress controller publishes the address it
// serves on — what ExternalDNS makes its records from. An address someone
// else published (another controller's load balancer) is left alone. The
// status is each cluster's own: a sync never copies it. It runs until ctx
// is done.
func PublishAddress(ctx context.Context, cs kubernetes.Interface, ip string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	defer factory.Shutdown()
	inf := factory.Networking().V1().Ingresses()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	for {
		key, quit := queue.Get()
		if quit {
			return nil
		}
		ns, name, _ := cache.SplitMetaNamespaceKey(key)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ing, err := cs.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			want := []networkingv1.IngressLoadBalancerIngress{{IP: ip}}
			if len(ing.Status.LoadBalancer.Ingress) > 0 {
				return nil // ours already, or another controller's
			}
			ing.Status.LoadBalancer.Ingress = want
			_, err = cs.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{})
			return err
		})
		switch {
		case err == nil || apierrors.IsNotFound(err):
			queue.Forget(key)
		default:
			log.Info("publish the address in an Ingress's status", "ingress", key, "err", err)
			queue.AddAfter(key, time.Second)
		}
		queue.Done(key)
	}
}
