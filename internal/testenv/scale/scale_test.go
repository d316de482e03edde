package scale

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name string, phase corev1.PodPhase, ready, terminating bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: corev1.PodStatus{
			Phase:             phase,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: ready}},
		},
	}
	if terminating {
		p.DeletionTimestamp = &metav1.Time{}
		p.Finalizers = []string{"keep"}
	}
	return p
}

func TestReadyAgainMarksOnlyRunningPodsLeftNotReady(t *testing.T) {
	c := fake.NewClientset(
		pod("stuck", corev1.PodRunning, false, false),
		pod("ready", corev1.PodRunning, true, false),
		pod("starting", corev1.PodPending, false, false),
		pod("going", corev1.PodRunning, false, true),
	)
	n, err := ReadyAgain(t.Context(), c, "ns")
	require.NoError(t, err)
	require.Equal(t, 1, n)

	want := map[string]bool{"stuck": true, "ready": true, "starting": false, "going": false}
	for name, ready := range want {
		p, err := c.CoreV1().Pods("ns").Get(t.Context(), name, metav1.GetOptions{})
		require.NoError(t, err)
		require.Equal(t, ready, Ready(p), name)
		require.Equal(t, ready, p.Status.ContainerStatuses[0].Ready, name)
	}
	for _, cond := range mustGet(t, c, "stuck").Status.Conditions {
		require.Equal(t, corev1.ConditionTrue, cond.Status, cond.Type)
	}
	require.Len(t, mustGet(t, c, "stuck").Status.Conditions, 2, "Ready replaced, ContainersReady added")

	n, err = ReadyAgain(t.Context(), c, "ns")
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to mark")
}

func mustGet(t *testing.T, c *fake.Clientset, name string) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods("ns").Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return p
}

func TestParallelCallsEachIndexOnceAndReturnsEveryError(t *testing.T) {
	var calls [50]atomic.Int32
	err := Parallel(len(calls), 4, func(i int) error {
		calls[i].Add(1)
		if i%10 == 3 {
			return errors.New("failed")
		}
		return nil
	})
	for i := range calls {
		require.Equal(t, int32(1), calls[i].Load(), i)
	}
	require.Error(t, err)
	require.Len(t, err.(interface{ Unwrap() []error }).Unwrap(), 5)

	require.NoError(t, Parallel(3, 2, func(int) error { return nil }))
}
