package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/action"
	"sigs.k8s.io/yaml"
)

// ha is the values of two replicas on PostgreSQL.
func ha(replicas int) map[string]any {
	return map[string]any{
		"replicas": replicas,
		"store":    map[string]any{"postgres": map[string]any{"existingSecret": "steadywatch-postgres"}},
	}
}

// everything turns every optional object on.
func everything() map[string]any {
	v := ha(2)
	v["serviceMonitor"] = map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}}
	v["prometheusRule"] = map[string]any{"enabled": true}
	v["dashboards"] = map[string]any{"enabled": true}
	v["networkPolicy"] = map[string]any{"enabled": true, "ingressFrom": []any{
		map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}},
	}}
	v["webhookAuth"] = map[string]any{"existingSecret": "steadywatch-token"}
	v["web"] = map[string]any{"existingSecret": "steadywatch-web", "scheme": "HTTPS"}
	v["hypotheses"] = map[string]any{"inline": map[string]any{"h.yaml": "kind: Hypothesis\n"}}
	return v
}

func TestTheChartLintsStrictly(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"the defaults":                           nil,
		"two replicas on PostgreSQL":             ha(2),
		"every optional object":                  everything(),
		"namespaced RBAC on two namespaces":      {"rbac": map[string]any{"namespaced": true}, "watchNamespaces": []any{"shop", "payments"}},
		"configuration from existing ConfigMaps": {"config": map[string]any{"existingConfigMap": "mine"}, "hypotheses": map[string]any{"existingConfigMap": "hyps"}},
	} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = "monitoring"
			res := lint.Run([]string{chartDir}, vals)
			require.Empty(t, res.Errors)
			require.Equal(t, 1, res.TotalChartsLinted)
			for _, m := range res.Messages {
				t.Log(m.Error())
			}
		})
	}
}

func TestTheDefaultsRunOneReplicaOnSQLite(t *testing.T) {
	objs := mustRender(t, nil)
	require.Equal(t, []string{
		"ClusterRole/steadywatch", "ClusterRoleBinding/steadywatch", "ConfigMap/steadywatch", "Deployment/steadywatch",
		"PersistentVolumeClaim/steadywatch", "Service/steadywatch", "ServiceAccount/steadywatch",
	}, kinds(objs))
	d := objs["Deployment/steadywatch"]
	require.EqualValues(t, 1, d.get(t, "spec", "replicas"))
	require.Equal(t, "Recreate", d.get(t, "spec", "strategy", "type"), "one SQLite writer at a time")
	require.Equal(t, []any{
		"serve", "--config", "/etc/steadywatch/config/steadywatch.yml", "--data-dir", "/var/lib/steadywatch", "--listen", ":9477",
	}, d.get(t, "spec", "template", "spec", "containers", 0, "args"))
	require.Equal(t, "steadywatch", d.get(t, "spec", "template", "spec", "volumes", 1, "persistentVolumeClaim", "claimName"))
	require.Equal(t, "ghcr.io/steadywatch/steadywatch:latest", d.get(t, "spec", "template", "spec", "containers", 0, "image"))
}

