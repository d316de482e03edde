package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// ClusterReport is one cluster's report among several.
type ClusterReport struct {
	// Cluster is the cluster's name (config cluster:), "" for the
	// unnamed one.
	Cluster string  `json:"cluster"`
	Report  *Report `json:"report"`
}

// Clustered is the report of several clusters of one store: each
// cluster's report computed from its rows alone (a service of the same
// name in two clusters is two services, an alert of the same fingerprint
// two alerts), and the counts added up across them.
type Clustered struct {
	Clusters []ClusterReport `json:"clusters"`
	// Total adds up the clusters' counts (SEVs by level, alerts firing,
	// notifications); times (MTTR, MTTD, resolution) are per cluster only,
	// as a mean of means would mislead.
	Total ClusterTotal `json:"total"`
}

// ClusterTotal is the counts of a Clustered report, added up.
type ClusterTotal struct {
	SEVs          int           `json:"sevs"`
	ByLevel       map[Level]int `json:"sevs_by_level"`
	AlertsFiring  int           `json:"alerts_firing"`
	Notifications int           `json:"alerts_notifications"`
}

// WeeklyClusters computes the report of each cluster in names, reading each
// from source(name), with the same options.
func WeeklyClusters(ctx context.Context, names []string, source func(cluster string) (Source, error), opts Options) (*Clustered, error) {
	out := &Clustered{Total: ClusterTotal{ByLevel: map[Level]int{}}}
	for _, name := range names {
		src, err := source(name)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", name, err)
		}
		r, err := Weekly(ctx, src, opts)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", name, err)
		}
		out.Clusters = append(out.Clusters, ClusterReport{Cluster: name, Report: r})
		cur := &r.Total.Current
		out.Total.SEVs += cur.SEVs.Total
		for l, n := range cur.SEVs.ByLevel {
			out.Total.ByLevel[l] += n
		}
		out.Total.AlertsFiring += cur.Alerts.Firing
		out.Total.Notifications += cur.Alerts.Notifications
	}
	return out, nil
}

// clusterTitle shows a cluster's name, the unnamed one too.
func clusterTitle(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return name
}

// WriteClustered writes c as format: md a section per cluster after a
// table of the clusters' counts and their total; json the Clustered
// object; csv every cluster's rows with a cluster column first. html is
// one cluster's page: ask for one cluster.
func WriteClustered(w io.Writer, c *Clustered, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(c)
	case "csv":
		return writeClusteredCSV(w, c)
	case "md":
		return writeClusteredMarkdown(w, c)
	case "html":
		return fmt.Errorf("format html: a page shows one cluster; ask for one cluster, not %d", len(c.Clusters))
	}
	return Write(w, nil, format) // names the formats known
}

func writeClusteredCSV(w io.Writer, c *Clustered) error {
	cw := csv.NewWriter(w)
	for i, cr := range c.Clusters {
		var buf bytes.Buffer
		if err := WriteCSV(&buf, cr.Report); err != nil {
			return err
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			return err
		}
		for j, rec := range records {
			if j == 0 {
				if i > 0 {
					continue // one header
				}
				rec = append([]string{"cluster"}, rec...)
			} else {
				rec = append([]string{cr.Cluster}, rec...)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeClusteredMarkdown(w io.Writer, c *Clustered) error {
	var b bytes.Buffer
	b.WriteString("# Weekly report of several clusters\n\n")
	b.WriteString("Each cluster's report is its own (its services, alerts and SEVs); the counts add up below.\n\n")
	b.WriteString("| Cluster | SEVs | Alerts firing | Notifications |\n|---|---:|---:|---:|\n")
	for _, cr := range c.Clusters {
		cur := &cr.Report.Total.Current
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", cell(clusterTitle(cr.Cluster)), cur.SEVs.Total, cur.Alerts.Firing, cur.Alerts.Notifications)
	}
	fmt.Fprintf(&b, "| **Total** | %s | %s | %s |\n\n", strconv.Itoa(c.Total.SEVs), strconv.Itoa(c.Total.AlertsFiring), strconv.Itoa(c.Total.Notifications))
	if _, err := b.WriteTo(w); err != nil {
		return err
	}
	for _, cr := range c.Clusters {
		if _, err := fmt.Fprintf(w, "# Cluster %s\n\n", clusterTitle(cr.Cluster)); err != nil {
			return err
		}
		if err := WriteMarkdown(w, cr.Report); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return nil
}
