package contract

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// CheckCluster refuses a name that cannot be a cluster's (config cluster:,
// the LabelCluster value, the cluster of a stored row): a cluster is ""
// (the unnamed one) or an RFC 1123 label. The error names the value, not
// where it was given: callers prefix the flag, parameter or field.
func CheckCluster(name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid cluster name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}
