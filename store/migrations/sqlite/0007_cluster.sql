-- Many clusters in one store (issue 15): every row that describes a
-- cluster carries its name (config cluster:), '' being the unnamed cluster
-- of a store that knew none, which the rows stored before belong to. Each
-- table's key leads with cluster, so that two clusters' rows that look
-- alike (the same incident ID, alert fingerprint, hypothesis, webhook and
-- week) are two rows, never one upserted over the other; and the
-- inventory is one row per cluster. SQLite cannot change a table's key in
-- place: the keyed tables are rebuilt, their rows copied.

CREATE TABLE incidents_v7 (
	cluster              TEXT    NOT NULL DEFAULT '',
	id                   TEXT    NOT NULL,
	kind                 TEXT    NOT NULL,
	namespace            TEXT    NOT NULL,
	service              TEXT    NOT NULL,
	subject_group        TEXT    NOT NULL,
	object_kind          TEXT    NOT NULL,
	object_namespace     TEXT    NOT NULL,
	object_name          TEXT    NOT NULL,
	start_ns             INTEGER NOT NULL,
	end_ns               INTEGER,
	events               INTEGER NOT NULL,
	evicted              INTEGER NOT NULL,
	baseline             INTEGER NOT NULL,
	missed               INTEGER NOT NULL,
	detected_at_ns       INTEGER,
	detected_alert       TEXT    NOT NULL DEFAULT '',
	detected_fingerprint TEXT    NOT NULL DEFAULT '',
	undetected           INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (cluster, id)
) STRICT;
INSERT INTO incidents_v7 (id, kind, namespace, service, subject_group, object_kind, object_namespace,
	object_name, start_ns, end_ns, events, evicted, baseline, missed, detected_at_ns, detected_alert,
	detected_fingerprint, undetected)
SELECT id, kind, namespace, service, subject_group, object_kind, object_namespace,
	object_name, start_ns, end_ns, events, evicted, baseline, missed, detected_at_ns, detected_alert,
	detected_fingerprint, undetected FROM incidents;
DROP TABLE incidents;
ALTER TABLE incidents_v7 RENAME TO incidents;
CREATE INDEX incidents_start ON incidents (cluster, start_ns, id);
CREATE INDEX incidents_service_start ON incidents (cluster, service, start_ns, id);
CREATE INDEX incidents_open_start ON incidents (cluster, start_ns, id) WHERE end_ns IS NULL;
CREATE INDEX incidents_undecided_start ON incidents (cluster, start_ns, id)
	WHERE detected_at_ns IS NULL AND NOT undetected;
-- A read of every cluster ("*") orders by time alone.
CREATE INDEX incidents_all_start ON incidents (start_ns, id);

-- Events have no key; a column and the indexes leading with it.
ALTER TABLE events ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
DROP INDEX events_at;
DROP INDEX events_service_at;
CREATE INDEX events_at ON events (cluster, at_ns, id);
CREATE INDEX events_service_at ON events (cluster, service, at_ns, id);

CREATE TABLE alerts_v7 (
	cluster        TEXT    NOT NULL DEFAULT '',
	fingerprint    TEXT    NOT NULL,
	starts_at_ns   INTEGER NOT NULL,
	status         TEXT    NOT NULL,
	labels         TEXT    NOT NULL, -- JSON object
	annotations    TEXT    NOT NULL, -- JSON object
	ends_at_ns     INTEGER,
	generator_url  TEXT    NOT NULL,
	receiver       TEXT    NOT NULL,
	group_key      TEXT    NOT NULL,
	received_at_ns INTEGER NOT NULL,
	source         TEXT    NOT NULL,
	deliveries     INTEGER NOT NULL DEFAULT 1,
	notifications  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (cluster, fingerprint, starts_at_ns)
) STRICT;
INSERT INTO alerts_v7 (fingerprint, starts_at_ns, status, labels, annotations, ends_at_ns, generator_url,
	receiver, group_key, received_at_ns, source, deliveries, notifications)
