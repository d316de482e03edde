-- Times are Unix nanoseconds (UTC): Go times round-trip exactly (timestamptz
-- keeps microseconds), sort as integers, and mean the same in SQLite and
-- PostgreSQL. NULL is the zero time (an open incident's end, a firing
-- alert's end).

CREATE TABLE incidents (
	id               text    NOT NULL PRIMARY KEY,
	kind             text    NOT NULL,
	namespace        text    NOT NULL,
	service          text    NOT NULL,
	subject_group    text    NOT NULL,
	object_kind      text    NOT NULL,
	object_namespace text    NOT NULL,
	object_name      text    NOT NULL,
	start_ns         bigint  NOT NULL,
	end_ns           bigint,
	events           integer NOT NULL,
	evicted          integer NOT NULL,
	baseline         integer NOT NULL,
	missed           boolean NOT NULL
);

CREATE INDEX incidents_start ON incidents (start_ns, id);
CREATE INDEX incidents_service_start ON incidents (service, start_ns, id);
CREATE INDEX incidents_open_start ON incidents (start_ns, id) WHERE end_ns IS NULL;

-- id keeps the order events were recorded in among events of the same time.
CREATE TABLE events (
	id                 bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind               text    NOT NULL,
	namespace          text    NOT NULL,
	service            text    NOT NULL,
	subject_group      text    NOT NULL,
	object_kind        text    NOT NULL,
	object_namespace   text    NOT NULL,
	object_name        text    NOT NULL,
	workload_kind      text    NOT NULL,
	workload_namespace text    NOT NULL,
	workload_name      text    NOT NULL,
	node               text    NOT NULL,
	cluster_ns         bigint,
	observed_ns        bigint,
	-- at_ns is chaos.Timestamp.Best(), the time Events filters and sorts by.
	at_ns              bigint  NOT NULL,
	reason             text    NOT NULL,
	from_replicas      integer NOT NULL,
	to_replicas        integer NOT NULL,
	missed             boolean NOT NULL
);

CREATE INDEX events_at ON events (at_ns, id);
CREATE INDEX events_service_at ON events (service, at_ns, id);

-- An alert is identified by its fingerprint and start; a notification sent
-- again updates the row. received_at_ns is the first receipt; deliveries
-- counts receipts, and is 1 exactly when a save inserted the row.
CREATE TABLE alerts (
	fingerprint    text    NOT NULL,
	starts_at_ns   bigint  NOT NULL,
	status         text    NOT NULL,
	labels         jsonb   NOT NULL,
	annotations    jsonb   NOT NULL,
	ends_at_ns     bigint,
	generator_url  text    NOT NULL,
	receiver       text    NOT NULL,
	group_key      text    NOT NULL,
	received_at_ns bigint  NOT NULL,
	source         text    NOT NULL,
	deliveries     integer NOT NULL DEFAULT 1,
	PRIMARY KEY (fingerprint, starts_at_ns)
);

CREATE INDEX alerts_starts_at ON alerts (starts_at_ns, fingerprint);
-- Label filters are containment (labels @> '{"service":"api"}').
CREATE INDEX alerts_labels ON alerts USING gin (labels jsonb_path_ops);

-- The watcher's inventory: one row, replaced as a whole. json, not jsonb:
-- nothing queries inside it, and a large cluster's inventory is big.
CREATE TABLE inventory (
	id          integer NOT NULL PRIMARY KEY CHECK (id = 1),
	saved_at_ns bigint,
	data        json    NOT NULL
);
