// Package experiment records each run of a chaos tool (LitmusChaos, Chaos
// Mesh) as an Experiment, read from the tools' own objects through
// unstructured informers, so that no chaos tool's Go module is a dependency.
//
// This is the first slice of issue 17. What comes next, and is not done here:
// serve starts a Watcher (over the watch's namespaces) beside the pod
// watcher, on the leader only, and saves what it reports with
// store.SaveExperiment (the table is there: one row per Experiment.Key,
// replaced on each change); the faults
// the tracker observed between an experiment's Start and End are joined to
// it; a hypothesis window may name an experiment by a label selector; and
// the weekly report shows which experiment a verdict belongs to. A window
// naming an experiment by tool and name, and the verdict's experiment and
// disagreement with the tool, are done (hypothesis.ExperimentWindow,
// verdict.Experiment).
package experiment