func TestMoreThanOneReplicaNeedsAPostgreSQLSecret(t *testing.T) {
	const msg = "replicas is 2 but store.postgres.existingSecret is empty: more than one replica needs a PostgreSQL store, " +
		"since SQLite has one writer; create a Secret holding a postgres:// URL at key \"dsn\" and set store.postgres.existingSecret to its name"
	t.Run("one replica needs no secret", func(t *testing.T) {
		_, err := render(t, "monitoring", map[string]any{"replicas": 1})
		require.NoError(t, err)
	})
	t.Run("two replicas without a secret fail to render, saying why", func(t *testing.T) {
		_, err := render(t, "monitoring", map[string]any{"replicas": 2})
		require.ErrorContains(t, err, msg)
	})
	t.Run("zero replicas fail to render", func(t *testing.T) {
		_, err := render(t, "monitoring", map[string]any{"replicas": 0})
		require.ErrorContains(t, err, "replicas is 0: want 1 or more")
	})
	t.Run("two replicas with a secret elect a leader on PostgreSQL", func(t *testing.T) {
		objs, err := render(t, "monitoring", ha(2))
		require.NoError(t, err)
		m := byKind(t, objs)
		d := m["Deployment/steadywatch"]
		c := object(d.get(t, "spec", "template", "spec", "containers", 0).(map[string]any))
		require.EqualValues(t, 2, d.get(t, "spec", "replicas"))
		require.Nil(t, d.get(t, "spec", "strategy"), "rolling updates: the replicas share PostgreSQL")
		require.Contains(t, c.get(t, "args"), "--leader-election")
		// The DSN (a password in it) stays out of the command line, which
		// every process on the node can read: serve reads the variable.
		for _, a := range c.get(t, "args").([]any) {
			require.NotContains(t, a, "STEADYWATCH_STORE")
			require.NotEqual(t, "--store", a)
		}
		require.Contains(t, c.get(t, "env"), map[string]any{"name": "STEADYWATCH_STORE", "valueFrom": map[string]any{
			"secretKeyRef": map[string]any{"name": "steadywatch-postgres", "key": "dsn"},
		}})
		require.Contains(t, c.get(t, "env"), map[string]any{"name": "POD_NAMESPACE", "valueFrom": map[string]any{
			"fieldRef": map[string]any{"fieldPath": "metadata.namespace"},
		}})
		require.Equal(t, map[string]any{"name": "data", "emptyDir": map[string]any{}}, d.get(t, "spec", "template", "spec", "volumes", 1))
		require.NotContains(t, m, "PersistentVolumeClaim/steadywatch")
		require.EqualValues(t, 1, m["PodDisruptionBudget/steadywatch"].get(t, "spec", "maxUnavailable"))

		role := m["Role/steadywatch-leader-election"]
		require.Equal(t, "monitoring", role.get(t, "metadata", "namespace"))
		require.Equal(t, []any{map[string]any{
			"apiGroups": []any{"coordination.k8s.io"}, "resources": []any{"leases"}, "verbs": []any{"get", "create", "update"},
		}}, role.get(t, "rules"))
		binding := m["RoleBinding/steadywatch-leader-election"]
		require.Equal(t, "steadywatch-leader-election", binding.get(t, "roleRef", "name"))
		require.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": "steadywatch", "namespace": "monitoring"}}, binding.get(t, "subjects"))
	})
	t.Run("one replica on PostgreSQL elects too: a rolling update runs the old and the new pod at once", func(t *testing.T) {
		m := mustRender(t, ha(1))
		require.Nil(t, m["Deployment/steadywatch"].get(t, "spec", "strategy"), "rolling updates")
		require.Contains(t, m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "containers", 0, "args"), "--leader-election")
		require.Contains(t, m, "Role/steadywatch-leader-election")
		require.Contains(t, m, "RoleBinding/steadywatch-leader-election")
		require.NotContains(t, m, "PodDisruptionBudget/steadywatch")
	})
	t.Run("one replica on SQLite elects nobody, and is recreated, not rolled", func(t *testing.T) {
		m := mustRender(t, nil)
		require.Equal(t, "Recreate", m["Deployment/steadywatch"].get(t, "spec", "strategy", "type"))
		require.NotContains(t, m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "containers", 0, "args"), "--leader-election")
		require.NotContains(t, m, "Role/steadywatch-leader-election")
	})
}

func TestThePodIsLockedDown(t *testing.T) {
	for name, vals := range map[string]map[string]any{"the defaults": nil, "every optional object": everything()} {
		t.Run(name, func(t *testing.T) {
			d := mustRender(t, vals)["Deployment/steadywatch"]
			pod := object(d.get(t, "spec", "template", "spec").(map[string]any))
			require.Equal(t, true, pod.get(t, "securityContext", "runAsNonRoot"))
			require.EqualValues(t, 65532, pod.get(t, "securityContext", "runAsUser"), "the image's user")
			require.Equal(t, "RuntimeDefault", pod.get(t, "securityContext", "seccompProfile", "type"))
			c := object(pod.get(t, "containers", 0).(map[string]any))
			require.Equal(t, false, c.get(t, "securityContext", "allowPrivilegeEscalation"))
			require.Equal(t, true, c.get(t, "securityContext", "readOnlyRootFilesystem"))
			require.Equal(t, []any{"ALL"}, c.get(t, "securityContext", "capabilities", "drop"))
			require.Equal(t, "/readyz", c.get(t, "readinessProbe", "httpGet", "path"))
			require.Equal(t, "/healthz", c.get(t, "livenessProbe", "httpGet", "path"))
			require.Equal(t, "http", c.get(t, "livenessProbe", "httpGet", "port"))
		})
	}
	t.Run("probe settings merge with the chart's", func(t *testing.T) {
		d := mustRender(t, map[string]any{"readinessProbe": map[string]any{"periodSeconds": 3}})["Deployment/steadywatch"]
		require.Equal(t, map[string]any{"httpGet": map[string]any{"path": "/readyz", "port": "http"}, "periodSeconds": float64(3)},
			d.get(t, "spec", "template", "spec", "containers", 0, "readinessProbe"))
	})
}

