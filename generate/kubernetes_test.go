package generate_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/steadywatch/steadywatch/generate"
)

func TestTheKubernetesManifestsDecodeStrictlyAsTheirKinds(t *testing.T) {
	out, err := generate.Kubernetes(generate.KubernetesOptions{
		Namespace: "monitoring", Image: "ghcr.io/steadywatch/steadywatch:dev", Config: []byte("listen: :9477\n"), Port: 9477,
	})
	require.NoError(t, err)
	again, err := generate.Kubernetes(generate.KubernetesOptions{
		Namespace: "monitoring", Image: "ghcr.io/steadywatch/steadywatch:dev", Config: []byte("listen: :9477\n"), Port: 9477,
	})
	require.NoError(t, err)
	require.Equal(t, out, again)

	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	kinds := map[string]runtime.Object{}
	for _, doc := range strings.Split(string(out), "\n---\n")[1:] {
		obj, gvk, err := decoder.Decode([]byte(doc), nil, nil)
		require.NoError(t, err, doc)
		kinds[gvk.Kind] = obj
	}
	require.Len(t, kinds, 7)
	d := kinds["Deployment"].(*appsv1.Deployment)
	require.Equal(t, "monitoring", d.Namespace)
	require.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "one SQLite writer at a time")
	require.Equal(t, int32(9477), d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort)
	role := kinds["ClusterRole"].(*rbacv1.ClusterRole)
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			require.Contains(t, []string{"get", "list", "watch"}, v, "read-only")
		}
	}
	// The chaos tools' experiments (package experiment), when installed.
	require.Subset(t, role.Rules, []rbacv1.PolicyRule{
		{APIGroups: []string{"litmuschaos.io"}, Resources: []string{"chaosengines", "chaosresults"}, Verbs: []string{"get", "list", "watch"}},
		{
			APIGroups: []string{"chaos-mesh.org"}, Resources: []string{"podchaos", "networkchaos", "stresschaos", "iochaos", "timechaos"},
			Verbs: []string{"get", "list", "watch"},
		},
	})
}

func TestKubernetesOptionsAreChecked(t *testing.T) {
	_, err := generate.Kubernetes(generate.KubernetesOptions{Image: "x"})
	require.EqualError(t, err, "kubernetes: namespace and image are required")
	_, err = generate.Kubernetes(generate.KubernetesOptions{Namespace: "m", Image: "x", Port: 70000})
	require.EqualError(t, err, "kubernetes: port 70000 is not a TCP port")
}
