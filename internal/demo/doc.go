// Package demo runs steadywatch's main job end to end on this machine: the
// seeds' four chaos experiments (kill the Postgres primary, a host failure,
// CPU autoscaling, resource exhaustion) against the experimental copy of a
// data pipeline, each judged by its example hypothesis (examples/) against
// the control copy, on real parts: the project's Kubernetes testbed
// (kwok nodes in two zones, a real HPA on metrics-server), Debian's
// Prometheus and Alertmanager, and steadywatch serve on its SQLite store.
//
// pipeline.go deploys the two copies; failover.go is the Postgres HA
// operator's stand-in (promotion, fencing, the new clone's base backup with
// the pod not Ready meanwhile); pipelinesim serves the traffic metrics the
// hypotheses query, computed from the cluster's state; faults.go and
// experiments.go inject the four faults into the experimental group only
// (and, in a broken run, a defect each verdict must not pass); rules.go is
// the team's alert rules. The demo runs TimeScale times faster than the
// seeds: adapt.go scales the example hypotheses and lists every change.
package demo
