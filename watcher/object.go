package watcher

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/steadywatch/steadywatch/incident"
)

// identity is the part of an object's metadata the informer machinery reads:
// its key (namespace/name), UID and resource version. It implements
// metav1.Object so that compact objects can live in an informer's cache;
// everything else reads as empty and is not kept.
type identity struct {
	namespace, name, uid, resourceVersion string
}

func identityOf(m *metav1.ObjectMeta) identity {
	return identity{namespace: m.Namespace, name: m.Name, uid: string(m.UID), resourceVersion: m.ResourceVersion}
}

func (i *identity) GetNamespace() string                          { return i.namespace }
func (i *identity) SetNamespace(v string)                         { i.namespace = v }
func (i *identity) GetName() string                               { return i.name }
func (i *identity) SetName(v string)                              { i.name = v }
func (i *identity) GetGenerateName() string                       { return "" }
func (i *identity) SetGenerateName(string)                        {}
func (i *identity) GetUID() types.UID                             { return types.UID(i.uid) }
func (i *identity) SetUID(v types.UID)                            { i.uid = string(v) }
func (i *identity) GetResourceVersion() string                    { return i.resourceVersion }
func (i *identity) SetResourceVersion(v string)                   { i.resourceVersion = v }
func (i *identity) GetGeneration() int64                          { return 0 }
func (i *identity) SetGeneration(int64)                           {}
func (i *identity) GetSelfLink() string                           { return "" }
func (i *identity) SetSelfLink(string)                            {}
func (i *identity) GetCreationTimestamp() metav1.Time             { return metav1.Time{} }
func (i *identity) SetCreationTimestamp(metav1.Time)              {}
func (i *identity) GetDeletionTimestamp() *metav1.Time            { return nil }
func (i *identity) SetDeletionTimestamp(*metav1.Time)             {}
func (i *identity) GetDeletionGracePeriodSeconds() *int64         { return nil }
func (i *identity) SetDeletionGracePeriodSeconds(*int64)          {}
func (i *identity) GetLabels() map[string]string                  { return nil }
func (i *identity) SetLabels(map[string]string)                   {}
func (i *identity) GetAnnotations() map[string]string             { return nil }
func (i *identity) SetAnnotations(map[string]string)              {}
func (i *identity) GetFinalizers() []string                       { return nil }
func (i *identity) SetFinalizers([]string)                        {}
func (i *identity) GetOwnerReferences() []metav1.OwnerReference   { return nil }
func (i *identity) SetOwnerReferences([]metav1.OwnerReference)    {}
func (i *identity) GetManagedFields() []metav1.ManagedFieldsEntry { return nil }
func (i *identity) SetManagedFields([]metav1.ManagedFieldsEntry)  {}

var _ metav1.Object = (*identity)(nil)

// podObject is what the pod informer caches: the pod already converted to
// the tracker's terms, about a third of a stripped *corev1.Pod (1128 bytes
// of struct before any of its maps and slices). The 10,000-pod benchmark is
// what this is for.
type podObject struct {
	identity
	pod incident.Pod
}

// GetObjectKind implements runtime.Object.
func (*podObject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (p *podObject) DeepCopyObject() runtime.Object {
	c := *p
	return &c
}
