-- The labels of an experiment's object (experiment.Experiment.Labels), so
-- that a hypothesis window can select runs by a label selector: a JSON
-- object of strings, '{}' for none (and for the runs recorded before).
-- The selector is applied after the query: SQL cannot say label selectors
-- alike in both databases, and the rows a window reads are few (one
-- namespace and tool, within its lookback).
ALTER TABLE experiments ADD COLUMN labels text NOT NULL DEFAULT '{}';
