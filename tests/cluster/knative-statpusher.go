// ksiss-statpusher stands in for the Knative activator's statistics feed.
// No pod can be reached here (the cluster runs in a network namespace with
// only `lo`), so the Knative autoscaler can never scrape a queue-proxy. With
// target-burst-capacity -1 it does not try: it relies only on the stats the
// activator pushes over a websocket. This program pushes, every period, a
// zero-traffic stat for every PodAutoscaler, exactly as an idle activator
// would. The KPA then has data, computes 0 wanted pods and clamps that to
// the revision's autoscaling.knative.dev/min-scale / max-scale (and scales
// to zero after the grace period when min-scale is 0), as real Knative does
// for a revision without traffic. Built by tests/cluster/build.sh.
package main

import (
	"context"
	"flag"
	"log"
	"time"

	gorillaws "github.com/gorilla/websocket"
	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	pkgws "knative.dev/pkg/websocket"
	"knative.dev/serving/pkg/autoscaler/metrics"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	endpoint := flag.String("autoscaler", "ws://127.0.0.1:8080", "websocket of the Knative autoscaler's stat server (loopback only)")
	period := flag.Duration("period", time.Second, "how often to push stats")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	cs := servingclient.NewForConfigOrDie(cfg)
	zl, _ := zap.NewProduction()
	logger := zl.Sugar()
	conn := pkgws.NewDurableSendingConnection(*endpoint, logger)
	defer conn.Shutdown()
	for range time.Tick(*period) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		pas, err := cs.AutoscalingV1alpha1().PodAutoscalers("").List(ctx, metav1.ListOptions{})
		cancel()
		if err != nil {
			logger.Warnw("listing PodAutoscalers", zap.Error(err))
			continue
		}
		if len(pas.Items) == 0 {
			continue
		}
		sms := make([]metrics.StatMessage, 0, len(pas.Items))
		for _, pa := range pas.Items {
			sms = append(sms, metrics.StatMessage{
				Key:  types.NamespacedName{Namespace: pa.Namespace, Name: pa.Name},
				Stat: metrics.Stat{PodName: "activator-ksiss-statpusher"},
			})
		}
		wsms := metrics.ToWireStatMessages(sms)
		b, err := wsms.Marshal()
		if err != nil {
			logger.Errorw("marshaling stats", zap.Error(err))
			continue
		}
		if err := conn.SendRaw(gorillaws.BinaryMessage, b); err != nil {
			logger.Warnw("sending stats", zap.Error(err))
		}
	}
}
