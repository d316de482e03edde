package demo

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/steadywatch/steadywatch/pipelinesim"
)

// kwok's node-not-ready stage (the testbed installs it) makes a node whose
// label is set NotReady, as a shut-down host's kubelet stops reporting:
// the node lifecycle controller then taints it and evicts its pods.
const (
	notReadyLabel  = "node-not-ready.stage.kwok.x-k8s.io"
	notReadyDelay  = notReadyLabel + "/delay"
	notReadyJitter = notReadyLabel + "/jitter-delay"
)

func patchNode(ctx context.Context, c kubernetes.Interface, name, patch string) (*corev1.Node, error) {
	n, err := c.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("patching node %s: %w", name, err)
	}
	return n, nil
}

// takeNodeDown makes kwok report the node NotReady, as a host shut down.
func takeNodeDown(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := patchNode(ctx, c, name, fmt.Sprintf(`{"metadata":{"labels":{%q:"true"},"annotations":{%q:null,%q:null}}}`,
		notReadyLabel, notReadyDelay, notReadyJitter))
	return err
}

// bringNodeBack makes kwok report the node Ready again, once. While the
// label is on, kwok's stage applies NotReady again 1–2 s after every
// change of the node; one in flight when the label goes would make the
// node blip NotReady once more. So the re-application is put off by an
// hour first, and the label goes once the node has been left unchanged
// for a second.
func bringNodeBack(ctx context.Context, c kubernetes.Interface, name string) error {
	n, err := patchNode(ctx, c, name, fmt.Sprintf(`{"metadata":{"annotations":{%q:"1h",%q:"1h"}}}`, notReadyDelay, notReadyJitter))
	if err != nil {
		return err
	}
	if err := awaitNodeUnchanged(ctx, c, name, n.ResourceVersion, time.Second, 30*time.Second); err != nil {
		return err
	}
	_, err = patchNode(ctx, c, name, fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, notReadyLabel))
	return err
}

// awaitNodeUnchanged waits until the API has left the node unchanged for
// quiet after resource version rv.
func awaitNodeUnchanged(ctx context.Context, c kubernetes.Interface, name, rv string, quiet, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := c.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: rv})
	if err != nil {
		return fmt.Errorf("watching node %s: %w", name, err)
	}
	defer w.Stop()
	still := time.NewTimer(quiet)
	defer still.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return fmt.Errorf("node %s: the watch ended before the node was left unchanged for %s (within %s): %w", name, quiet, timeout, ctx.Err())
			}
			still.Reset(quiet)
		case <-still.C:
			return nil
		}
	}
}

// nodeReady reports whether the node's Ready condition is True.
func nodeReady(ctx context.Context, c kubernetes.Interface, name string) (bool, error) {
	n, err := c.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}

// setCPU sets kwok's fake CPU usage of the pods, which metrics-server
// reports and the HPA acts on, and which the pipeline simulator reads as
// CPU starvation. Pods already at usage are left alone.
func setCPU(ctx context.Context, c kubernetes.Interface, pods []corev1.Pod, usage string) error {
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, pipelinesim.CPUUsageAnnotation, usage)
	for _, p := range pods {
		if p.Annotations[pipelinesim.CPUUsageAnnotation] == usage {
			continue
		}
		if _, err := c.CoreV1().Pods(Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("setting the CPU usage of %s: %w", p.Name, err)
		}
	}
	return nil
}

// cpuLoad holds a group's API pods at a CPU usage that a total load spread
// over them makes (milli-CPUs / replicas): the share of a node-wide CPU
// attack, or of the requests, each pod bears falls as the HPA adds pods.
// It runs until ctx is done.
func cpuLoad(ctx context.Context, c kubernetes.Interface, group string, totalMilli int, perPod func(n int) int) error {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		// ctx's deadline is the load's end, not the API calls': client-go's
		// rate limiter refuses a call that might outlast it, as an error.
		if err := loadOnce(ctx, c, group, totalMilli, perPod); err != nil {
			if ctx.Err() != nil {
				return nil // the load's time is up
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// loadOnce sets the group's API pods' CPU usage once, each API call bounded
// on its own.
func loadOnce(ctx context.Context, c kubernetes.Interface, group string, totalMilli int, perPod func(n int) int) error {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pods, err := podsOf(callCtx, c, "app="+apiName(group))
	if err != nil || len(pods) == 0 {
		return err
	}
	m := totalMilli / len(pods)
	if perPod != nil {
		m = perPod(len(pods))
	}
	return setCPU(callCtx, c, pods, fmt.Sprintf("%dm", m))
}
