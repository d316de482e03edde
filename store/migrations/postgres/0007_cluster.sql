-- Many clusters in one store (issue 15): every row that describes a
-- cluster carries its name (config cluster:), '' being the unnamed cluster
-- of a store that knew none, which the rows stored before belong to. Each
-- table's key leads with cluster, so that two clusters' rows that look
-- alike (the same incident ID, alert fingerprint, hypothesis, webhook and
-- week) are two rows, never one upserted over the other; and the
-- inventory is one row per cluster.

ALTER TABLE incidents ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE incidents DROP CONSTRAINT incidents_pkey, ADD PRIMARY KEY (cluster, id);
DROP INDEX incidents_start, incidents_service_start, incidents_open_start, incidents_undecided_start;
CREATE INDEX incidents_start ON incidents (cluster, start_ns, id);
CREATE INDEX incidents_service_start ON incidents (cluster, service, start_ns, id);
CREATE INDEX incidents_open_start ON incidents (cluster, start_ns, id) WHERE end_ns IS NULL;
CREATE INDEX incidents_undecided_start ON incidents (cluster, start_ns, id)
	WHERE detected_at_ns IS NULL AND NOT undetected;
-- A read of every cluster ("*") orders by time alone.
CREATE INDEX incidents_all_start ON incidents (start_ns, id);

ALTER TABLE events ADD COLUMN cluster text NOT NULL DEFAULT '';
DROP INDEX events_at, events_service_at;
CREATE INDEX events_at ON events (cluster, at_ns, id);
CREATE INDEX events_service_at ON events (cluster, service, at_ns, id);

ALTER TABLE alerts ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE alerts DROP CONSTRAINT alerts_pkey, ADD PRIMARY KEY (cluster, fingerprint, starts_at_ns);
DROP INDEX alerts_starts_at;
CREATE INDEX alerts_starts_at ON alerts (cluster, starts_at_ns, fingerprint);
CREATE INDEX alerts_all_starts_at ON alerts (starts_at_ns, fingerprint);

-- The inventory: one row per cluster, replaced as a whole.
ALTER TABLE inventory ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE inventory DROP CONSTRAINT inventory_pkey, DROP COLUMN id;
ALTER TABLE inventory ADD PRIMARY KEY (cluster);

ALTER TABLE watch_coverage ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE watch_coverage DROP CONSTRAINT watch_coverage_pkey,
	ADD PRIMARY KEY (cluster, session, resource, from_ns);
DROP INDEX watch_coverage_to;
CREATE INDEX watch_coverage_to ON watch_coverage (cluster, to_ns);

ALTER TABLE report_deliveries ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE report_deliveries DROP CONSTRAINT report_deliveries_pkey, ADD PRIMARY KEY (cluster, webhook, week);
DROP INDEX report_deliveries_state;
CREATE INDEX report_deliveries_state ON report_deliveries (cluster, state, next_attempt_ns);

ALTER TABLE verdicts ADD COLUMN cluster text NOT NULL DEFAULT '';
ALTER TABLE verdicts DROP CONSTRAINT verdicts_pkey, ADD PRIMARY KEY (cluster, hypothesis, at_ns);
DROP INDEX verdicts_at;
CREATE INDEX verdicts_at ON verdicts (cluster, at_ns, hypothesis);
CREATE INDEX verdicts_all_at ON verdicts (at_ns, hypothesis);