SELECT fingerprint, starts_at_ns, status, labels, annotations, ends_at_ns, generator_url,
	receiver, group_key, received_at_ns, source, deliveries, notifications FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v7 RENAME TO alerts;
CREATE INDEX alerts_starts_at ON alerts (cluster, starts_at_ns, fingerprint);
CREATE INDEX alerts_all_starts_at ON alerts (starts_at_ns, fingerprint);

-- The inventory: one row per cluster, replaced as a whole.
CREATE TABLE inventory_v7 (
	cluster     TEXT    NOT NULL PRIMARY KEY,
	saved_at_ns INTEGER,
	data        TEXT    NOT NULL -- JSON of tracker.Inventory
) STRICT;
INSERT INTO inventory_v7 (cluster, saved_at_ns, data) SELECT '', saved_at_ns, data FROM inventory;
DROP TABLE inventory;
ALTER TABLE inventory_v7 RENAME TO inventory;

CREATE TABLE watch_coverage_v7 (
	cluster  TEXT    NOT NULL DEFAULT '',
	session  TEXT    NOT NULL,
	resource TEXT    NOT NULL,
	from_ns  INTEGER NOT NULL,
	to_ns    INTEGER NOT NULL,
	ended    TEXT    NOT NULL,
	error    TEXT    NOT NULL,
	PRIMARY KEY (cluster, session, resource, from_ns)
) STRICT;
INSERT INTO watch_coverage_v7 (session, resource, from_ns, to_ns, ended, error)
SELECT session, resource, from_ns, to_ns, ended, error FROM watch_coverage;
DROP TABLE watch_coverage;
ALTER TABLE watch_coverage_v7 RENAME TO watch_coverage;
CREATE INDEX watch_coverage_to ON watch_coverage (cluster, to_ns);

CREATE TABLE report_deliveries_v7 (
	cluster         TEXT    NOT NULL DEFAULT '',
	webhook         TEXT    NOT NULL,
	week            TEXT    NOT NULL,
	due_ns          INTEGER NOT NULL,
	created_ns      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_ns INTEGER,
	last_error      TEXT    NOT NULL,
	updated_ns      INTEGER NOT NULL,
	PRIMARY KEY (cluster, webhook, week)
) STRICT;
INSERT INTO report_deliveries_v7 (webhook, week, due_ns, created_ns, state, attempts, next_attempt_ns,
	last_error, updated_ns)
SELECT webhook, week, due_ns, created_ns, state, attempts, next_attempt_ns, last_error, updated_ns
FROM report_deliveries;
DROP TABLE report_deliveries;
ALTER TABLE report_deliveries_v7 RENAME TO report_deliveries;
CREATE INDEX report_deliveries_state ON report_deliveries (cluster, state, next_attempt_ns);

CREATE TABLE verdicts_v7 (
	cluster    TEXT    NOT NULL DEFAULT '',
	hypothesis TEXT    NOT NULL,
	at_ns      INTEGER NOT NULL,
	result     TEXT    NOT NULL,
	score      REAL,
	running    INTEGER NOT NULL,
	final      INTEGER NOT NULL,
	reason     TEXT    NOT NULL,
	verdict    TEXT    NOT NULL, -- JSON object
	PRIMARY KEY (cluster, hypothesis, at_ns)
) STRICT;
INSERT INTO verdicts_v7 (hypothesis, at_ns, result, score, running, final, reason, verdict)
SELECT hypothesis, at_ns, result, score, running, final, reason, verdict FROM verdicts;
DROP TABLE verdicts;
ALTER TABLE verdicts_v7 RENAME TO verdicts;
CREATE INDEX verdicts_at ON verdicts (cluster, at_ns, hypothesis);
CREATE INDEX verdicts_all_at ON verdicts (at_ns, hypothesis);
