-- The times steadywatch was really watching (chaos.WatchSpan): one row per
-- serve process (session), watched resource and unbroken stretch. A
-- heartbeat moves to_ns on; a broken watch or a shutdown ends the row
-- (ended), and the watch coming back starts a new one. Whatever lies
-- outside every row, steadywatch did not see.
CREATE TABLE watch_coverage (
	session  TEXT    NOT NULL,
	resource TEXT    NOT NULL,
	from_ns  INTEGER NOT NULL,
	to_ns    INTEGER NOT NULL,
	ended    TEXT    NOT NULL,
	error    TEXT    NOT NULL,
	PRIMARY KEY (session, resource, from_ns)
) STRICT;

CREATE INDEX watch_coverage_to ON watch_coverage (to_ns);
