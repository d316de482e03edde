//go:build tools

package helm

// The API types controller-gen generates the CRDs from.
import _ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
