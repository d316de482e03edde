package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Runs first so that a cold build happens here, where it is timed, and the
// other tests find a warm cache.
func TestEnsureIsCached(t *testing.T) {
	SkipIfDisabled(t)
	log := TestLogger(t)

	start := time.Now()
	bins, err := Ensure(t.Context(), BuildOptions{}, log)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	t.Logf("first Ensure took %s (cache %s)", time.Since(start).Round(time.Millisecond), bins.Dir)
	mtimes := map[string]time.Time{}
	for _, p := range bins.executables() {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("binary missing after Ensure: %v", err)
		}
		mtimes[p] = fi.ModTime()
	}

	start = time.Now()
	again, err := Ensure(t.Context(), BuildOptions{}, log)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	t.Logf("second Ensure took %s", took)
	// A cached Ensure hashes the cache's 420 MB against its manifest:
	// 0.9 s at load 9–11 on the 2-core machine. A rebuild, even from a
	// warm build cache, links three control-plane binaries: far more than
	// 10 s. The binaries' unchanged mtimes below say it did not rebuild.
	if took >= 10*time.Second {
		t.Errorf("second Ensure took %s, want < 10s (it should not rebuild)", took)
	}
	if again != bins {
		t.Errorf("second Ensure returned %+v, want %+v", again, bins)
	}
	for p, mt := range mtimes {
		if fi, err := os.Stat(p); err != nil || !fi.ModTime().Equal(mt) {
			t.Errorf("%s was rewritten by the second Ensure", p)
		}
	}
}

// Each built binary answers --version as the command it stands for, and
// the three k8s names of the one multi-call binary each run the command
// they name.
func TestEveryBinaryAnswersVersionAsItsCommand(t *testing.T) {
	SkipIfDisabled(t)
	bins, err := Ensure(t.Context(), BuildOptions{}, TestLogger(t))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	info, err := verify(bins.Dir)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	run := func(bin string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
		}
		return string(out)
	}
	for bin, want := range map[string]string{
		bins.Etcd:                  "etcd Version: " + strings.TrimPrefix(info.EtcdVersion, "v") + "\n",
		bins.KubeAPIServer:         "Kubernetes " + DefaultK8sVersion + "\n",
		bins.KubeControllerManager: "Kubernetes " + DefaultK8sVersion + "\n",
		bins.KubeScheduler:         "Kubernetes " + DefaultK8sVersion + "\n",
		bins.Kwok:                  "kwok version " + DefaultKwokVersion + " ",
		// metrics-server's version is stamped by its Makefile, not go build.
		bins.MetricsServer: "v",
	} {
		if out := run(bin, "--version"); !strings.HasPrefix(out, want) {
			t.Errorf("%s --version printed %q, want it to start with %q", filepath.Base(bin), out, want)
		}
	}
	for _, bin := range []string{bins.KubeAPIServer, bins.KubeControllerManager, bins.KubeScheduler} {
		want := "Usage:\n  " + filepath.Base(bin) + " [flags]\n"
		if out := run(bin, "--help"); !strings.Contains(out, want) {
			t.Errorf("%s --help does not contain %q:\n%.300s", filepath.Base(bin), want, out)
		}
	}
}

func TestBuildLockSerializes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	log := TestLogger(t)
	unlock, err := lockFile(t.Context(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan error, 1)
	go func() {
		unlock2, err := lockFile(t.Context(), path, log)
		if err == nil {
			unlock2()
		}
		acquired <- err
	}()
	select {
	case err := <-acquired:
		t.Fatalf("second lock acquired while the first was held (err=%v)", err)
	case <-time.After(500 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatalf("second lock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second lock not acquired after the first was released")
	}

	// A waiter gives up when its context ends.
	unlock, err = lockFile(t.Context(), path, log)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, log); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock with expired context: got %v, want DeadlineExceeded", err)
	}
}

