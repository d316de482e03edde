// Package experiment records each run of a chaos tool (LitmusChaos, Chaos
// Mesh) as an Experiment, read from the tools' own objects through
// unstructured informers, so that no chaos tool's Go module is a dependency.
//
// serve runs a Watcher on the leader only, over the watch's namespaces,
// and saves what it reports with store.SaveExperiment (one row per
// Experiment.Key, replaced on each change); /api/v1/experiments joins each
// to the faults the tracker observed in its namespace between its Start
// and End. A window naming an experiment by tool and name, and the
// verdict's experiment and disagreement with the tool, are done
// (hypothesis.ExperimentWindow, verdict.Experiment). What comes next of
// issue 17, not done here: a hypothesis window may name an experiment by a
// label selector; and the weekly report shows which experiment a verdict
// belongs to.
package experiment
