-- The runs of chaos tools (experiment.Experiment), as steadywatch read them
-- from the tools' own objects (Litmus ChaosEngine and ChaosResult, Chaos
-- Mesh experiment kinds). One row a run: an object's UID and fault (a
-- ChaosEngine runs several faults); a later reading of it replaces the row
-- (its end, result and detail). end_ns is NULL while it runs.
CREATE TABLE experiments (
	cluster   text   NOT NULL DEFAULT '',
	tool      text   NOT NULL,
	namespace text   NOT NULL,
	name      text   NOT NULL,
	uid       text   NOT NULL,
	fault     text   NOT NULL,
	kind      text   NOT NULL,
	target    text   NOT NULL,
	start_ns  bigint NOT NULL,
	end_ns    bigint,
	result    text   NOT NULL,
	detail    text   NOT NULL,
	PRIMARY KEY (cluster, tool, namespace, name, uid, fault)
);

CREATE INDEX experiments_start ON experiments (cluster, start_ns);
