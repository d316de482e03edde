-- Times are Unix nanoseconds (UTC): Go times round-trip exactly, sort as
-- integers, and mean the same in SQLite and PostgreSQL. NULL is the zero
-- time (an open incident's end, a firing alert's end).

CREATE TABLE incidents (
	id               TEXT    NOT NULL PRIMARY KEY,
	kind             TEXT    NOT NULL,
	namespace        TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	subject_group    TEXT    NOT NULL,
	object_kind      TEXT    NOT NULL,
	object_namespace TEXT    NOT NULL,
	object_name      TEXT    NOT NULL,
	start_ns         INTEGER NOT NULL,
	end_ns           INTEGER,
	events           INTEGER NOT NULL,
	evicted          INTEGER NOT NULL,
	baseline         INTEGER NOT NULL,
	missed           INTEGER NOT NULL
) STRICT;

CREATE INDEX incidents_start ON incidents (start_ns, id);
CREATE INDEX incidents_service_start ON incidents (service, start_ns, id);
CREATE INDEX incidents_open_start ON incidents (start_ns, id) WHERE end_ns IS NULL;

-- id keeps the order events were recorded in among events of the same time.
CREATE TABLE events (
	id                 INTEGER NOT NULL PRIMARY KEY,
	kind               TEXT    NOT NULL,
	namespace          TEXT    NOT NULL,
	service            TEXT    NOT NULL,
	subject_group      TEXT    NOT NULL,
	object_kind        TEXT    NOT NULL,
	object_namespace   TEXT    NOT NULL,
	object_name        TEXT    NOT NULL,
	workload_kind      TEXT    NOT NULL,
	workload_namespace TEXT    NOT NULL,
	workload_name      TEXT    NOT NULL,
	node               TEXT    NOT NULL,
	cluster_ns         INTEGER,
	observed_ns        INTEGER,
	-- at_ns is chaos.Timestamp.Best(), the time Events filters and sorts by.
	at_ns              INTEGER NOT NULL,
	reason             TEXT    NOT NULL,
	from_replicas      INTEGER NOT NULL,
	to_replicas        INTEGER NOT NULL,
	missed             INTEGER NOT NULL
) STRICT;

CREATE INDEX events_at ON events (at_ns, id);
CREATE INDEX events_service_at ON events (service, at_ns, id);

-- An alert is identified by its fingerprint and start; a notification sent
-- again updates the row. received_at_ns is the first receipt; deliveries
-- counts receipts, and is 1 exactly when a save inserted the row.
CREATE TABLE alerts (
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
	PRIMARY KEY (fingerprint, starts_at_ns)
) STRICT;

CREATE INDEX alerts_starts_at ON alerts (starts_at_ns, fingerprint);

-- The watcher's inventory: one row, replaced as a whole.
CREATE TABLE inventory (
	id          INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	saved_at_ns INTEGER,
	data        TEXT    NOT NULL -- JSON of incident.Inventory
) STRICT;
