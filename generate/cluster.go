package generate

import (
	"fmt"

	"github.com/steadywatch/steadywatch/config"
)

// WithCluster returns the configuration file data naming cluster (config's
// cluster): as it is when it names that cluster already, else with
// "cluster: NAME" as its first line, which is what the Helm chart's value
// cluster renders too, so that the two stay alike. An empty cluster leaves
// data alone; a configuration naming another cluster, or a name that is not
// a cluster name, is an error.
func WithCluster(data []byte, cluster string) ([]byte, error) {
	if cluster == "" {
		return data, nil
	}
	cfg, err := config.Parse(data, "the configuration")
	if err != nil {
		return nil, err
	}
	switch cfg.Cluster {
	case cluster:
		return data, nil
	case "":
	default:
		return nil, fmt.Errorf("cluster %q: the configuration names cluster %q", cluster, cfg.Cluster)
	}
	out := append([]byte("cluster: "+cluster+"\n"), data...)
	if cfg, err = config.Parse(out, "the configuration with its cluster"); err != nil {
		return nil, err
	}
	if cfg.Cluster != cluster {
		return nil, fmt.Errorf("cluster %q: the configuration with it names cluster %q", cluster, cfg.Cluster)
	}
	return out, nil
}
