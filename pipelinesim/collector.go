package pipelinesim

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// The series are named as prometheus_flask_exporter and postgres_exporter
// name them, which the example hypotheses query.
var (
	requestsDesc = prometheus.NewDesc("flask_http_request_total",
		"Requests the Flask API answered, by status.", []string{groupLabelName, "method", "status"}, nil)
	exceptionsDesc = prometheus.NewDesc("flask_http_request_exceptions_total",
		"Requests that raised an exception in the Flask API.", []string{groupLabelName, "method", "status"}, nil)
	durationDesc = prometheus.NewDesc("flask_http_request_duration_seconds",
		"Time the Flask API took to answer.", []string{groupLabelName, "method"}, nil)
	commitsDesc = prometheus.NewDesc("pg_stat_database_xact_commit", // postgres_exporter names this counter without _total
		"Transactions committed in the database.", []string{groupLabelName, "datname"}, nil)
	completedTasksDesc = prometheus.NewDesc("metrics_executor_completedTasks_total",
		"Spark tasks the pipeline's workers completed.", []string{groupLabelName}, nil)
	failedTasksDesc = prometheus.NewDesc("metrics_executor_failedTasks_total",
		"Spark tasks that failed on the pipeline's workers.", []string{groupLabelName}, nil)
	upDesc = prometheus.NewDesc("pg_up",
		"Whether the Postgres instance answers.", []string{groupLabelName, "pod", "role"}, nil)
	lagDesc = prometheus.NewDesc("pg_replication_lag_seconds",
		"How far the instance's replay is behind the primary (0 on the primary).", []string{groupLabelName, "pod"}, nil)
	// nodeConditionDesc is kube-state-metrics' series of the nodes' Ready
	// condition, which kube-prometheus' KubeNodeNotReady alerts on (the
	// demo runs no kube-state-metrics): one series per status, 1 for the
	// node's, with the node's name for the alert to say which.
	nodeConditionDesc = prometheus.NewDesc("kube_node_status_condition",
		"The condition of a cluster node.", []string{"node", "condition", "status"}, nil)
)

// collector takes a snapshot of the Sim at scrape time.
type collector struct{ s *Sim }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, exceptionsDesc, durationDesc, commitsDesc, completedTasksDesc, failedTasksDesc, upDesc, lagDesc, nodeConditionDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return
	}
	s.advance()
	if nodes, err := s.nodes.List(labels.Everything()); err == nil {
		for _, n := range nodes {
			status := "unknown"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					status = strings.ToLower(string(c.Status))
				}
			}
			for _, st := range []string{"true", "false", "unknown"} {
				v := 0.0
				if st == status {
					v = 1
				}
				ch <- prometheus.MustNewConstMetric(nodeConditionDesc, prometheus.GaugeValue, v, n.Name, "Ready", st)
			}
		}
	}
	for _, g := range s.groups {
		t := s.totals[g]
		counter := func(d *prometheus.Desc, v float64, lv ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, math.Floor(v), append([]string{g}, lv...)...)
		}
		counter(requestsDesc, t.ok, "GET", "200")
		counter(requestsDesc, t.serverErrors, "GET", "500")
		counter(requestsDesc, t.unavailable, "GET", "503")
		counter(exceptionsDesc, t.serverErrors, "GET", "500")
		counter(commitsDesc, t.commits, "lmd")
		counter(completedTasksDesc, t.sparkCompleted)
		counter(failedTasksDesc, t.sparkFailed)
		buckets := make(map[float64]uint64, len(t.buckets))
		for i, b := range s.model.Buckets {
			buckets[b] = uint64(t.buckets[i])
		}
		ch <- prometheus.MustNewConstHistogram(durationDesc, uint64(t.count), t.sum, buckets, g, "GET")
		pg := s.state[g].postgres
		for _, name := range slices.Sorted(maps.Keys(pg)) {
			p := pg[name]
			up := 0.0
			if p.ready {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, up, g, name, p.role)
			switch {
			case p.role == ComponentReplica:
				ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, t.lag[name], g, name)
			case p.ready:
				// postgres_exporter's pg_replication query answers 0 on
				// a primary (not in recovery) it can reach, and nothing
				// on one it cannot.
				ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, 0, g, name)
			}
		}
	}
}