// watched is what the watchers list and watch (watcher/watcher.go,
// experiment/watch.go): pods, Deployments, StatefulSets, DaemonSets, HPAs
// and the chaos tools' experiments in each watched namespace, and nodes.
var readOnly = []any{"get", "list", "watch"}

func TestRBACGrantsWhatIsWatchedOnly(t *testing.T) {
	kubeSystem := map[string]any{"apiGroups": []any{""}, "resources": []any{"namespaces"}, "resourceNames": []any{"kube-system"}, "verbs": []any{"get"}}
	workloads := []any{
		map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments", "statefulsets", "daemonsets"}, "verbs": readOnly},
		map[string]any{"apiGroups": []any{"autoscaling"}, "resources": []any{"horizontalpodautoscalers"}, "verbs": readOnly},
		// The chaos tools' experiments (package experiment).
		map[string]any{"apiGroups": []any{"litmuschaos.io"}, "resources": []any{"chaosengines", "chaosresults"}, "verbs": readOnly},
		map[string]any{
			"apiGroups": []any{"chaos-mesh.org"}, "resources": []any{"podchaos", "networkchaos", "stresschaos", "iochaos", "timechaos"},
			"verbs": readOnly,
		},
	}
	t.Run("cluster-wide", func(t *testing.T) {
		m := mustRender(t, nil)
		require.Equal(t, append([]any{
			map[string]any{"apiGroups": []any{""}, "resources": []any{"pods", "nodes"}, "verbs": readOnly}, kubeSystem,
		}, workloads...), m["ClusterRole/steadywatch"].get(t, "rules"))
		require.Equal(t, []any{map[string]any{"kind": "ServiceAccount", "name": "steadywatch", "namespace": "monitoring"}},
			m["ClusterRoleBinding/steadywatch"].get(t, "subjects"))
	})
	t.Run("namespaced: a Role in each watched namespace, nodes cluster-wide", func(t *testing.T) {
		m := mustRender(t, map[string]any{"rbac": map[string]any{"namespaced": true}, "watchNamespaces": []any{"shop", "payments"}})
		require.Equal(t, []any{
			map[string]any{"apiGroups": []any{""}, "resources": []any{"nodes"}, "verbs": readOnly}, kubeSystem,
		}, m["ClusterRole/steadywatch"].get(t, "rules"))
		for _, ns := range []string{"shop", "payments"} {
			require.Equal(t, append([]any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": readOnly}}, workloads...),
				m["Role/"+ns+"/steadywatch"].get(t, "rules"), ns)
			require.Equal(t, "Role", m["RoleBinding/"+ns+"/steadywatch"].get(t, "roleRef", "kind"))
		}
		require.NotContains(t, m, "Role/steadywatch", "not in the release's namespace, which is not watched")
		require.Subset(t, m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "containers", 0, "args"),
			[]any{"--namespace", "shop", "--namespace", "payments"})
	})
	t.Run("namespaced without namespaces watches the release's", func(t *testing.T) {
		m := mustRender(t, map[string]any{"rbac": map[string]any{"namespaced": true}})
		require.Contains(t, m, "Role/steadywatch")
		args := m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "containers", 0, "args").([]any)
		require.Equal(t, []any{"--namespace", "monitoring"}, args[len(args)-2:])
	})
	t.Run("rbac.create=false renders none", func(t *testing.T) {
		m := mustRender(t, map[string]any{"rbac": map[string]any{"create": false}})
		for k := range m {
			require.NotContains(t, k, "Role")
		}
	})
}

