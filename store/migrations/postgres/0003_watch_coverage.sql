-- The times steadywatch was really watching (chaos.WatchSpan): one row per
-- serve process (session), watched resource and unbroken stretch. A
-- heartbeat moves to_ns on; a broken watch or a shutdown ends the row
-- (ended), and the watch coming back starts a new one. Whatever lies
-- outside every row, steadywatch did not see.
CREATE TABLE watch_coverage (
	session  text   NOT NULL,
	resource text   NOT NULL,
	from_ns  bigint NOT NULL,
	to_ns    bigint NOT NULL,
	ended    text   NOT NULL,
	error    text   NOT NULL,
	PRIMARY KEY (session, resource, from_ns)
);

CREATE INDEX watch_coverage_to ON watch_coverage (to_ns);
