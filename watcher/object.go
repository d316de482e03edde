package watcher

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/steadywatch/steadywatch/tracker"
)

// podObject is what the pod informer caches: the pod already converted to
// the tracker's terms, about a third of a stripped *corev1.Pod (1128 bytes
// of struct before any of its maps and slices). Its identity is read from
// the converted pod rather than kept twice: every byte here is paid 10,000
// times in the memory benchmark.
type podObject struct {
	pod             tracker.Pod
	resourceVersion string
}

func (p *podObject) GetNamespace() string                          { return p.pod.Ref.Namespace }
func (p *podObject) SetNamespace(v string)                         { p.pod.Ref.Namespace = v }
func (p *podObject) GetName() string                               { return p.pod.Ref.Name }
func (p *podObject) SetName(v string)                              { p.pod.Ref.Name = v }
func (p *podObject) GetGenerateName() string                       { return "" }
func (p *podObject) SetGenerateName(string)                        {}
func (p *podObject) GetUID() types.UID                             { return types.UID(p.pod.UID) }
func (p *podObject) SetUID(v types.UID)                            { p.pod.UID = string(v) }
func (p *podObject) GetResourceVersion() string                    { return p.resourceVersion }
func (p *podObject) SetResourceVersion(v string)                   { p.resourceVersion = v }
func (p *podObject) GetGeneration() int64                          { return 0 }
func (p *podObject) SetGeneration(int64)                           {}
func (p *podObject) GetSelfLink() string                           { return "" }
func (p *podObject) SetSelfLink(string)                            {}
func (p *podObject) GetCreationTimestamp() metav1.Time             { return metav1.NewTime(p.pod.Created) }
func (p *podObject) SetCreationTimestamp(metav1.Time)              {}
func (p *podObject) GetDeletionTimestamp() *metav1.Time            { return nil }
func (p *podObject) SetDeletionTimestamp(*metav1.Time)             {}
func (p *podObject) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (p *podObject) SetDeletionGracePeriodSeconds(*int64)          {}
func (p *podObject) GetLabels() map[string]string                  { return nil }
func (p *podObject) SetLabels(map[string]string)                   {}
func (p *podObject) GetAnnotations() map[string]string             { return nil }
func (p *podObject) SetAnnotations(map[string]string)              {}
func (p *podObject) GetFinalizers() []string                       { return nil }
func (p *podObject) SetFinalizers([]string)                        {}
func (p *podObject) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (p *podObject) SetOwnerReferences([]metav1.OwnerReference)    {}
func (p *podObject) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (p *podObject) SetManagedFields([]metav1.ManagedFieldsEntry)  {}

var _ metav1.Object = (*podObject)(nil)

// GetObjectKind implements runtime.Object.
func (*podObject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (p *podObject) DeepCopyObject() runtime.Object {
	c := *p
	return &c
}