func TestTheOptionalObjects(t *testing.T) {
	m := mustRender(t, everything())

	sm := m["ServiceMonitor/steadywatch"]
	require.Equal(t, "prometheus", sm.get(t, "metadata", "labels", "release"))
	require.Equal(t, "app.kubernetes.io/name", sm.get(t, "spec", "jobLabel"))
	require.Equal(t, map[string]any{
		"port": "http", "path": "/metrics", "scheme": "https", "interval": "30s",
		"authorization": map[string]any{"type": "Bearer", "credentials": map[string]any{"name": "steadywatch-token", "key": "token"}},
	}, sm.get(t, "spec", "endpoints", 0))
	svc := m["Service/steadywatch"]
	require.Equal(t, "steadywatch", svc.get(t, "metadata", "labels", "app.kubernetes.io/name"), "the job label's value")
	require.Equal(t, sm.get(t, "spec", "selector", "matchLabels"), svc.get(t, "spec", "selector"))

	// The rule groups are rules/generated's, read here independently.
	var ruleFile struct {
		Groups []any `json:"groups"`
	}
	data, err := os.ReadFile(filepath.Join(repo, "rules", "generated", "steadywatch.rules.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &ruleFile))
	require.NotEmpty(t, ruleFile.Groups)
	require.Equal(t, ruleFile.Groups, m["PrometheusRule/steadywatch"].get(t, "spec", "groups"))

	// One ConfigMap per dashboard of dashboards/generated, with the
	// sidecar's label, holding its JSON.
	files, err := filepath.Glob(filepath.Join(repo, "dashboards", "generated", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, f := range files {
		name := filepath.Base(f)
		cm := m["ConfigMap/steadywatch-dashboard-"+name[len("steadywatch-"):len(name)-len(".json")]]
		require.NotNil(t, cm, name)
		require.Equal(t, "1", cm.get(t, "metadata", "labels", "grafana_dashboard"))
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got := cm.get(t, "data", name).(string)
		require.JSONEq(t, string(want), got)
		require.True(t, json.Valid([]byte(got)))
	}

	np := m["NetworkPolicy/steadywatch"]
	require.Equal(t, []any{"Ingress"}, np.get(t, "spec", "policyTypes"))
	require.Equal(t, []any{map[string]any{"port": "http", "protocol": "TCP"}}, np.get(t, "spec", "ingress", 0, "ports"))
	require.Equal(t, "monitoring", np.get(t, "spec", "ingress", 0, "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))

	c := object(m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "containers", 0).(map[string]any))
	require.Subset(t, c.get(t, "args"), []any{
		"--web.bearer-token-file", "/etc/steadywatch/auth/tokens.yml", "--web.config.file", "/etc/steadywatch/web/web-config.yml",
	})
	require.Equal(t, "HTTPS", c.get(t, "readinessProbe", "httpGet", "scheme"))
	require.Equal(t, "bearer_token_file: /etc/steadywatch/auth/token\n", m["ConfigMap/steadywatch-auth"].get(t, "data", "tokens.yml"))
	vols := m["Deployment/steadywatch"].get(t, "spec", "template", "spec", "volumes").([]any)
	require.Contains(t, vols, map[string]any{"name": "auth", "projected": map[string]any{"sources": []any{
		map[string]any{"configMap": map[string]any{"name": "steadywatch-auth"}},
		map[string]any{"secret": map[string]any{"name": "steadywatch-token", "items": []any{map[string]any{"key": "token", "path": "token"}}}},
	}}})
	require.Contains(t, vols, map[string]any{"name": "web", "secret": map[string]any{"secretName": "steadywatch-web"}})
	require.Contains(t, vols, map[string]any{"name": "hypotheses", "configMap": map[string]any{"name": "steadywatch-hypotheses"}})
	require.Equal(t, "kind: Hypothesis\n", m["ConfigMap/steadywatch-hypotheses"].get(t, "data", "h.yaml"))
}

func TestConfigurationFromExistingConfigMaps(t *testing.T) {
	m := mustRender(t, map[string]any{
		"config": map[string]any{"existingConfigMap": "my-config"}, "hypotheses": map[string]any{"existingConfigMap": "my-hypotheses"},
	})
	require.NotContains(t, m, "ConfigMap/steadywatch")
	require.NotContains(t, m, "ConfigMap/steadywatch-hypotheses")
	d := m["Deployment/steadywatch"]
	require.Equal(t, []any{
		map[string]any{"name": "config", "configMap": map[string]any{"name": "my-config"}},
		map[string]any{"name": "data", "persistentVolumeClaim": map[string]any{"claimName": "steadywatch"}},
		map[string]any{"name": "hypotheses", "configMap": map[string]any{"name": "my-hypotheses"}},
	}, d.get(t, "spec", "template", "spec", "volumes"))
	require.Nil(t, d.get(t, "spec", "template", "metadata", "annotations"), "no checksum of a ConfigMap the chart does not own")

	_, err := render(t, "monitoring", map[string]any{"hypotheses": map[string]any{"existingConfigMap": "a", "inline": map[string]any{"h.yaml": "x"}}})
	require.ErrorContains(t, err, "hypotheses: set hypotheses.inline or hypotheses.existingConfigMap, not both")
	_, err = render(t, "monitoring", map[string]any{"config": map[string]any{"inline": ""}})
	require.ErrorContains(t, err, "config: set config.inline (the configuration file's text) or config.existingConfigMap")
}

func TestAReleaseNamedOtherwisePrefixesItsObjects(t *testing.T) {
	objs, err := renderNamed(t, "chaos", "monitoring", nil)
	require.NoError(t, err)
	m := byKind(t, objs)
	d := m["Deployment/chaos-steadywatch"]
	require.Equal(t, map[string]any{"app.kubernetes.io/name": "steadywatch", "app.kubernetes.io/instance": "chaos"},
		d.get(t, "spec", "selector", "matchLabels"))
	require.Equal(t, "chaos-steadywatch", d.get(t, "spec", "template", "spec", "serviceAccountName"))
	require.Contains(t, m, "ClusterRole/chaos-steadywatch")
}

// TestNoVolumeIsMountedInsideAnother: a ConfigMap or Secret volume is a
// read-only directory that the kubelet swaps atomically on an update; a
// mount point inside it has to be created in that directory, and the
// swap can drop it. Every mount is a sibling, for the chart with every
// option on and for what generate kubernetes writes.
func TestNoVolumeIsMountedInsideAnother(t *testing.T) {
	check := func(t *testing.T, deployment object) {
		t.Helper()
		mounts, ok := deployment.get(t, "spec", "template", "spec", "containers", 0, "volumeMounts").([]any)
		require.True(t, ok)
		require.NotEmpty(t, mounts)
		var paths []string
		for _, m := range mounts {
			paths = append(paths, filepath.Clean(m.(map[string]any)["mountPath"].(string)))
		}
		for _, outer := range paths {
			for _, inner := range paths {
				require.Falsef(t, inner != outer && strings.HasPrefix(inner, outer+"/"),
					"%s is mounted inside %s (mounts %v)", inner, outer, paths)
			}
		}
		// --config names a file in the config volume's own directory.
		args := deployment.get(t, "spec", "template", "spec", "containers", 0, "args").([]any)
		require.Contains(t, args, "/etc/steadywatch/config/steadywatch.yml")
	}
	t.Run("the chart with every option on", func(t *testing.T) {
		check(t, mustRender(t, everything())["Deployment/steadywatch"])
	})
	t.Run("generate kubernetes", func(t *testing.T) {
		for _, o := range decodeFile(t, filepath.Join(repo, "deploy", "generated", "kubernetes", "steadywatch.yaml")) {
			if o.kind() == "Deployment" {
				check(t, o)
			}
		}
	})
}

// The value cluster is the configuration's cluster: written as its first
// line, or left as it is when it names that cluster already; anything else
// is refused with the value named, never rendered into a configuration
// steadywatch would refuse at its start.
func TestTheClusterValueIsTheConfigurationsCluster(t *testing.T) {
	inline := func(text string) map[string]any { return map[string]any{"inline": text} }
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string // the configuration, or
		err  string // the error
	}{
		{"no cluster leaves the configuration as it is", map[string]any{"config": inline("listen: :1\n")}, "listen: :1\n", ""},
		{"a cluster is its first line", map[string]any{"cluster": "eu-west-1", "config": inline("listen: :1\n")}, "cluster: eu-west-1\nlisten: :1\n", ""},
		{"the cluster the configuration names already", map[string]any{"cluster": "a", "config": inline("cluster: a\n")}, "cluster: a\n", ""},
		{"another cluster than the configuration's", map[string]any{"cluster": "b", "config": inline("cluster: a\n")}, "", `cluster "b": config.inline names cluster "a"`},
		{"not a cluster name", map[string]any{"cluster": "EU_1"}, "", `cluster: "EU_1" is not a valid cluster name`},
		{"with an existing ConfigMap", map[string]any{"cluster": "a", "config": map[string]any{"existingConfigMap": "mine"}}, "", "cluster: with config.existingConfigMap, set cluster in its steadywatch.yml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := render(t, "monitoring", tc.vals)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			cm := byKind(t, objs)["ConfigMap/steadywatch"]
			require.NotNil(t, cm)
			require.Equal(t, tc.want, cm.get(t, "data", "steadywatch.yml"))
		})
	}
}

// With a cluster, the ServiceMonitor keeps steadywatch's cluster label over
// a target label of that name; without one it is as before.
func TestTheServiceMonitorHonoursTheClusterLabelOfACluster(t *testing.T) {
	for _, cluster := range []string{"", "eu-west-1"} {
		t.Run("cluster "+cluster, func(t *testing.T) {
			vals := map[string]any{"serviceMonitor": map[string]any{"enabled": true}}
			if cluster != "" {
				vals["cluster"] = cluster
			}
			sm := mustRender(t, vals)["ServiceMonitor/steadywatch"]
			require.NotNil(t, sm)
			honour, ok := sm.get(t, "spec", "endpoints", 0).(map[string]any)["honorLabels"]
			if cluster == "" {
				require.False(t, ok, "no honorLabels without a cluster")
				return
			}
			require.Equal(t, true, honour)
		})
	}
}