func TestWrapperGoMod(t *testing.T) {
	in := "module k8s.io/kubernetes\n\ngo 1.24.0\n\ngodebug default=go1.24\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n\n" +
		"replace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n)\n" +
		"replace k8s.io/kms => ./staging/src/k8s.io/kms\nreplace example.com/x => example.com/y v1.0.0\n"
	out, n := wrapperGoMod([]byte(in), "v0.33.13")
	if n != 3 {
		t.Errorf("got %d replaces, want 3:\n%s", n, out)
	}
	for _, want := range []string{
		"module " + wrapperModule, "go 1.24.0", "godebug default=go1.24",
		"k8s.io/api => k8s.io/api v0.33.13", "k8s.io/client-go => k8s.io/client-go v0.33.13", "k8s.io/kms => k8s.io/kms v0.33.13",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("wrapper go.mod lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "example.com") {
		t.Errorf("wrapper go.mod copied an unrelated replace:\n%s", out)
	}
}

func TestTestbed(t *testing.T) {
	SkipIfDisabled(t)
	ctx := t.Context()
	bins, err := Ensure(ctx, BuildOptions{}, TestLogger(t))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}

	start := time.Now()
	tb := New(t, Options{Binaries: bins, MetricsServer: true})
	t.Logf("Start to healthy (incl. metrics API available, default ServiceAccount): %s", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(tb.Kubeconfig()); err != nil {
		t.Errorf("kubeconfig: %v", err)
	}
	if v, err := tb.Client().Discovery().ServerVersion(); err != nil || v.GitVersion != DefaultK8sVersion {
		t.Errorf("server version = %v, %v; want %s", v, err, DefaultK8sVersion)
	}

	start = time.Now()
	if _, err := tb.CreateNode(ctx, "kwok-node-0", map[string]string{"zone": "a"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("node Ready after %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if _, err := tb.Client().AppsV1().Deployments("default").Create(ctx, webDeployment(2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = tb.WaitFor(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		pods, err := tb.Client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		return countRunningReady(pods.Items) == 2, nil
	})
	if err != nil {
		t.Fatalf("waiting for 2 Running+Ready pods: %v", err)
	}
	t.Logf("2 pods Running+Ready %s after creating the Deployment", time.Since(start).Round(time.Millisecond))

	// The aggregated metrics API answers through the front-proxy certificates.
	if _, err := tb.Client().CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/nodes").DoRaw(ctx); err != nil {
		t.Errorf("listing node metrics: %v", err)
	}

	procs := tb.processes()
	if len(procs) != 6 {
		t.Errorf("got %d processes, want 6", len(procs))
	}
	dir := tb.Dir()
	start = time.Now()
	if err := tb.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(start).Round(time.Millisecond))
	for _, p := range procs {
		if err := syscall.Kill(p.pid(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still alive after Stop (kill -0: %v)", p.name, p.pid(), err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir %s still exists after Stop (stat: %v)", dir, err)
	}
	if err := tb.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// Two instances at once, as two test packages would run them.
func TestParallelTestbeds(t *testing.T) {
	SkipIfDisabled(t)
	bins, err := Ensure(t.Context(), BuildOptions{}, TestLogger(t))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	var (
		mu   sync.Mutex
		urls = map[string]bool{}
	)
	for i := range 2 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			tb := New(t, Options{Binaries: bins})
			mu.Lock()
			urls[tb.APIServerURL()] = true
			mu.Unlock()
			if _, err := tb.CreateNamespace(t.Context(), "team-a"); err != nil {
				t.Fatal(err)
			}
			if _, err := tb.CreateNode(t.Context(), "kwok-node-0", nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Cleanup(func() {
		if len(urls) != 2 {
			t.Errorf("instances shared an apiserver: %v", urls)
		}
	})
}

func webDeployment(replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "90m", "kwok.x-k8s.io/usage-memory": "50Mi"},
				},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{KwokNodeLabel: "kwok"},
					Tolerations:  []corev1.Toleration{{Key: KwokTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{
						Name:  "web",
						Image: "fake",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("100m"),
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
					}},
				},
			},
		},
	}
}

func countRunningReady(pods []corev1.Pod) int {
	n := 0
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}
