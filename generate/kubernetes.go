package generate

import (
	"bytes"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/steadywatch/steadywatch/experiment"
)

// KubernetesOptions configure the manifests that run steadywatch itself.
type KubernetesOptions struct {
	// Namespace steadywatch runs in.
	Namespace string
	// Image is steadywatch's container image.
	Image string
	// Config is the configuration file's content, mounted from a
	// ConfigMap.
	Config []byte
	// Hypotheses are hypothesis files by name, mounted from a ConfigMap at
	// HypothesesDir (where the configuration's verdicts.hypotheses should
	// point); none mounts nothing.
	Hypotheses map[string][]byte
	// Port is the HTTP port; the pod listens on it on every interface
	// (--listen :PORT), whatever the configuration says, so that
	// Prometheus and Alertmanager reach it.
	Port int32
	// Cluster, if set, is written into Config as its cluster (see
	// WithCluster): the name on every series and row of this steadywatch.
	Cluster string
}

// HypothesesDir is where the manifests mount the hypothesis files.
const HypothesesDir = "/etc/steadywatch/hypotheses"

// ConfigFile is where the pod reads its configuration: in a directory of
// its own, beside the hypotheses' (a ConfigMap volume is swapped
// atomically on an update, so no volume is mounted inside another).
const ConfigFile = "/etc/steadywatch/config/steadywatch.yml"

// Kubernetes returns the manifests that run steadywatch in a cluster: its
// ServiceAccount and the read-only RBAC its informers need (cluster-wide:
// pods, nodes, Deployments, StatefulSets, HPAs, the kube-system
// namespace that names the cluster, and the chaos tools' experiments), the configuration as a ConfigMap, a
// PersistentVolumeClaim for the SQLite store, the Deployment (one replica:
// SQLite has one writer; use PostgreSQL for more) and its Service, which
// Prometheus scrapes and Alertmanager posts to.
func Kubernetes(o KubernetesOptions) ([]byte, error) {
	if o.Namespace == "" || o.Image == "" {
		return nil, fmt.Errorf("kubernetes: namespace and image are required")
	}
	if o.Port <= 0 || o.Port > 65535 {
		return nil, fmt.Errorf("kubernetes: port %d is not a TCP port", o.Port)
	}
	cfg, err := WithCluster(o.Config, o.Cluster)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	o.Config = cfg
	const name = "steadywatch"
	// The Helm chart's selector labels for a release named steadywatch, so
	// that the chart can take over what these manifests created.
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
	meta := func(kind string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Labels: labels}
		if kind != "ClusterRole" && kind != "ClusterRoleBinding" {
			m.Namespace = o.Namespace
		}
		return m
	}
	one := int32(1)
	readOnly := []string{"get", "list", "watch"}
	objects := []any{
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta("ServiceAccount")},
		&rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta("ClusterRole"),
			Rules: append([]rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: readOnly},
				{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"kube-system"}, Verbs: []string{"get"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets"}, Verbs: readOnly},
				{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: readOnly},
			}, chaosToolRules(readOnly)...),
		},
		&rbacv1.ClusterRoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: meta("ClusterRoleBinding"),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: o.Namespace}},
		},
		&corev1.ConfigMap{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta("ConfigMap"),
			Data: map[string]string{"steadywatch.yml": string(o.Config)},
		},
		hypothesesConfigMap(o, meta("ConfigMap")),
		&corev1.PersistentVolumeClaim{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"}, ObjectMeta: meta("PersistentVolumeClaim"),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		},
		&appsv1.Deployment{
			TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta("Deployment"),
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				// SQLite has one writer: never two pods on one volume.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						ServiceAccountName: name,
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot: new(true), RunAsUser: new(int64(65532)), FSGroup: new(int64(65532)),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						Containers: []corev1.Container{{
							Name: name, Image: o.Image,
							Args: []string{
								"serve", "--config", ConfigFile, "--data-dir", "/var/lib/steadywatch",
								"--listen", ":" + strconv.Itoa(int(o.Port)),
							},
							// The Lease's namespace, should kubernetes.leader_election be on.
							Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
								FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"},
							}}},
							Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: o.Port}},
							ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/readyz", Port: intstr.FromString("http"),
							}}},
							LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/healthz", Port: intstr.FromString("http"),
							}}},
							Resources: corev1.ResourceRequirements{
								Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
								Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
							},
							SecurityContext: &corev1.SecurityContext{
								AllowPrivilegeEscalation: new(false), ReadOnlyRootFilesystem: new(true),
								Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "config", MountPath: path.Dir(ConfigFile), ReadOnly: true},
								{Name: "data", MountPath: "/var/lib/steadywatch"},
								{Name: "hypotheses", MountPath: HypothesesDir, ReadOnly: true},
							},
						}},
						Volumes: []corev1.Volume{
							{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: name},
							}}},
							{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
								ClaimName: name,
							}}},
							{Name: "hypotheses", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
								LocalObjectReference: corev1.LocalObjectReference{Name: name + "-hypotheses"},
							}}},
						},
					},
				},
			},
		},
		&corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta("Service"),
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports:    []corev1.ServicePort{{Name: "http", Port: o.Port, TargetPort: intstr.FromString("http")}},
			},
		},
	}
	if len(o.Hypotheses) == 0 {
		objects = slices.Delete(objects, 4, 5) // no hypotheses ConfigMap
		d := objects[len(objects)-2].(*appsv1.Deployment)
		spec := &d.Spec.Template.Spec
		spec.Volumes = spec.Volumes[:2]
		spec.Containers[0].VolumeMounts = spec.Containers[0].VolumeMounts[:2]
	}
	var b bytes.Buffer
	b.WriteString("# Generated by steadywatch: runs steadywatch serve in the cluster.\n")
	for _, obj := range objects {
		data, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(bytes.ReplaceAll(data, []byte("  creationTimestamp: null\n"), nil))
	}
	return b.Bytes(), nil
}

// ListenPort returns the port of a listen address (":9477").
func ListenPort(listen string) (int32, error) {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return 0, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return 0, err
	}
	return int32(p), nil
}

func hypothesesConfigMap(o KubernetesOptions, meta metav1.ObjectMeta) *corev1.ConfigMap {
	meta.Name += "-hypotheses"
	data := make(map[string]string, len(o.Hypotheses))
	for name, content := range o.Hypotheses {
		data[name] = string(content)
	}
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta, Data: data}
}

// chaosToolRules grants reading the chaos tools' resources the experiment
// watcher reads (when the tools are installed: RBAC may name resources
// that are not served), one rule per API group.
func chaosToolRules(verbs []string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, r := range experiment.Resources {
		if n := len(rules); n > 0 && rules[n-1].APIGroups[0] == r.Group {
			rules[n-1].Resources = append(rules[n-1].Resources, r.Resource)
			continue
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: []string{r.Resource}, Verbs: verbs})
	}
	return rules
}
