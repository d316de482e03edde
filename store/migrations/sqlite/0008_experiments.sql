-- The runs of chaos tools (experiment.Experiment), as steadywatch read them
-- from the tools' own objects (Litmus ChaosEngine and ChaosResult, Chaos
-- Mesh experiment kinds). One row a run: an object's UID and fault (a
-- ChaosEngine runs several faults); a later reading of it replaces the row
-- (its end, result and detail). end_ns is NULL while it runs.
CREATE TABLE experiments (
	cluster   TEXT    NOT NULL DEFAULT '',
	tool      TEXT    NOT NULL,
	namespace TEXT    NOT NULL,
	name      TEXT    NOT NULL,
	uid       TEXT    NOT NULL,
	fault     TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	target    TEXT    NOT NULL,
	start_ns  INTEGER NOT NULL,
	end_ns    INTEGER,
	result    TEXT    NOT NULL,
	detail    TEXT    NOT NULL,
	PRIMARY KEY (cluster, tool, namespace, name, uid, fault)
) STRICT;

CREATE INDEX experiments_start ON experiments (cluster, start_ns);
